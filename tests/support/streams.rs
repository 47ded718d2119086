//! Random input streams: Kafka records (key and value bytes) of the four sales input topics, each
//! paired with what it means, so a test can feed the bytes to the job and the meaning to the oracle.
//!
//! Keys come from small pools so updates and deletes collide. Good records vary the way real
//! producers do (camelCase names, integer ids, numeric strings, ts with offsets or as epoch ms,
//! missing keys); about one record in seven is bad input of a SPEC §2 kind. Every choice shrinks
//! towards the plainest form, so a shrunk failure reads easily.

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;

use super::oracle::{Customer, Order, Product, Update};

/// The most records a stream holds.
pub const MAX_RECORDS: usize = 300;
/// The most records one step (one logical time) holds.
pub const MAX_STEP: usize = 10;

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
const RATED_CURRENCIES: &[&str] = &["EUR", "GBP", "JPY"];

/// The input topics the sales analyses read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    Orders,
    Customers,
    Products,
    FxRates,
}

impl Topic {
    pub fn name(self) -> &'static str {
        match self {
            Topic::Orders => "orders",
            Topic::Customers => "customers",
            Topic::Products => "products",
            Topic::FxRates => "fx_rates",
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
    /// A required field is there but cannot be read as what it should be.
    NotCoercible(&'static str),
    ZeroQuantity,
    NegativePrice,
    UnparseableTs,
    KeyIdMismatch,
    InvalidUtf8,
}

impl Record {
    /// What the record changes, if it is good.
    pub fn update(&self) -> Option<&Update> {
        match &self.meaning {
            Meaning::Good(update) => Some(update),
            Meaning::Bad(_) => None,
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |bytes: &Option<Vec<u8>>| match bytes {
            Some(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            None => "null".to_owned(),
        };
        let meaning = match &self.meaning {
            Meaning::Good(_) => "good".to_owned(),
            Meaning::Bad(flaw) => format!("bad: {flaw:?}"),
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
    vec(vec(record(), 1..=MAX_STEP), 1..=steps).prop_map(|mut steps| {
        let mut room = MAX_RECORDS;
        steps.retain_mut(|step| {
            step.truncate(room);
            room -= step.len();
            !step.is_empty()
        });
        steps
    })
}

/// A record of any topic, orders most often.
pub fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        60 => order_record(),
        14 => customer_record(),
        14 => product_record(),
        12 => rate_record(),
    ]
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
    Flaw::ZeroQuantity,
    Flaw::NegativePrice,
    Flaw::UnparseableTs,
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
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
    let currency = prop_oneof![
        1 => Just(None),
        3 => select(&["USD", "EUR", "GBP", "JPY"][..]).prop_map(|c| Some(c.to_owned())),
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
    let cents = prop_oneof![9 => 1..=20_000i64, 1 => Just(0)];
    (
        order_ts(),
        select(ORDER_CUSTOMER_IDS),
        select(ORDER_PRODUCT_IDS),
        1..=4u32,
        cents,
        currency,
        status,
        payment_method,
    )
        .prop_map(
            |(
                ts_ms,
                customer_id,
                product_id,
                quantity,
                cents,
                currency,
                status,
                payment_method,
            )| {
                Order {
                    ts_ms,
                    customer_id: customer_id.to_owned(),
                    product_id: product_id.to_owned(),
                    quantity,
                    price: Decimal::new(cents, 2),
                    currency,
                    status: status.map(str::to_owned),
                    payment_method: payment_method.map(str::to_owned),
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
    ];
    for (role, value) in optional {
        if let Some(value) = value {
            fields.push(Field::new(role, style, string_json(value)));
        }
    }
    if style.extras {
        fields.push(Field::new("ip", style, string_json("203.0.113.7")));
        fields.push(Field::new("coupon", style, string_json("BLACKFRIDAY")));
    }
    fields
}

// ---------------------------------------------------------------------------------------------
// Customers, products, rates

const DIMENSION_FLAWS: &[Flaw] = &[
    Flaw::NotJson,
    Flaw::Missing("id"),
    Flaw::KeyIdMismatch,
    Flaw::InvalidUtf8,
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
    let customer = (gender, age, country).prop_map(|(gender, age, country)| Customer {
        gender: gender.map(str::to_owned),
        age,
        country: country.map(str::to_owned),
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
    if let Some(country) = &customer.country {
        fields.push(Field::new("country", style, string_json(country)));
    }
    if style.extras {
        fields.push(Field::new("name", style, string_json("Ada Lovelace")));
        fields.push(Field::new("email", style, string_json("ada@example.com")));
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
    let product = (name, category).prop_map(|(name, category)| Product {
        name: name.map(str::to_owned),
        category: category.map(str::to_owned),
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
    if let Some(name) = &product.name {
        fields.push(Field::new("name", style, string_json(name)));
    }
    if let Some(category) = &product.category {
        fields.push(Field::new("category", style, string_json(category)));
    }
    if style.extras {
        fields.push(Field::new("brand", style, string_json("Acme")));
        let list_price = Decimal::new(1250, 2);
        fields.push(Field::new("price", style, decimal_json(list_price, style)));
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
    vec![
        Field::new("currency", style, string_json(currency)),
        Field::new("rate", style, decimal_json(rate, style)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The plainest good record saying `update`: keyed, snake_case names, string ids, JSON numbers,
/// ts in RFC 3339 UTC. For hand-written scenarios.
pub fn plain_record(update: &Update) -> Record {
    let style = Style::PLAIN;
    let (topic, id, fields) = match update {
        Update::Order(id, order) => (
            Topic::Orders,
            id,
            order.as_ref().map(|order| order_fields(id, order, &style)),
        ),
        Update::Customer(id, customer) => (
            Topic::Customers,
            id,
            customer
                .as_ref()
                .map(|customer| customer_fields(id, customer, &style)),
        ),
        Update::Product(id, product) => (
            Topic::Products,
            id,
            product
                .as_ref()
                .map(|product| product_fields(id, product, &style)),
        ),
        Update::Rate(currency, rate) => (
            Topic::FxRates,
            currency,
            rate.map(|rate| rate_fields(currency, rate, &style)),
        ),
    };
    match fields {
        Some(fields) => build(topic, id, fields, &style, Fate::Upsert, update.clone()),
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

const CAMEL_CASE: [(&str, &str); 5] = [
    ("order_id", "orderId"),
    ("customer_id", "customerId"),
    ("product_id", "productId"),
    ("price", "unitPrice"),
    ("payment_method", "paymentMethod"),
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
        Fate::Upsert => (object(&fields), Meaning::Good(update)),
        Fate::Tombstone => return tombstone(topic, id, update),
        Fate::Bad(flaw) => {
            let value = spoil(flaw, &mut key, id, id_role, &mut fields, style);
            (value, Meaning::Bad(flaw))
        }
    };
    Record {
        topic,
        key,
        value: Some(value),
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
            let whole = object(fields);
            return if style.trim_zeros {
                b"order placed, see attachment".to_vec()
            } else {
                whole[..whole.len() / 2].to_vec()
            };
        }
        Flaw::Missing("id") => {
            *key = None;
            fields.retain(|field| field.role != id_role);
        }
        Flaw::Missing(role) => fields.retain(|field| field.role != role),
        Flaw::NotCoercible(role) => set(role, string_json("lots")),
        Flaw::ZeroQuantity => set("quantity", number_json(0, style)),
        Flaw::NegativePrice => set("price", b"-0.01".to_vec()),
        Flaw::UnparseableTs => {
            let bad = if style.trim_zeros {
                "2026-11-31T10:00:00Z"
            } else if style.integer_ids {
                "2026-11-30T21:00:00"
            } else {
                "yesterday"
            };
            set("ts", string_json(bad));
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
    }
    object(fields)
}
