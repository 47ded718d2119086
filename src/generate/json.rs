//! The generator's catalogue (customers, products, rates) and the JSON of SPEC §1 written by hand
//! into reused buffers: integers through `itoa`, money as exact decimal strings, no `serde_json`
//! and no allocation per record, because producing is what the benchmark load waits on.

use rand::Rng;

use super::records::Record;
use crate::workload::CATEGORIES;

/// Appends an integer's decimal text.
fn int(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `"name":` (with the comma before every field but the first).
fn field(buf: &mut Vec<u8>, name: &str) {
    if buf.len() > 1 {
        buf.push(b',');
    }
    buf.push(b'"');
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
}

/// Appends a JSON string whose text needs no escaping (the generator's own words and ids).
fn text(buf: &mut Vec<u8>, parts: &[&[u8]]) {
    buf.push(b'"');
    for part in parts {
        buf.extend_from_slice(part);
    }
    buf.push(b'"');
}

/// Appends a fixed-point number as an exact decimal string (`"1.0842"`), trailing zeros cut.
fn decimal(buf: &mut Vec<u8>, units: i64, scale: u32) {
    let divisor = 10i64.pow(scale);
    buf.push(b'"');
    if units < 0 {
        buf.push(b'-');
    }
    int(buf, units.unsigned_abs() / divisor as u64);
    let mut fraction = units.unsigned_abs() % divisor as u64;
    if fraction > 0 {
        let mut digits = scale;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            digits -= 1;
        }
        buf.push(b'.');
        let text = itoa::Buffer::new().format(fraction).len() as u32;
        buf.extend(std::iter::repeat_n(b'0', (digits - text) as usize));
        int(buf, fraction);
    }
    buf.push(b'"');
}

/// Appends an id with its letter prefix, as a JSON string (`"p42"`).
fn id(buf: &mut Vec<u8>, prefix: &[u8], n: impl itoa::Integer) {
    buf.push(b'"');
    buf.extend_from_slice(prefix);
    int(buf, n);
    buf.push(b'"');
}

/// Customers and products by index, with the attributes that change over a run.
pub struct Catalog {
    pub customers: Vec<Customer>,
    pub products: Vec<Product>,
}

pub struct Customer {
    gender: u8,
    age: u8,
    country: u8,
    first: u8,
    last: u8,
}

pub struct Product {
    adjective: u8,
    noun: u8,
    brand: u8,
    category: u8,
    /// List price in cents of the base currency.
    pub price_cents: i64,
}

/// Nouns with the category they start in.
const NOUNS: [(&str, u8); 24] = [
    ("Novel", 0),
    ("Cookbook", 0),
    ("Headphones", 1),
    ("Charger", 1),
    ("Hose", 2),
    ("Planter", 2),
    ("Puzzle", 3),
    ("Robot", 3),
    ("Coffee", 4),
    ("Olive Oil", 4),
    ("Serum", 5),
    ("Lipstick", 5),
    ("Yoga Mat", 6),
    ("Racket", 6),
    ("Vinyl", 7),
    ("Ukulele", 7),
    ("Stapler", 8),
    ("Notebook", 8),
    ("Lamp", 9),
    ("Blanket", 9),
    ("Cat Tree", 10),
    ("Dog Bed", 10),
    ("Wiper", 11),
    ("Floor Mat", 11),
];
const ADJECTIVES: [&str; 10] = [
    "Classic", "Compact", "Deluxe", "Eco", "Mini", "Pro", "Smart", "Vintage", "Walnut", "Wireless",
];
const BRANDS: [&str; 8] = [
    "Acme", "Borealis", "Cobalt", "Dunmore", "Everline", "Fjord", "Granite", "Halcyon",
];
const FIRST_NAMES: [&str; 12] = [
    "Ada", "Bo", "Chen", "Dana", "Emil", "Fatima", "Grace", "Hugo", "Ines", "Jonas", "Kiri", "Lena",
];
const LAST_NAMES: [&str; 10] = [
    "Andersen", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
];
/// Spelled several ways, as real sign-up forms deliver them (SPEC §3 normalises them).
const GENDERS: [&str; 5] = ["F", "M", "female", "male", "x"];
const COUNTRIES: [&str; 10] = ["US", "DE", "FR", "GB", "JP", "CA", "BR", "IN", "ES", "IT"];
const STATUSES: [&str; 6] = [
    "placed",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
];

impl Customer {
    fn random(rng: &mut impl Rng) -> Self {
        Customer {
            gender: rng.gen_range(0..GENDERS.len() as u8),
            age: rng.gen_range(16..80),
            country: rng.gen_range(0..COUNTRIES.len() as u8),
            first: rng.gen_range(0..FIRST_NAMES.len() as u8),
            last: rng.gen_range(0..LAST_NAMES.len() as u8),
        }
    }

    /// A customer moves country and has a birthday.
    pub fn change(&mut self, rng: &mut impl Rng) {
        self.country = rng.gen_range(0..COUNTRIES.len() as u8);
        self.age = (self.age + 1).min(99);
    }
}

impl Product {
    fn random(rng: &mut impl Rng) -> Self {
        let noun = rng.gen_range(0..NOUNS.len() as u8);
        // Most products cost 2 to 200; one in twenty is a big-ticket item up to 2,000.
        let dollars = if rng.gen_ratio(1, 20) {
            rng.gen_range(200..2_000)
        } else {
            rng.gen_range(1..200)
        };
        Product {
            adjective: rng.gen_range(0..ADJECTIVES.len() as u8),
            noun,
            brand: rng.gen_range(0..BRANDS.len() as u8),
            category: NOUNS[noun as usize].1,
            price_cents: dollars * 100 + 99,
        }
    }

    /// A product is re-categorised: its sales move to the new category.
    pub fn change(&mut self, rng: &mut impl Rng) {
        self.category = rng.gen_range(0..CATEGORIES.len() as u8);
    }
}

impl Catalog {
    /// Currencies other than the base (USD), with rates near their real ones, in 1e-10.
    pub const RATES: [(&'static str, i64); 4] = [
        ("EUR", 10_842_000_000),
        ("GBP", 12_650_000_000),
        ("JPY", 66_000_000),
        ("CAD", 7_300_000_000),
    ];
    pub const PAYMENT_METHODS: [&'static str; 4] = ["card", "paypal", "bank_transfer", "gift_card"];

    pub fn new(customers: usize, products: usize, rng: &mut impl Rng) -> Self {
        Catalog {
            customers: (0..customers).map(|_| Customer::random(rng)).collect(),
            products: (0..products).map(|_| Product::random(rng)).collect(),
        }
    }

    /// A customer beyond the loaded ones; returns its index.
    pub fn add_customer(&mut self, rng: &mut impl Rng) -> usize {
        self.customers.push(Customer::random(rng));
        self.customers.len() - 1
    }

    /// A product beyond the loaded ones; returns its index.
    pub fn add_product(&mut self, rng: &mut impl Rng) -> usize {
        self.products.push(Product::random(rng));
        self.products.len() - 1
    }

    /// A base-currency price in `currency` (0 is the base, 1.. index [`Self::RATES`]), so a
    /// foreign order is worth about what a domestic one is.
    pub fn native_cents(base_cents: i64, currency: u8) -> i64 {
        match currency.checked_sub(1) {
            None => base_cents,
            Some(i) => {
                (i128::from(base_cents) * 10_000_000_000 / i128::from(Self::RATES[i as usize].1))
                    as i64
            }
        }
    }

    fn currency(currency: u8) -> &'static str {
        currency
            .checked_sub(1)
            .map_or("USD", |i| Self::RATES[i as usize].0)
    }

    pub fn write_customer(&self, i: usize, out: &mut Record) {
        let c = &self.customers[i];
        int(&mut out.key, i);
        let (first, last) = (FIRST_NAMES[c.first as usize], LAST_NAMES[c.last as usize]);
        let v = &mut out.value;
        v.push(b'{');
        field(v, "customer_id");
        text(v, &[itoa::Buffer::new().format(i).as_bytes()]);
        field(v, "name");
        text(v, &[first.as_bytes(), b" ", last.as_bytes()]);
        field(v, "email");
        text(
            v,
            &[
                first.to_ascii_lowercase().as_bytes(),
                b".",
                last.to_ascii_lowercase().as_bytes(),
                itoa::Buffer::new().format(i).as_bytes(),
                b"@example.com",
            ],
        );
        field(v, "gender");
        text(v, &[GENDERS[c.gender as usize].as_bytes()]);
        field(v, "age");
        int(v, c.age);
        field(v, "country");
        text(v, &[COUNTRIES[c.country as usize].as_bytes()]);
        v.push(b'}');
    }

    pub fn write_product(&self, i: usize, out: &mut Record) {
        let p = &self.products[i];
        out.key.push(b'p');
        int(&mut out.key, i);
        let v = &mut out.value;
        v.push(b'{');
        field(v, "product_id");
        id(v, b"p", i);
        field(v, "name");
        text(
            v,
            &[
                ADJECTIVES[p.adjective as usize].as_bytes(),
                b" ",
                NOUNS[p.noun as usize].0.as_bytes(),
            ],
        );
        field(v, "brand");
        text(v, &[BRANDS[p.brand as usize].as_bytes()]);
        field(v, "category");
        text(v, &[CATEGORIES[p.category as usize].as_bytes()]);
        field(v, "price");
        decimal(v, p.price_cents, 2);
        v.push(b'}');
    }
}

/// `{"currency":"EUR","rate":"1.0842"}`, the rate in 1e-10.
pub fn rate(code: &str, rate: i64, out: &mut Record) {
    out.key.extend_from_slice(code.as_bytes());
    let v = &mut out.value;
    v.push(b'{');
    field(v, "currency");
    text(v, &[code.as_bytes()]);
    field(v, "rate");
    decimal(v, rate, 10);
    v.push(b'}');
}

/// A stock count of one product.
pub struct StockRow {
    pub product: usize,
    pub on_hand: i64,
    pub as_of: i64,
    pub reorder_point: i64,
}

impl StockRow {
    pub fn write(&self, out: &mut Record) {
        out.key.push(b'p');
        int(&mut out.key, self.product);
        let v = &mut out.value;
        v.push(b'{');
        field(v, "product_id");
        id(v, b"p", self.product);
        field(v, "on_hand");
        int(v, self.on_hand);
        field(v, "as_of");
        int(v, self.as_of);
        field(v, "reorder_point");
        int(v, self.reorder_point);
        v.push(b'}');
    }
}

/// An order as the generator remembers it, to correct, cancel or delete it later.
#[derive(Clone, Debug)]
pub struct LiveOrder {
    pub id: u64,
    pub ts: i64,
    pub customer: u32,
    pub product: u32,
    pub quantity: u32,
    /// Unit price in cents of `currency`.
    pub price_cents: i64,
    /// 0 is the base currency, 1.. index [`Catalog::RATES`].
    pub currency: u8,
    /// Index into the statuses: placed, paid, shipped, delivered, cancelled, returned.
    pub status: u8,
    pub payment: u8,
    /// IPv4 address as a number.
    pub ip: u32,
}

impl LiveOrder {
    pub const DELIVERED: u8 = 3;
    pub const CANCELLED: u8 = 4;
    pub const RETURNED: u8 = 5;

    /// The customer's own address, 10.x.y.z.
    pub fn customer_ip(customer: usize) -> u32 {
        10 << 24 | (customer as u32 & 0xff_ffff)
    }

    /// One of the shared addresses of TEST-NET-2 (a proxy, a bot), 198.51.100.n.
    pub fn busy_ip(n: u8) -> u32 {
        198 << 24 | 51 << 16 | 100 << 8 | u32::from(n)
    }

    pub fn write_key(&self, key: &mut Vec<u8>) {
        key.push(b'o');
        int(key, self.id);
    }

    pub fn write(&self, catalog: &Catalog, out: &mut Record) {
        debug_assert!((self.product as usize) < catalog.products.len());
        self.write_key(&mut out.key);
        let v = &mut out.value;
        v.push(b'{');
        field(v, "order_id");
        id(v, b"o", self.id);
        field(v, "ts");
        int(v, self.ts);
        field(v, "customer_id");
        id(v, b"", self.customer);
        field(v, "product_id");
        id(v, b"p", self.product);
        field(v, "quantity");
        int(v, self.quantity);
        field(v, "price");
        decimal(v, self.price_cents, 2);
        field(v, "currency");
        text(v, &[Catalog::currency(self.currency).as_bytes()]);
        field(v, "status");
        text(v, &[STATUSES[self.status as usize].as_bytes()]);
        field(v, "payment_method");
        text(
            v,
            &[Catalog::PAYMENT_METHODS[self.payment as usize].as_bytes()],
        );
        field(v, "ip");
        v.push(b'"');
        for (i, octet) in self.ip.to_be_bytes().iter().enumerate() {
            if i > 0 {
                v.push(b'.');
            }
            int(v, *octet);
        }
        v.push(b'"');
        v.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_text_without_trailing_zeros() {
        let mut buf = Vec::new();
        for (units, scale, expected) in [
            (1_999, 2, "\"19.99\""),
            (1_900, 2, "\"19\""),
            (1_905, 2, "\"19.05\""),
            (10_842_000_000, 10, "\"1.0842\""),
            (66_000_000, 10, "\"0.0066\""),
            (-150, 2, "\"-1.5\""),
        ] {
            buf.clear();
            decimal(&mut buf, units, scale);
            assert_eq!(String::from_utf8_lossy(&buf), expected);
        }
    }
}
