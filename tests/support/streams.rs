//! Random input streams: Kafka records (key and value bytes) of the five input topics, each paired
//! with what it means, so a test can feed the bytes to the job and the meaning to the oracle.
//!
//! Keys come from small pools so updates and deletes collide. Good records vary the way real
//! producers do (camelCase names, integer ids, numeric strings, ts with offsets or as epoch ms,
//! missing keys, defaults left out or given outright); some repeat an earlier value, in other
//! words, so duplicates happen. About one record in seven is bad input of a SPEC §2 kind, and
//! knows the error kind the decoder must name. Every choice shrinks towards the plainest form, so
//! a shrunk failure reads easily.

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use rust_decimal::Decimal;

use super::oracle::{BASE_CURRENCY, Customer, Order, Product, State, Stock, Update};

/// The most records a stream holds.
pub const MAX_RECORDS: usize = 300;
/// The most records one step (one logical time) holds.
pub const MAX_STEP: usize = 10;
/// The `--max-record-bytes` to run the job with on these streams. Small, so a too-large record
/// is cheap to make and still fits a Kafka message (1 MB by default); every other record generated
/// is a few hundred bytes at most.
pub const MAX_RECORD_BYTES: usize = 4096;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// 2026-11-30T21:00:00Z: orders arrive over the next six hours, across a day and a month boundary.
const START_MS: i64 = 1_796_072_400_000;

/// 30 order ids, integer-looking and not.
const ORDER_IDS: usize = 30;
/// The customers that have records; orders also name two that never do.
const CUSTOMER_IDS: &[&str] = &["1", "c-1", "2", "c-2", "3", "c-3"];
const ORDER_CUSTOMER_IDS: &[&str] = &["1", "c-1", "2", "c-2", "3", "c-3", "4", "c-9"];
/// The products that have records; orders name 13 products, so the top 10 has to cut some.
const PRODUCT_IDS: &[&str] = &["1", "p-1", "2", "10", "p-10", "007"];
const ORDER_PRODUCT_IDS: &[&str] = &[
    "1", "p-1", "2", "10", "p-10", "007", "3", "9", "42", "p-2", "p-9", "P-3", "11",
];
/// The products that get stock counts: some with product records, some sold without one.
const STOCK_PRODUCT_IDS: &[&str] = &["1", "p-1", "2", "10", "3", "p-9"];
const RATED_CURRENCIES: &[&str] = &["EUR", "GBP", "JPY"];
/// How far back an echo reaches, in good values sent.
const ECHO_REACH: usize = 8;
/// The ips orders come from: few, so bursts happen.
const IPS: &[&str] = &["10.0.0.1", "10.0.0.2", "192.0.2.7"];

/// The input topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    Orders,
    Customers,
    Products,
    FxRates,
    Inventory,
}

impl Topic {
    /// The default topic name, as `data_quality` names it.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Orders => "orders",
            Topic::Customers => "customers",
            Topic::Products => "products",
            Topic::FxRates => "fx_rates",
            Topic::Inventory => "inventory",
        }
    }
}

/// One Kafka record and what it means.
#[derive(Clone)]
pub struct Record {
    pub topic: Topic,
    pub key: Option<Vec<u8>>,
    /// `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    pub meaning: Meaning,
}

#[derive(Clone, Debug)]
pub enum Meaning {
    /// The job must apply it.
    Good(Update),
    /// The job must dead-letter it and change nothing.
    Bad(Flaw),
}

/// The SPEC §2 kinds of bad input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    NotJson,
    /// A required field is missing; `"id"`: the id, and the record has no key either.
    Missing(&'static str),
    /// A field is there but cannot be read as what it should be.
    NotCoercible(&'static str),
    ZeroQuantity,
    /// A field that must not be negative is (price, on_hand).
    Negative(&'static str),
    /// A time field (ts, as_of) that is no instant.
    UnparseableTime(&'static str),
    KeyIdMismatch,
    InvalidUtf8,
    /// A tombstone without a key: nothing says what to delete.
    KeylessTombstone,
    /// A value over the size limit.
    TooLarge,
}

impl Flaw {
    /// The error kind the decoder reports for it, as `data_quality` counts it.
    pub fn kind(self) -> &'static str {
        match self {
            Flaw::NotJson => "not_json",
            Flaw::Missing(_) => "missing_field",
            Flaw::NotCoercible(_)
            | Flaw::ZeroQuantity
            | Flaw::Negative(_)
            | Flaw::UnparseableTime(_) => "bad_field",
            Flaw::KeyIdMismatch => "key_mismatch",
            Flaw::InvalidUtf8 => "invalid_utf8",
            Flaw::KeylessTombstone => "missing_key",
            Flaw::TooLarge => "too_large",
        }
    }
}

impl Record {
    /// What the record changes, if it is good.
    pub fn update(&self) -> Option<&Update> {
        match &self.meaning {
            Meaning::Good(update) => Some(update),
            Meaning::Bad(_) => None,
        }
    }

    /// What is wrong with the record, if it is bad.
    pub fn flaw(&self) -> Option<Flaw> {
        match &self.meaning {
            Meaning::Good(_) => None,
            Meaning::Bad(flaw) => Some(*flaw),
        }
    }

    /// Tells the oracle about the record: applied if good, dead-lettered if bad.
    pub fn feed(&self, state: &mut State) {
        match &self.meaning {
            Meaning::Good(update) => state.apply(update),
            Meaning::Bad(flaw) => state.dead_letter(self.topic.name(), flaw.kind()),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Too-large values would bury the rest of a failure report.
        const SHOWN: usize = 300;
        let text = |bytes: &Option<Vec<u8>>| match bytes {
            Some(bytes) if bytes.len() > SHOWN => format!(
                "{:?}… ({} bytes)",
                String::from_utf8_lossy(&bytes[..SHOWN]),
                bytes.len()
            ),
            Some(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            None => "null".to_owned(),
        };
        let meaning = match &self.meaning {
            Meaning::Good(_) => "good".to_owned(),
            Meaning::Bad(flaw) => format!("bad: {flaw:?}, {}", flaw.kind()),
        };
        write!(
            f,
            "{} key={} value={} ({meaning})",
            self.topic.name(),
            text(&self.key),
            text(&self.value)
        )
    }
}

/// Up to `MAX_RECORDS` records in steps of 1 to `MAX_STEP`.
pub fn stream() -> impl Strategy<Value = Vec<Vec<Record>>> {
    let steps = MAX_RECORDS * 2 / (MAX_STEP + 1);
    vec(vec(item(), 1..=MAX_STEP), 1..=steps).prop_map(|steps| {
        let mut room = MAX_RECORDS;
        // Every good value sent so far, for echoes to repeat.
        let mut said: Vec<Update> = Vec::new();
        let mut stream = Vec::with_capacity(steps.len());
        for step in steps {
            let records: Vec<Record> = step
                .into_iter()
                .take(room)
                .filter_map(|item| item.record(&mut said))
                .collect();
            room -= records.len();
            if !records.is_empty() {
                stream.push(records);
            }
        }
        stream
    })
}

/// A record of any topic, orders most often.
pub fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        55 => order_record(),
        12 => customer_record(),
        12 => product_record(),
        11 => rate_record(),
        10 => stock_record(),
    ]
}

/// One place in a stream: a new record, or an earlier good value sent again.
#[derive(Clone, Debug)]
enum Item {
    Fresh(Box<Record>),
    /// The `which`-th latest good value sent so far, written in `style`, its defaults `respelled`.
    Echo {
        which: Index,
        style: Style,
        respelled: bool,
    },
}

fn item() -> impl Strategy<Value = Item> {
    let echo = (any::<Index>(), style(), prop::bool::weighted(0.5)).prop_map(
        |(which, style, respelled)| Item::Echo {
            which,
            style,
            respelled,
        },
    );
    prop_oneof![12 => record().prop_map(|record| Item::Fresh(Box::new(record))), 1 => echo]
}

impl Item {
    /// The record this item stands for, given the good values `said` before it; `None` for an
    /// echo with nothing to repeat.
    fn record(self, said: &mut Vec<Update>) -> Option<Record> {
        let record = match self {
            Item::Fresh(record) => *record,
            Item::Echo {
                which,
                style,
                respelled,
            } => {
                // One of the last few values: most of them are still their key's value.
                let back = which.index(said.len().clamp(1, ECHO_REACH));
                let update = said.get(said.len().checked_sub(1 + back)?)?;
                let update = if respelled {
                    respell(update)
                } else {
                    update.clone()
                };
                good_record(&update, &style)
            }
        };
        if let Some(update) = record.update().filter(|update| !update.is_tombstone()) {
            said.push(update.clone());
        }
        Some(record)
    }
}

/// The same value in other words: a default given outright or left out, a known status in
/// another case, empty text for missing text. The job must read it as the same value.
fn respell(update: &Update) -> Update {
    fn flip(text: &Option<String>) -> Option<String> {
        match text.as_deref() {
            None => Some(String::new()),
            Some("") => None,
            Some(text) => Some(text.to_owned()),
        }
    }
    fn flip_default(text: &Option<String>, default: &str) -> Option<String> {
        match text.as_deref() {
            None => Some(default.to_owned()),
            Some(text) if text == default => None,
            Some(text) => Some(text.to_owned()),
        }
    }
    fn other_case(status: &Option<String>) -> Option<String> {
        let status = flip_default(status, "placed")?;
        let known = [
            "placed",
            "paid",
            "shipped",
            "delivered",
            "cancelled",
            "returned",
        ];
        if !known.contains(&status.to_ascii_lowercase().as_str()) {
            return Some(status);
        }
        if status == status.to_ascii_lowercase() {
            Some(status.to_ascii_uppercase())
        } else {
            Some(status.to_ascii_lowercase())
        }
    }
    match update {
        Update::Order(id, Some(order)) => Update::Order(
            id.clone(),
            Some(Order {
                currency: flip_default(&order.currency, BASE_CURRENCY),
                status: other_case(&order.status),
                payment_method: flip(&order.payment_method),
                ip: flip(&order.ip),
                ..order.clone()
            }),
        ),
        Update::Customer(id, Some(customer)) => Update::Customer(
            id.clone(),
            Some(Customer {
                gender: flip(&customer.gender),
                country: flip(&customer.country),
                name: flip(&customer.name),
                email: flip(&customer.email),
                ..customer.clone()
            }),
        ),
        // Name and category are shown in rows, where an empty one would be shown as given.
        Update::Product(id, Some(product)) => Update::Product(
            id.clone(),
            Some(Product {
                brand: flip(&product.brand),
                ..product.clone()
            }),
        ),
        Update::Stock(id, Some(stock)) => Update::Stock(
            id.clone(),
            Some(Stock {
                reorder_point: match stock.reorder_point {
                    None => Some(0),
                    Some(0) => None,
                    given => given,
                },
                ..stock.clone()
            }),
        ),
        other => other.clone(),
    }
}

/// What becomes of a generated record.
#[derive(Clone, Debug)]
enum Fate {
    Upsert,
    Tombstone,
    Bad(Flaw),
}

fn fate(tombstones: u32, flaws: &'static [Flaw]) -> impl Strategy<Value = Fate> {
    prop_oneof![
        85 - tombstones => Just(Fate::Upsert),
        tombstones => Just(Fate::Tombstone),
        15 => select(flaws).prop_map(Fate::Bad),
    ]
}

// ---------------------------------------------------------------------------------------------
// Orders

const ORDER_FLAWS: &[Flaw] = &[
    Flaw::NotJson,
    Flaw::Missing("id"),
    Flaw::Missing("ts"),
    Flaw::Missing("customer_id"),
    Flaw::Missing("product_id"),
    Flaw::Missing("quantity"),
    Flaw::Missing("price"),
    Flaw::NotCoercible("quantity"),
    Flaw::NotCoercible("price"),
    Flaw::NotCoercible("ip"),
    Flaw::ZeroQuantity,
    Flaw::Negative("price"),
    Flaw::UnparseableTime("ts"),
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
    Flaw::KeylessTombstone,
    Flaw::TooLarge,
];

fn order_record() -> impl Strategy<Value = Record> {
    (order_id(), order(), style(), fate(8, ORDER_FLAWS)).prop_map(|(id, order, style, fate)| {
        let fields = order_fields(&id, &order, &style);
        let update = Update::Order(id.clone(), Some(order));
        build(Topic::Orders, &id, fields, &style, fate, update)
    })
}

fn order_id() -> impl Strategy<Value = String> {
    (1..=ORDER_IDS).prop_map(|n| match n {
        1..=20 => n.to_string(),
        _ => format!("o-{}", n - 20),
    })
}

fn order() -> impl Strategy<Value = Order> {
    // CHF never gets a rate: its orders stay unpriced.
    let currency = prop_oneof![
        1 => Just(None),
        3 => select(&["USD", "EUR", "GBP", "JPY", "CHF"][..]).prop_map(|c| Some(c.to_owned())),
    ];
    let status = select(
        &[
            None,
            None,
            None,
            Some("placed"),
            Some("paid"),
            Some("shipped"),
            Some("delivered"),
            Some("cancelled"),
            Some("returned"),
            Some("on_hold"),
            Some("Shipped"),
            Some("CANCELLED"),
            Some("Returned"),
        ][..],
    );
    let payment_method = select(
        &[
            None,
            Some("card"),
            Some("card"),
            Some("paypal"),
            Some("bank_transfer"),
            Some(""),
        ][..],
    );
    let ip = prop_oneof![
        1 => Just(None),
        4 => select(IPS).prop_map(Some),
        1 => Just(Some("")),
    ];
    // Uniform prices up to 200.00, and sometimes one that times a small quantity lands on or
    // next to the test's high-value limit of 400.00.
    let minor_units = prop_oneof![
        9 => 1..=20_000i64,
        1 => Just(0),
        1 => select(&[10_000, 13_333, 13_334, 20_000][..]),
    ];
    (
        order_ts(),
        select(ORDER_CUSTOMER_IDS),
        select(ORDER_PRODUCT_IDS),
        1..=4u32,
        minor_units,
        currency,
        status,
        payment_method,
        ip,
    )
        .prop_map(
            |(
                ts_ms,
                customer_id,
                product_id,
                quantity,
                minor_units,
                currency,
                status,
                payment_method,
                ip,
            )| {
                // Yen have no minor unit: the same digits are whole yen, so a yen order can be
                // worth as much as the others.
                let scale = if currency.as_deref() == Some("JPY") {
                    0
                } else {
                    2
                };
                Order {
                    ts_ms,
                    customer_id: customer_id.to_owned(),
                    product_id: product_id.to_owned(),
                    quantity,
                    price: Decimal::new(minor_units, scale),
                    currency,
                    status: status.map(str::to_owned),
                    payment_method: payment_method.map(str::to_owned),
                    ip: ip.map(str::to_owned),
                }
            },
        )
}

/// Mostly on a five-minute grid over six hours (so hour and window boundaries are hit exactly),
/// sometimes off it by a millisecond or more, and one in ten hours to days late.
fn order_ts() -> impl Strategy<Value = i64> {
    let jitter = prop_oneof![
        6 => Just(0),
        1 => Just(1),
        1 => Just(-1),
        2 => 0..5 * MINUTE_MS,
    ];
    let on_time =
        (0..72i64, jitter).prop_map(|(slot, jitter)| START_MS + slot * 5 * MINUTE_MS + jitter);
    let late = (1..=72i64, 0..60i64)
        .prop_map(|(hours, minute)| START_MS - hours * HOUR_MS + minute * MINUTE_MS);
    prop_oneof![9 => on_time, 1 => late]
}

fn order_fields(id: &str, order: &Order, style: &Style) -> Vec<Field> {
    let mut fields = vec![
        Field::new("order_id", style, id_json(id, style)),
        Field::new("ts", style, ts_json(order.ts_ms, style)),
        Field::new("customer_id", style, id_json(&order.customer_id, style)),
        Field::new("product_id", style, id_json(&order.product_id, style)),
        Field::new("quantity", style, number_json(order.quantity, style)),
        Field::new("price", style, decimal_json(order.price, style)),
    ];
    let optional = [
        ("currency", &order.currency),
        ("status", &order.status),
        ("payment_method", &order.payment_method),
        ("ip", &order.ip),
    ];
    for (role, value) in optional {
        if let Some(value) = value {
            fields.push(Field::new(role, style, string_json(value)));
        }
    }
    if style.extras {
        fields.push(Field::new("coupon", style, string_json("BLACKFRIDAY")));
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Customers, products, rates, stock

const DIMENSION_FLAWS: &[Flaw] = &[
    Flaw::NotJson,
    Flaw::Missing("id"),
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
    Flaw::KeylessTombstone,
    Flaw::TooLarge,
];

fn customer_record() -> impl Strategy<Value = Record> {
    let gender = select(
        &[
            None,
            Some("f"),
            Some("Female"),
            Some("M"),
            Some("male"),
            Some("x"),
            Some(""),
        ][..],
    );
    let age = select(
        &[
            None,
            Some(17),
            Some(18),
            Some(24),
            Some(25),
            Some(64),
            Some(65),
            Some(120),
            Some(121),
            Some(-1),
        ][..],
    );
    let country = select(
        &[
            None,
            Some("US"),
            Some("DE"),
            Some("GB"),
            Some("JP"),
            Some(""),
        ][..],
    );
    let name = select(&[None, Some("Ada Lovelace"), Some("Grace Hopper"), Some("")][..]);
    let email = select(&[None, Some("ada@example.com"), Some("")][..]);
    let customer =
        (gender, age, country, name, email).prop_map(|(gender, age, country, name, email)| {
            Customer {
                gender: gender.map(str::to_owned),
                age,
                country: country.map(str::to_owned),
                name: name.map(str::to_owned),
                email: email.map(str::to_owned),
            }
        });
    let id = select(CUSTOMER_IDS).prop_map(str::to_owned);
    (id, customer, style(), fate(8, DIMENSION_FLAWS)).prop_map(|(id, customer, style, fate)| {
        let fields = customer_fields(&id, &customer, &style);
        let update = Update::Customer(id.clone(), Some(customer));
        build(Topic::Customers, &id, fields, &style, fate, update)
    })
}

fn customer_fields(id: &str, customer: &Customer, style: &Style) -> Vec<Field> {
    let mut fields = vec![Field::new("customer_id", style, id_json(id, style))];
    if let Some(gender) = &customer.gender {
        fields.push(Field::new("gender", style, string_json(gender)));
    }
    if let Some(age) = customer.age {
        fields.push(Field::new("age", style, number_json(age, style)));
    }
    let optional = [
        ("country", &customer.country),
        ("name", &customer.name),
        ("email", &customer.email),
    ];
    for (role, value) in optional {
        if let Some(value) = value {
            fields.push(Field::new(role, style, string_json(value)));
        }
    }
    if style.extras {
        fields.push(Field::new("loyalty_tier", style, string_json("gold")));
    }
    fields
}

fn product_record() -> impl Strategy<Value = Record> {
    let name = select(
        &[
            None,
            Some("Mug"),
            Some("Desk lamp"),
            Some("Crème brûlée set"),
        ][..],
    );
    let category = select(
        &[
            None,
            Some("kitchen"),
            Some("home"),
            Some("books"),
            Some("toys"),
        ][..],
    );
    let brand = select(&[None, Some("Acme"), Some("")][..]);
    let list_price = select(&[None, Some(1250), Some(999)][..]);
    let product =
        (name, category, brand, list_price).prop_map(|(name, category, brand, list_price)| {
            Product {
                name: name.map(str::to_owned),
                category: category.map(str::to_owned),
                brand: brand.map(str::to_owned),
                price: list_price.map(|cents| Decimal::new(cents, 2)),
            }
        });
    let id = select(PRODUCT_IDS).prop_map(str::to_owned);
    (id, product, style(), fate(8, DIMENSION_FLAWS)).prop_map(|(id, product, style, fate)| {
        let fields = product_fields(&id, &product, &style);
        let update = Update::Product(id.clone(), Some(product));
        build(Topic::Products, &id, fields, &style, fate, update)
    })
}

fn product_fields(id: &str, product: &Product, style: &Style) -> Vec<Field> {
    let mut fields = vec![Field::new("product_id", style, id_json(id, style))];
    let optional = [
        ("name", &product.name),
        ("category", &product.category),
        ("brand", &product.brand),
    ];
    for (role, value) in optional {
        if let Some(value) = value {
            fields.push(Field::new(role, style, string_json(value)));
        }
    }
    if let Some(price) = product.price {
        fields.push(Field::new("price", style, decimal_json(price, style)));
    }
    if style.extras {
        fields.push(Field::new("tags", style, b"[\"gift\",\"new\"]".to_vec()));
    }
    fields
}

const RATE_FLAWS: &[Flaw] = &[
    Flaw::NotJson,
    Flaw::Missing("id"),
    Flaw::Missing("rate"),
    Flaw::NotCoercible("rate"),
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
    Flaw::KeylessTombstone,
    Flaw::TooLarge,
];

/// Rates with up to four decimals near the real ones, so they change often.
fn rate_record() -> impl Strategy<Value = Record> {
    let rate = (0..RATED_CURRENCIES.len()).prop_flat_map(|i| {
        let ten_thousandths = match RATED_CURRENCIES[i] {
            "EUR" => 10_500..=11_200i64,
            "GBP" => 12_000..=13_000,
            _ => 60..=70,
        };
        (Just(RATED_CURRENCIES[i]), ten_thousandths)
    });
    (rate, style(), fate(5, RATE_FLAWS)).prop_map(|((currency, ten_thousandths), style, fate)| {
        let rate = Decimal::new(ten_thousandths, 4);
        let fields = rate_fields(currency, rate, &style);
        let update = Update::Rate(currency.to_owned(), Some(rate));
        build(Topic::FxRates, currency, fields, &style, fate, update)
    })
}

fn rate_fields(currency: &str, rate: Decimal, style: &Style) -> Vec<Field> {
    let mut fields = vec![
        Field::new("currency", style, string_json(currency)),
        Field::new("rate", style, decimal_json(rate, style)),
    ];
    if style.extras {
        fields.push(Field::new("source", style, string_json("ECB")));
    }
    fields
}

const STOCK_FLAWS: &[Flaw] = &[
    Flaw::NotJson,
    Flaw::Missing("id"),
    Flaw::Missing("on_hand"),
    Flaw::Missing("as_of"),
    Flaw::NotCoercible("on_hand"),
    Flaw::NotCoercible("reorder_point"),
    Flaw::Negative("on_hand"),
    Flaw::UnparseableTime("as_of"),
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
    Flaw::KeylessTombstone,
    Flaw::TooLarge,
];

/// Stock counts of up to 20 units, counted at times like the orders' (so some orders are before
/// the count and some after, and some exactly at it).
fn stock_record() -> impl Strategy<Value = Record> {
    let reorder_point = select(&[None, Some(0), Some(2), Some(5)][..]);
    let stock =
        (0..=20i64, order_ts(), reorder_point).prop_map(|(on_hand, as_of_ms, reorder_point)| {
            Stock {
                on_hand,
                as_of_ms,
                reorder_point,
            }
        });
    let id = select(STOCK_PRODUCT_IDS).prop_map(str::to_owned);
    (id, stock, style(), fate(8, STOCK_FLAWS)).prop_map(|(id, stock, style, fate)| {
        let fields = stock_fields(&id, &stock, &style);
        let update = Update::Stock(id.clone(), Some(stock));
        build(Topic::Inventory, &id, fields, &style, fate, update)
    })
}

fn stock_fields(id: &str, stock: &Stock, style: &Style) -> Vec<Field> {
    let mut fields = vec![
        Field::new("product_id", style, id_json(id, style)),
        Field::new("on_hand", style, number_json(stock.on_hand, style)),
        Field::new("as_of", style, ts_json(stock.as_of_ms, style)),
    ];
    if let Some(reorder_point) = stock.reorder_point {
        fields.push(Field::new(
            "reorder_point",
            style,
            number_json(reorder_point, style),
        ));
    }
    if style.extras {
        fields.push(Field::new("warehouse", style, string_json("north")));
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The plainest good record saying `update`: keyed, snake_case names, string ids, JSON numbers,
/// ts in RFC 3339 UTC. For hand-written scenarios.
pub fn plain_record(update: &Update) -> Record {
    good_record(update, &Style::PLAIN)
}

/// A good record saying `update`, written in `style`.
fn good_record(update: &Update, style: &Style) -> Record {
    let (topic, id, fields) = match update {
        Update::Order(id, order) => (
            Topic::Orders,
            id,
            order.as_ref().map(|order| order_fields(id, order, style)),
        ),
        Update::Customer(id, customer) => (
            Topic::Customers,
            id,
            customer
                .as_ref()
                .map(|customer| customer_fields(id, customer, style)),
        ),
        Update::Product(id, product) => (
            Topic::Products,
            id,
            product
                .as_ref()
                .map(|product| product_fields(id, product, style)),
        ),
        Update::Rate(currency, rate) => (
            Topic::FxRates,
            currency,
            rate.map(|rate| rate_fields(currency, rate, style)),
        ),
        Update::Stock(id, stock) => (
            Topic::Inventory,
            id,
            stock.as_ref().map(|stock| stock_fields(id, stock, style)),
        ),
    };
    match fields {
        Some(fields) => build(topic, id, fields, style, Fate::Upsert, update.clone()),
        None => tombstone(topic, id, update.clone()),
    }
}

/// How a producer writes a record. All `false` is the plainest form, where shrinking heads.
#[derive(Clone, Debug)]
struct Style {
    no_key: bool,
    /// The value leaves out the id (only when there is a key).
    no_id_in_value: bool,
    /// Integer-looking ids are written as JSON integers.
    integer_ids: bool,
    /// Per field with a camelCase name, in `CAMEL_CASE` order: use it.
    camel_case: [bool; CAMEL_CASE.len()],
    /// Numbers are written as numeric strings.
    numeric_strings: bool,
    /// Decimals lose their trailing zeros (`19.9`, `20`).
    trim_zeros: bool,
    /// `None`: epoch ms; otherwise RFC 3339 at this UTC offset, in minutes.
    ts_offset: Option<i32>,
    /// Fields the job ignores are present.
    extras: bool,
}

impl Style {
    const PLAIN: Style = Style {
        no_key: false,
        no_id_in_value: false,
        integer_ids: false,
        camel_case: [false; CAMEL_CASE.len()],
        numeric_strings: false,
        trim_zeros: false,
        ts_offset: Some(0),
        extras: false,
    };
}

const CAMEL_CASE: [(&str, &str); 8] = [
    ("order_id", "orderId"),
    ("customer_id", "customerId"),
    ("product_id", "productId"),
    ("price", "unitPrice"),
    ("payment_method", "paymentMethod"),
    ("on_hand", "onHand"),
    ("as_of", "asOf"),
    ("reorder_point", "reorderPoint"),
];

fn style() -> impl Strategy<Value = Style> {
    let ts_offset = select(&[Some(0), None, Some(120), Some(-300), Some(330)][..]);
    (
        prop::bool::weighted(0.2),
        any::<bool>(),
        any::<bool>(),
        any::<[bool; CAMEL_CASE.len()]>(),
        prop::bool::weighted(0.3),
        any::<bool>(),
        ts_offset,
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                no_key,
                no_id_in_value,
                integer_ids,
                camel_case,
                numeric_strings,
                trim_zeros,
                ts_offset,
                extras,
            )| Style {
                no_key,
                no_id_in_value,
                integer_ids,
                camel_case,
                numeric_strings,
                trim_zeros,
                ts_offset,
                extras,
            },
        )
}

/// One field of a JSON object: its role (the snake_case name), the name written, its JSON.
#[derive(Clone, Debug)]
struct Field {
    role: &'static str,
    name: &'static str,
    json: Vec<u8>,
}

impl Field {
    fn new(role: &'static str, style: &Style, json: Vec<u8>) -> Self {
        let camel = CAMEL_CASE
            .iter()
            .zip(style.camel_case)
            .find(|((snake, _), use_camel)| *snake == role && *use_camel);
        let name = camel.map_or(role, |((_, camel), _)| camel);
        Field { role, name, json }
    }
}

fn object(fields: &[Field]) -> Vec<u8> {
    let mut json = b"{".to_vec();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(string_json(field.name).as_slice());
        json.push(b':');
        json.extend_from_slice(&field.json);
    }
    json.push(b'}');
    json
}

fn string_json(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).expect("a string always serializes")
}

fn is_integer_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && (id == "0" || !id.starts_with('0'))
}

fn id_json(id: &str, style: &Style) -> Vec<u8> {
    if style.integer_ids && is_integer_id(id) {
        id.as_bytes().to_vec()
    } else {
        string_json(id)
    }
}

fn number_json(number: impl fmt::Display, style: &Style) -> Vec<u8> {
    let text = number.to_string();
    if style.numeric_strings {
        string_json(&text)
    } else {
        text.into_bytes()
    }
}

fn decimal_json(amount: Decimal, style: &Style) -> Vec<u8> {
    if style.trim_zeros {
        number_json(amount.normalize(), style)
    } else {
        number_json(amount, style)
    }
}

fn ts_json(ts_ms: i64, style: &Style) -> Vec<u8> {
    match style.ts_offset {
        None => ts_ms.to_string().into_bytes(),
        Some(minutes) => {
            let offset = FixedOffset::east_opt(minutes * 60).expect("offsets are within a day");
            let time = DateTime::from_timestamp_millis(ts_ms)
                .expect("generated ts is in chrono's range")
                .with_timezone(&offset);
            string_json(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
    }
}

/// The record for `fields` (the whole value, id included) of the key `id`, as `fate` decides.
fn build(
    topic: Topic,
    id: &str,
    mut fields: Vec<Field>,
    style: &Style,
    fate: Fate,
    update: Update,
) -> Record {
    let id_role = fields[0].role;
    let mut key = (!style.no_key).then(|| id.as_bytes().to_vec());
    if key.is_some() && style.no_id_in_value {
        fields.retain(|field| field.role != id_role);
    }
    let (value, meaning) = match fate {
        Fate::Upsert => (Some(object(&fields)), Meaning::Good(update)),
        Fate::Tombstone => return tombstone(topic, id, update),
        Fate::Bad(Flaw::KeylessTombstone) => (None, Meaning::Bad(Flaw::KeylessTombstone)),
        Fate::Bad(flaw) => {
            let value = spoil(flaw, &mut key, id, id_role, &mut fields, style);
            (Some(value), Meaning::Bad(flaw))
        }
    };
    Record {
        topic,
        key: if value.is_none() { None } else { key },
        value,
        meaning,
    }
}

/// The tombstone of the key `update` changes.
fn tombstone(topic: Topic, id: &str, update: Update) -> Record {
    let deletion = match update {
        Update::Order(id, _) => Update::Order(id, None),
        Update::Customer(id, _) => Update::Customer(id, None),
        Update::Product(id, _) => Update::Product(id, None),
        Update::Rate(currency, _) => Update::Rate(currency, None),
        Update::Stock(id, _) => Update::Stock(id, None),
    };
    Record {
        topic,
        key: Some(id.as_bytes().to_vec()),
        value: None,
        meaning: Meaning::Good(deletion),
    }
}

/// Turns a good record into a bad one of kind `flaw`; returns the value bytes.
fn spoil(
    flaw: Flaw,
    key: &mut Option<Vec<u8>>,
    id: &str,
    id_role: &'static str,
    fields: &mut Vec<Field>,
    style: &Style,
) -> Vec<u8> {
    let mut set = |role: &'static str, json: Vec<u8>| match fields
        .iter_mut()
        .find(|field| field.role == role)
    {
        Some(field) => field.json = json,
        None => fields.push(Field::new(role, style, json)),
    };
    // Where a flaw comes in variants, style choices it does not otherwise use pick the variant.
    match flaw {
        Flaw::NotJson => {
            if style.trim_zeros {
                return b"order placed, see attachment".to_vec();
            }
            // Half the object, cut between characters so it stays UTF-8 and fails only as JSON.
            let whole = String::from_utf8(object(fields)).expect("fields are UTF-8");
            let mut cut = whole.len() / 2;
            while !whole.is_char_boundary(cut) {
                cut -= 1;
            }
            return whole.as_bytes()[..cut].to_vec();
        }
        Flaw::Missing("id") => {
            *key = None;
            fields.retain(|field| field.role != id_role);
        }
        Flaw::Missing(role) => fields.retain(|field| field.role != role),
        Flaw::NotCoercible("ip") => set("ip", b"10".to_vec()),
        Flaw::NotCoercible(role) => set(role, string_json("lots")),
        Flaw::ZeroQuantity => set("quantity", number_json(0, style)),
        Flaw::Negative("price") => set("price", b"-0.01".to_vec()),
        Flaw::Negative(role) => set(role, number_json(-1, style)),
        Flaw::UnparseableTime(role) => {
            let bad = if style.trim_zeros {
                "2026-11-31T10:00:00Z"
            } else if style.integer_ids {
                "2026-11-30T21:00:00"
            } else {
                "yesterday"
            };
            set(role, string_json(bad));
        }
        Flaw::KeyIdMismatch => {
            *key = Some(id.as_bytes().to_vec());
            let other = match id_role {
                "currency" if id == "GBP" => "EUR".to_owned(),
                "currency" => "GBP".to_owned(),
                _ => format!("x{id}"),
            };
            set(id_role, string_json(&other));
        }
        Flaw::InvalidUtf8 => {
            let mut text = string_json("café");
            // Drop the second byte of `é`, leaving a lone lead byte inside the string.
            let e_acute = text.len() - 2;
            text.remove(e_acute);
            let role = match id_role {
                "order_id" => "payment_method",
                "currency" => "rate",
                _ => "name",
            };
            set(role, text);
        }
        Flaw::TooLarge => {
            // Valid JSON, padded with whitespace to one byte over `MAX_RECORD_BYTES` on its own.
            let mut value = object(fields);
            let padding = (MAX_RECORD_BYTES + 1).saturating_sub(value.len());
            value.splice(1..1, std::iter::repeat_n(b' ', padding));
            return value;
        }
        Flaw::KeylessTombstone => unreachable!("a keyless tombstone has no value to spoil"),
    }
    object(fields)
}
