//! The tolerant JSON decoder for input records: one Kafka record (topic, key bytes, value bytes) in,
//! one [`Change`] or one [`DecodeError`] out (SPEC §1–2).
//!
//! This module owns every rule about what producers may send: ids as strings or integers, numbers
//! as JSON numbers or numeric strings, camelCase aliases, `null` meaning "missing", tombstones, and
//! the key/id agreement. It never touches binary floating point: every number-ish field is captured
//! as a borrowed [`RawValue`] and its exact text is parsed into a fixed-point integer here, so
//! `19.99` is `19_990_000` micros and never `19.989999…`. Errors are sentences naming the field by
//! its spec (snake_case) name, because they end up verbatim in the `dead_letters` topic.

use std::borrow::Cow;
use std::fmt;

use chrono::DateTime;
use serde::Deserialize;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use smol_str::SmolStr;

use crate::model::{
    Change, Currency, Customer, CustomerId, EventTime, InputTopic, Order, OrderId, Price, Product,
    ProductId, Rate, Status, StockCount,
};

/// Limits and defaults the decoder needs.
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// Largest key + value accepted, in bytes (`--max-record-bytes`).
    pub max_record_bytes: usize,
    /// The currency of an order that names none (`--base-currency`).
    pub base_currency: Currency,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            max_record_bytes: 1 << 20,
            // A constant, not input data: "USD" is three ASCII letters.
            base_currency: Currency::parse("USD").expect("USD is a currency code"),
        }
    }
}

/// What class of bad input a record is; `data_quality` counts errors by this.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
// Serialized like `as_str`, so JSON written by serde and by hand agree.
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    TooLarge,
    InvalidUtf8,
    NotJson,
    MissingKey,
    MissingField,
    BadField,
    KeyMismatch,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::TooLarge,
        ErrorKind::InvalidUtf8,
        ErrorKind::NotJson,
        ErrorKind::MissingKey,
        ErrorKind::MissingField,
        ErrorKind::BadField,
        ErrorKind::KeyMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TooLarge => "too_large",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::NotJson => "not_json",
            ErrorKind::MissingKey => "missing_key",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::BadField => "bad_field",
            ErrorKind::KeyMismatch => "key_mismatch",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record was not applied: a sentence naming the field and the problem.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    thiserror::Error,
)]
#[error("{message}")]
pub struct DecodeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DecodeError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

fn bad_field(message: impl Into<String>) -> DecodeError {
    DecodeError::new(ErrorKind::BadField, message)
}

/// Quotes producer text for an error sentence, cut short: the sentence goes into a dead letter and
/// a log line, and a megabyte-long id must not make either one a megabyte long.
fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    match text.char_indices().nth(MAX_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
    }
}

/// Decodes one Kafka record of `topic` into the change it asks for.
///
/// Checks run in a fixed order, and the first failure is the one reported: size, UTF-8 (key, then
/// value), tombstone, JSON object, the id (key vs. id field), then each field in spec order.
/// Never panics, whatever the bytes.
pub fn decode(
    topic: InputTopic,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    config: &DecodeConfig,
) -> Result<Change> {
    // Size first: nothing else should spend time on a record that will be refused anyway.
    let key_len = key.map_or(0, <[u8]>::len);
    let value_len = value.map_or(0, <[u8]>::len);
    let total = key_len.saturating_add(value_len);
    if total > config.max_record_bytes {
        let what = if key_len == 0 {
            format!("value is {total} bytes")
        } else {
            format!("key and value are {total} bytes")
        };
        return Err(DecodeError::new(
            ErrorKind::TooLarge,
            format!(
                "{what}, over the {}-byte limit (--max-record-bytes)",
                config.max_record_bytes
            ),
        ));
    }

    let key = key.map(|bytes| utf8("key", bytes)).transpose()?;
    let value = value.map(|bytes| utf8("value", bytes)).transpose()?;
    let key = key.and_then(key_text);

    // Kafka's tombstone is a null value; an empty value carries nothing either, and some clients
    // (and Kafka Connect converters) cannot tell the two apart, so both delete.
    let value = match value {
        Some(text) if !text.is_empty() => text,
        _ => return tombstone(topic, key),
    };

    match topic {
        InputTopic::Orders => decode_order(key, value, config),
        InputTopic::Customers => decode_customer(key, value),
        InputTopic::Products => decode_product(key, value),
        InputTopic::FxRates => decode_rate(key, value),
        InputTopic::Inventory => decode_stock(key, value),
    }
}

fn utf8<'a>(what: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        DecodeError::new(
            ErrorKind::InvalidUtf8,
            format!(
                "{what} is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// The id a key carries. Producers send either the bare id (`o-1`, `42`) or the id serialized as
/// JSON (`"o-1"`, `42`, e.g. Kafka Connect's JSON converter); both mean the same id. An empty key
/// is treated as no key at all, so the id comes from the value.
fn key_text(key: &str) -> Option<Cow<'_, str>> {
    let trimmed = key.trim();
    let text = match serde_json::from_str::<Text<'_>>(trimmed) {
        Ok(Text(text)) => text,
        Err(_) => Cow::Borrowed(trimmed),
    };
    (!text.trim().is_empty()).then_some(text)
}

fn tombstone(topic: InputTopic, key: Option<Cow<'_, str>>) -> Result<Change> {
    let Some(key) = key else {
        return Err(DecodeError::new(
            ErrorKind::MissingKey,
            "a tombstone (null value) needs a key",
        ));
    };
    Ok(match topic {
        InputTopic::Orders => Change::Order(OrderId::new(key), None),
        InputTopic::Customers => Change::Customer(CustomerId::new(key), None),
        InputTopic::Products => Change::Product(ProductId::new(key), None),
        InputTopic::FxRates => Change::Rate(key_currency(&key)?, None),
        InputTopic::Inventory => Change::Stock(ProductId::new(key), None),
    })
}

fn key_currency(key: &str) -> Result<Currency> {
    Currency::parse(key).ok_or_else(|| {
        bad_field(format!(
            "key {} is not a three-letter currency code",
            quote(key)
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Per-topic decoding. Each topic lists its fields once (spec name + accepted alias); the value is
// scanned into one slot per field and every field is then checked in the order listed, so the
// first problem in spec order is the one reported.
// ---------------------------------------------------------------------------------------------

const ORDER_FIELDS: [Name; 10] = [
    Name::aliased("order_id", "orderId"),
    Name::plain("ts"),
    Name::aliased("customer_id", "customerId"),
    Name::aliased("product_id", "productId"),
    Name::plain("quantity"),
    Name::aliased("price", "unitPrice"),
    Name::plain("currency"),
    Name::plain("status"),
    Name::aliased("payment_method", "paymentMethod"),
    Name::plain("ip"),
];

fn decode_order(key: Option<Cow<'_, str>>, value: &str, config: &DecodeConfig) -> Result<Change> {
    let [
        id,
        ts,
        customer_id,
        product_id,
        quantity,
        price,
        currency,
        status,
        payment_method,
        ip,
    ] = fields(value, &ORDER_FIELDS)?;
    let id = resolve_id(id, key)?;
    let ts = ts.required(Field::time)?;
    let customer_id = customer_id.required(Field::id)?;
    let product_id = product_id.required(Field::id)?;
    let quantity = quantity.required(Field::integer)?;
    if quantity < 1 {
        return Err(bad_field("quantity must be at least 1"));
    }
    let price = price.required(Field::price)?;
    let currency = currency.currency()?.unwrap_or(config.base_currency);
    let status = status
        .string()?
        .map_or(Status::Placed, |s| Status::parse(&s));
    let order = Order {
        ts,
        customer_id: CustomerId::new(customer_id),
        product_id: ProductId::new(product_id),
        quantity,
        price,
        currency,
        status,
        payment_method: payment_method.string()?,
        ip: ip.string()?,
    };
    Ok(Change::Order(OrderId::new(id), Some(order)))
}

const CUSTOMER_FIELDS: [Name; 6] = [
    Name::aliased("customer_id", "customerId"),
    Name::plain("gender"),
    Name::plain("age"),
    Name::plain("country"),
    Name::plain("name"),
    Name::plain("email"),
];

fn decode_customer(key: Option<Cow<'_, str>>, value: &str) -> Result<Change> {
    let [id, gender, age, country, name, email] = fields(value, &CUSTOMER_FIELDS)?;
    let id = resolve_id(id, key)?;
    // Age is kept as given; whether it is plausible (0..=120) is the age band's business.
    let customer = Customer {
        gender: gender.string()?,
        age: age.integer()?,
        country: country.string()?,
        name: name.string()?,
        email: email.string()?,
    };
    Ok(Change::Customer(CustomerId::new(id), Some(customer)))
}

const PRODUCT_FIELDS: [Name; 5] = [
    Name::aliased("product_id", "productId"),
    Name::plain("name"),
    Name::plain("category"),
    Name::plain("brand"),
    Name::aliased("price", "unitPrice"),
];

fn decode_product(key: Option<Cow<'_, str>>, value: &str) -> Result<Change> {
    let [id, name, category, brand, price] = fields(value, &PRODUCT_FIELDS)?;
    let id = resolve_id(id, key)?;
    let product = Product {
        name: name.string()?,
        category: category.string()?,
        brand: brand.string()?,
        price: price.price()?,
    };
    Ok(Change::Product(ProductId::new(id), Some(product)))
}

const RATE_FIELDS: [Name; 2] = [Name::plain("currency"), Name::plain("rate")];

fn decode_rate(key: Option<Cow<'_, str>>, value: &str) -> Result<Change> {
    let [currency_field, rate] = fields(value, &RATE_FIELDS)?;
    let key = key.as_deref().map(key_currency).transpose()?;
    let given = currency_field.currency()?;
    let currency = match (key, given) {
        (Some(key), Some(given)) if key != given => {
            return Err(DecodeError::new(
                ErrorKind::KeyMismatch,
                format!(
                    "currency {} does not match the record key {}",
                    quote(given.as_str()),
                    quote(key.as_str())
                ),
            ));
        }
        (Some(currency), _) | (None, Some(currency)) => currency,
        (None, None) => return Err(missing_id("currency")),
    };
    let rate = rate.required(|f| f.decimal(Rate::SCALE))?;
    if rate <= 0 {
        return Err(bad_field("rate must be greater than 0"));
    }
    Ok(Change::Rate(currency, Some(Rate(rate))))
}

const STOCK_FIELDS: [Name; 4] = [
    Name::aliased("product_id", "productId"),
    Name::aliased("on_hand", "onHand"),
    Name::aliased("as_of", "asOf"),
    Name::aliased("reorder_point", "reorderPoint"),
];

fn decode_stock(key: Option<Cow<'_, str>>, value: &str) -> Result<Change> {
    let [id, on_hand, as_of, reorder_point] = fields(value, &STOCK_FIELDS)?;
    let id = resolve_id(id, key)?;
    let on_hand = on_hand.required(Field::non_negative_integer)?;
    let as_of = as_of.required(Field::time)?;
    let reorder_point = reorder_point.non_negative_integer()?.unwrap_or(0);
    let stock = StockCount {
        on_hand,
        as_of,
        reorder_point,
    };
    Ok(Change::Stock(ProductId::new(id), Some(stock)))
}

/// The record's id: the key if there is one (then a present id field must agree with it),
/// otherwise the id field of the value.
fn resolve_id<'a>(field: Field<'a>, key: Option<Cow<'a, str>>) -> Result<Cow<'a, str>> {
    let given = field.id()?;
    match (key, given) {
        (Some(key), Some(given)) if key != given => Err(DecodeError::new(
            ErrorKind::KeyMismatch,
            format!(
                "{} {} does not match the record key {}",
                field.name,
                quote(&given),
                quote(&key)
            ),
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(missing_id(field.name)),
    }
}

fn missing_id(name: &str) -> DecodeError {
    DecodeError::new(
        ErrorKind::MissingField,
        format!("{name} is missing and the record has no key"),
    )
}

// ---------------------------------------------------------------------------------------------
// Scanning the value object into field slots.
// ---------------------------------------------------------------------------------------------

/// A field's spec name and the one camelCase alias older producers use for it, if any.
#[derive(Clone, Copy)]
struct Name {
    name: &'static str,
    alias: Option<&'static str>,
}

impl Name {
    const fn plain(name: &'static str) -> Self {
        Name { name, alias: None }
    }

    const fn aliased(name: &'static str, alias: &'static str) -> Self {
        Name {
            name,
            alias: Some(alias),
        }
    }
}

/// One field of a decoded value: its spec name and its raw JSON text, `None` when absent or null.
#[derive(Clone, Copy)]
struct Field<'a> {
    name: &'static str,
    raw: Option<&'a RawValue>,
}

/// Scans `value`, which must be exactly one JSON object, into one [`Field`] per entry of `names`.
fn fields<'a, const N: usize>(value: &'a str, names: &[Name; N]) -> Result<[Field<'a>; N]> {
    let not_json = |e: serde_json::Error| {
        DecodeError::new(
            ErrorKind::NotJson,
            format!("value is not a JSON object: {e}"),
        )
    };
    let mut de = serde_json::Deserializer::from_str(value);
    let scan = de.deserialize_map(Scan { names }).map_err(not_json)?;
    // Trailing garbage after the object (`{...} x`) is not JSON either.
    de.end().map_err(not_json)?;
    if let Some((index, first, second)) = scan.duplicate {
        return Err(bad_field(format!(
            "{} is given twice (as {first:?} and {second:?})",
            names[index].name
        )));
    }
    let mut out = [Field {
        name: "",
        raw: None,
    }; N];
    for ((field, name), slot) in out.iter_mut().zip(names).zip(scan.slots) {
        field.name = name.name;
        field.raw = slot.map(|(raw, _)| raw);
    }
    Ok(out)
}

/// A serde visitor that fills one slot per known field and skips the rest without building them.
struct Scan<'n, const N: usize> {
    names: &'n [Name; N],
}

struct Scanned<'a, const N: usize> {
    /// Raw value and the name it came under (spec name or alias), per field.
    slots: [Option<(&'a RawValue, &'static str)>; N],
    /// The first field given twice: its index and both names it was given under.
    duplicate: Option<(usize, &'static str, &'static str)>,
}

impl<'de, const N: usize> Visitor<'de> for Scan<'_, N> {
    type Value = Scanned<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Scanned {
            slots: [None; N],
            duplicate: None,
        };
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let found = self.names.iter().enumerate().find_map(|(index, name)| {
                if name.name == key {
                    Some((index, name.name))
                } else if name.alias == Some(&*key) {
                    Some((index, name.alias.unwrap_or(name.name)))
                } else {
                    None
                }
            });
            let Some((index, given_as)) = found else {
                // Unknown fields are ignored, but still validated as JSON by the parser.
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let raw: &'de RawValue = map.next_value()?;
            // JSON null means "not given": producers emit it for absent optionals.
            if raw.get().trim() == "null" {
                continue;
            }
            match out.slots[index] {
                None => out.slots[index] = Some((raw, given_as)),
                // Which of two values wins is a guess, so neither does: the record is refused.
                Some((_, first)) => {
                    if out.duplicate.is_none() {
                        out.duplicate = Some((index, first, given_as));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        d.deserialize_str(TextVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Field coercions. Each returns `Ok(None)` for an absent field; `required` turns that into
// `MissingField`.
// ---------------------------------------------------------------------------------------------

/// The JSON type of a raw value, with the text needed to coerce it.
enum Json<'a> {
    Str(Cow<'a, str>),
    /// The number's literal text, exactly as sent.
    Number(&'a str),
    Other,
}

impl<'a> Field<'a> {
    fn required<T>(self, parse: impl FnOnce(Self) -> Result<Option<T>>) -> Result<T> {
        parse(self)?.ok_or_else(|| {
            DecodeError::new(ErrorKind::MissingField, format!("{} is missing", self.name))
        })
    }

    fn json(self) -> Result<Option<Json<'a>>> {
        let Some(raw) = self.raw else {
            return Ok(None);
        };
        let text = raw.get().trim();
        Ok(Some(match text.as_bytes().first() {
            Some(b'"') => match serde_json::from_str::<Text<'a>>(text) {
                Ok(Text(s)) => Json::Str(s),
                // The parser has validated the string already; this only guards against an escape
                // it accepted but cannot decode, without panicking.
                Err(e) => {
                    return Err(bad_field(format!(
                        "{} is not a valid JSON string: {e}",
                        self.name
                    )));
                }
            },
            Some(b'-' | b'0'..=b'9') => Json::Number(text),
            _ => Json::Other,
        }))
    }

    /// An id: a JSON string or integer, kept as text so `42` and `"42"` are one id.
    fn id(self) -> Result<Option<Cow<'a, str>>> {
        match self.json()? {
            None => Ok(None),
            Some(Json::Str(s)) if s.trim().is_empty() => {
                Err(bad_field(format!("{} must not be empty", self.name)))
            }
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(Json::Number(n)) if is_integer_literal(n) => Ok(Some(Cow::Borrowed(n))),
            Some(_) => Err(bad_field(format!(
                "{} must be a string or an integer",
                self.name
            ))),
        }
    }

    /// Optional free text; an empty string means "not given".
    fn string(self) -> Result<Option<SmolStr>> {
        match self.json()? {
            None => Ok(None),
            Some(Json::Str(s)) if s.is_empty() => Ok(None),
            Some(Json::Str(s)) => Ok(Some(SmolStr::new(s))),
            Some(_) => Err(bad_field(format!("{} must be a string", self.name))),
        }
    }

    /// A currency code in any case. Unlike free text, an empty code is refused rather than
    /// defaulted: silently pricing an order in the base currency would misstate money.
    fn currency(self) -> Result<Option<Currency>> {
        match self.json()? {
            None => Ok(None),
            Some(Json::Str(s)) => Currency::parse(&s).map(Some).ok_or_else(|| {
                bad_field(format!(
                    "{} {} is not a three-letter currency code",
                    self.name,
                    quote(&s)
                ))
            }),
            Some(_) => Err(bad_field(format!(
                "{} must be a three-letter currency code string",
                self.name
            ))),
        }
    }

    /// The exact text of a number-ish field: a JSON number or a string holding one.
    fn numeric_text(self, expected: &str) -> Result<Option<Cow<'a, str>>> {
        match self.json()? {
            None => Ok(None),
            Some(Json::Number(n)) => Ok(Some(Cow::Borrowed(n))),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(Json::Other) => Err(bad_field(format!("{} must be {expected}", self.name))),
        }
    }

    /// An integer: `2`, `"2"`, or any exact number with no fraction (`2.0`, `2e3`); `2.5` is bad.
    fn integer(self) -> Result<Option<i64>> {
        let Some(text) = self.numeric_text("an integer")? else {
            return Ok(None);
        };
        parse_fixed(text.trim(), 0).map(Some).map_err(|e| match e {
            NumError::OutOfRange => bad_field(format!("{} is out of range", self.name)),
            NumError::NotNumber | NumError::TooPrecise => {
                bad_field(format!("{} must be an integer", self.name))
            }
        })
    }

    fn non_negative_integer(self) -> Result<Option<i64>> {
        match self.integer()? {
            Some(n) if n < 0 => Err(bad_field(format!("{} must not be negative", self.name))),
            n => Ok(n),
        }
    }

    /// An exact decimal with at most `scale` places, as an integer count of 10^-scale units.
    fn decimal(self, scale: u32) -> Result<Option<i64>> {
        let Some(text) = self.numeric_text("a decimal number")? else {
            return Ok(None);
        };
        parse_fixed(text.trim(), scale)
            .map(Some)
            .map_err(|e| match e {
                NumError::NotNumber => bad_field(format!(
                    "{} must be a decimal number, got {}",
                    self.name,
                    quote(&text)
                )),
                NumError::TooPrecise => bad_field(format!(
                    "{} has more than {scale} decimal places",
                    self.name
                )),
                NumError::OutOfRange => bad_field(format!("{} is out of range", self.name)),
            })
    }

    /// A unit price: a decimal >= 0 with at most [`Price::SCALE`] places.
    fn price(self) -> Result<Option<Price>> {
        match self.decimal(Price::SCALE)? {
            Some(micros) if micros < 0 => {
                Err(bad_field(format!("{} must not be negative", self.name)))
            }
            micros => Ok(micros.map(Price)),
        }
    }

    /// An instant: RFC 3339 with an offset, or integer epoch milliseconds (number or string).
    fn time(self) -> Result<Option<EventTime>> {
        let bad = || {
            bad_field(format!(
                "{} must be RFC 3339 with an offset or integer epoch milliseconds",
                self.name
            ))
        };
        let text = match self.json()? {
            None => return Ok(None),
            Some(Json::Number(n)) => Cow::Borrowed(n),
            Some(Json::Str(s)) => {
                if let Ok(at) = DateTime::parse_from_rfc3339(s.trim()) {
                    // Sub-millisecond digits are dropped toward the past, like `timestamp_millis`.
                    return Ok(Some(at.timestamp_millis()));
                }
                s
            }
            Some(Json::Other) => return Err(bad()),
        };
        parse_fixed(text.trim(), 0).map(Some).map_err(|_| bad())
    }
}

/// A JSON integer literal (`42`, `-7`): what may stand for an id. `4.2e1` is a float to JSON.
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NumError {
    NotNumber,
    TooPrecise,
    OutOfRange,
}

/// An amount of money in cents, read exactly (`"5000"`, `"49.99"`); `None` if it is not a number
/// or has more than two decimals.
pub fn parse_cents(text: &str) -> Option<i64> {
    parse_fixed(text.trim(), 2).ok()
}

/// Parses decimal text exactly into an integer count of 10^-`scale` units.
///
/// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` (a JSON number, plus a leading `+` and the
/// forms `5.` and `.5` that numeric strings carry). Hand-written rather than `rust_decimal`
/// because this is all it needs and it is strict where `Decimal::from_str` is lenient (it
/// accepts `1_000`) and exact where that rounds (past 28 digits): a digit beyond `scale` that is
/// not zero is an error, never a rounding.
fn parse_fixed(text: &str, scale: u32) -> std::result::Result<i64, NumError> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            at = 1;
            true
        }
        Some(b'+') => {
            at = 1;
            false
        }
        _ => false,
    };
    let digits_from = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        &bytes[start..*at]
    };
    let int_digits = digits_from(&mut at);
    let mut frac_digits: &[u8] = &[];
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        frac_digits = digits_from(&mut at);
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(NumError::NotNumber);
    }
    // Exponents are clamped: anything beyond ±10^9 is out of range or too precise either way, and
    // clamping keeps the arithmetic below far from overflow.
    const EXP_CAP: i64 = 1_000_000_000;
    let mut exponent: i64 = 0;
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        let exp_negative = match bytes.get(at) {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let exp_digits = digits_from(&mut at);
        if exp_digits.is_empty() {
            return Err(NumError::NotNumber);
        }
        for &d in exp_digits {
            exponent = (exponent * 10 + i64::from(d - b'0')).min(EXP_CAP);
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if at != bytes.len() {
        return Err(NumError::NotNumber);
    }

    // The value is digits(int ++ frac) x 10^(exponent - frac.len()). Drop leading and trailing
    // zeros from the digit string so only significant digits remain.
    let all = || int_digits.iter().chain(frac_digits).copied();
    let total = int_digits.len() + frac_digits.len();
    let leading = all().take_while(|&d| d == b'0').count();
    if leading == total {
        return Ok(0);
    }
    let trailing = all().rev().take_while(|&d| d == b'0').count();
    let significant = total - leading - trailing;
    // Lengths are bounded by the record size limit, far below i64::MAX.
    let power = exponent - frac_digits.len() as i64 + trailing as i64;
    // Places below the unit: the lowest significant digit must not be finer than 10^-scale.
    let shift = power + i64::from(scale);
    if shift < 0 {
        return Err(NumError::TooPrecise);
    }
    // i64 holds at most 19 digits; a longer result cannot fit.
    if significant as i64 + shift > 19 {
        return Err(NumError::OutOfRange);
    }
    let mut value: i128 = 0;
    for d in all().skip(leading).take(significant) {
        value = value * 10 + i128::from(d - b'0');
    }
    // `shift` <= 19 here, so 10^shift fits an i128 and the product (< 10^19 x 10) does too.
    value *= 10_i128.pow(shift as u32);
    if negative {
        value = -value;
    }
    i64::try_from(value).map_err(|_| NumError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use InputTopic::{Customers, FxRates, Inventory, Orders, Products};

    fn cfg() -> DecodeConfig {
        DecodeConfig::default()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("test currency")
    }

    fn text(value: Option<&str>) -> Option<SmolStr> {
        value.map(SmolStr::new)
    }

    /// An order record as the tests expect it; the optional fields come last.
    #[allow(clippy::too_many_arguments)]
    fn order(
        id: &str,
        ts: i64,
        customer: &str,
        product: &str,
        quantity: i64,
        micros: i64,
        currency: &str,
        status: Status,
        payment_method: Option<&str>,
        ip: Option<&str>,
    ) -> Change {
        let order = Order {
            ts,
            customer_id: CustomerId::new(customer),
            product_id: ProductId::new(product),
            quantity,
            price: Price(micros),
            currency: cur(currency),
            status,
            payment_method: text(payment_method),
            ip: text(ip),
        };
        Change::Order(OrderId::new(id), Some(order))
    }

    fn customer(id: &str, fields: [Option<&str>; 4], age: Option<i64>) -> Change {
        let [gender, country, name, email] = fields;
        let customer = Customer {
            gender: text(gender),
            age,
            country: text(country),
            name: text(name),
            email: text(email),
        };
        Change::Customer(CustomerId::new(id), Some(customer))
    }

    fn product(id: &str, fields: [Option<&str>; 3], price: Option<i64>) -> Change {
        let [name, category, brand] = fields;
        let product = Product {
            name: text(name),
            category: text(category),
            brand: text(brand),
            price: price.map(Price),
        };
        Change::Product(ProductId::new(id), Some(product))
    }

    fn stock(id: &str, on_hand: i64, as_of: i64, reorder_point: i64) -> Change {
        let count = StockCount {
            on_hand,
            as_of,
            reorder_point,
        };
        Change::Stock(ProductId::new(id), Some(count))
    }

    /// 2026-11-22T10:00:00Z in epoch milliseconds.
    const T0: i64 = 1_795_341_600_000;

    #[test]
    fn t0_is_what_the_tests_say() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").expect("valid");
        assert_eq!(at.timestamp_millis(), T0);
    }

    /// What the case checks, topic, key, value, the change it must decode to.
    type Good = (
        &'static str,
        InputTopic,
        Option<&'static str>,
        Option<&'static str>,
        Change,
    );

    #[rustfmt::skip]
    fn good_cases() -> Vec<Good> {
        use Status::*;
        vec![
            ("full order, string ids, RFC 3339 with Z", Orders, Some("o-1"),
             Some(r#"{"order_id":"o-1","ts":"2026-11-22T10:00:00Z","customer_id":"c-1","product_id":"p-1",
                      "quantity":2,"price":19.99,"currency":"EUR","status":"paid","payment_method":"card","ip":"10.0.0.1"}"#),
             order("o-1", T0, "c-1", "p-1", 2, 19_990_000, "EUR", Paid, Some("card"), Some("10.0.0.1"))),
            ("integer ids equal string ids, numeric strings, epoch ms integer, default currency and status",
             Orders, Some("42"),
             Some(r#"{"order_id":42,"ts":1795341600000,"customer_id":7,"product_id":"9","quantity":"3","price":"0.5"}"#),
             order("42", T0, "7", "9", 3, 500_000, "USD", Placed, None, None)),
            ("a JSON-string key is the bare id", Orders, Some(r#""o-1""#),
             Some(r#"{"order_id":"o-1","ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":0}"#),
             order("o-1", 0, "c", "p", 1, 0, "USD", Placed, None, None)),
            ("camelCase aliases, RFC 3339 with +02:00", Orders, Some("o-2"),
             Some(r#"{"orderId":"o-2","ts":"2026-11-22T12:00:00+02:00","customerId":"c-1","productId":"p-1",
                      "quantity":1,"unitPrice":"100","paymentMethod":"paypal"}"#),
             order("o-2", T0, "c-1", "p-1", 1, 100_000_000, "USD", Placed, Some("paypal"), None)),
            ("epoch ms as a numeric string, lower-case currency, unknown status kept", Orders, Some("o-3"),
             Some(r#"{"ts":"1795341600000","customer_id":"c","product_id":"p","quantity":1,"price":1.000000,
                      "currency":"eur","status":"On-Hold"}"#),
             order("o-3", T0, "c", "p", 1, 1_000_000, "EUR", Other("On-Hold".into()), None, None)),
            ("unknown fields ignored, nulls and empty strings are missing", Orders, Some("o-4"),
             Some(r#"{"ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":2,"currency":null,
                      "status":null,"payment_method":"","ip":null,"extra":{"nested":[1,2.5,"x"]},"coupon":true}"#),
             order("o-4", 0, "c", "p", 1, 2_000_000, "USD", Placed, None, None)),
            ("no key: the id comes from the value", Orders, None,
             Some(r#"{"order_id":"o-5","ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":1}"#),
             order("o-5", 0, "c", "p", 1, 1_000_000, "USD", Placed, None, None)),
            ("integral decimals are integers, exponents exact, sub-ms ts truncated", Orders, Some("o-6"),
             Some(r#"{"ts":"2026-11-22T10:00:00.0009Z","customer_id":"c","product_id":"p","quantity":2.0,
                      "price":1.5e1,"status":"CANCELLED"}"#),
             order("o-6", T0, "c", "p", 2, 15_000_000, "USD", Cancelled, None, None)),
            ("id with a JSON escape", Orders, None,
             Some(r#"{"order_id":"o\u002d7","ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":1}"#),
             order("o-7", 0, "c", "p", 1, 1_000_000, "USD", Placed, None, None)),
            ("id field missing while the key is given", Orders, Some("  o-8 "),
             Some(r#"{"ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":1}"#),
             order("o-8", 0, "c", "p", 1, 1_000_000, "USD", Placed, None, None)),
            ("order tombstone", Orders, Some("o-1"), None, Change::Order(OrderId::new("o-1"), None)),
            ("an empty value is a tombstone; JSON-integer key", Orders, Some("42"), Some(""),
             Change::Order(OrderId::new("42"), None)),
            ("customer with every field", Customers, Some("c-1"),
             Some(r#"{"customer_id":"c-1","gender":"F","age":"34","country":"DE","name":"Ada","email":"a@x"}"#),
             customer("c-1", [Some("F"), Some("DE"), Some("Ada"), Some("a@x")], Some(34))),
            ("customer without key, integer id, optionals missing", Customers, None,
             Some(r#"{"customerId":7,"age":null,"unknown":1}"#),
             customer("7", [None; 4], None)),
            ("customer tombstone", Customers, Some("c-1"), None, Change::Customer(CustomerId::new("c-1"), None)),
            ("product with unitPrice", Products, Some("p-1"),
             Some(r#"{"productId":"p-1","name":"Mug","category":"Kitchen","brand":"","unitPrice":"4.25"}"#),
             product("p-1", [Some("Mug"), Some("Kitchen"), None], Some(4_250_000))),
            ("product without price", Products, None, Some(r#"{"product_id":12}"#),
             product("12", [None; 3], None)),
            ("product tombstone", Products, Some("p-1"), None, Change::Product(ProductId::new("p-1"), None)),
            ("fx rate as a string", FxRates, Some("EUR"), Some(r#"{"currency":"EUR","rate":"1.0842"}"#),
             Change::Rate(cur("EUR"), Some(Rate(10_842_000_000)))),
            ("fx currency compared after case normalisation; rate as a number", FxRates, Some("gbp"),
             Some(r#"{"currency":"GBP","rate":1.2512345678}"#),
             Change::Rate(cur("GBP"), Some(Rate(12_512_345_678)))),
            ("fx rate without key", FxRates, None, Some(r#"{"currency":"jpy","rate":"0.0067"}"#),
             Change::Rate(cur("JPY"), Some(Rate(67_000_000)))),
            ("fx tombstone with a JSON-string key", FxRates, Some(r#""eur""#), None,
             Change::Rate(cur("EUR"), None)),
            ("inventory with default reorder point", Inventory, Some("p-1"),
             Some(r#"{"product_id":"p-1","on_hand":"5","as_of":"2026-11-22T10:00:00Z"}"#),
             stock("p-1", 5, T0, 0)),
            ("inventory in camelCase, no key, epoch as_of", Inventory, None,
             Some(r#"{"productId":3,"onHand":0,"asOf":1795341600000,"reorderPoint":"4"}"#),
             stock("3", 0, T0, 4)),
            ("inventory tombstone", Inventory, Some("p-1"), None, Change::Stock(ProductId::new("p-1"), None)),
        ]
    }

    #[test]
    fn good_records_decode_exactly() {
        for (what, topic, key, value, expected) in good_cases() {
            let got = decode(
                topic,
                key.map(str::as_bytes),
                value.map(str::as_bytes),
                &cfg(),
            );
            assert_eq!(got, Ok(expected), "{what}");
        }
    }

    const GOOD_ORDER: &str =
        r#"{"order_id":"o-1","ts":0,"customer_id":"c","product_id":"p","quantity":1,"price":1}"#;

    /// `GOOD_ORDER` without `field`.
    fn order_without(field: &str) -> String {
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(GOOD_ORDER).expect("valid");
        map.remove(field);
        serde_json::to_string(&map).expect("serializable")
    }

    /// What the case checks, topic, key, value, the error kind, a substring of its message.
    type Bad = (
        String,
        InputTopic,
        Option<&'static [u8]>,
        Option<Vec<u8>>,
        ErrorKind,
        String,
    );

    #[rustfmt::skip]
    fn bad_cases() -> Vec<Bad> {
        use ErrorKind::*;
        // A valid order value (no order_id) with `name` set to the raw JSON `value`.
        let with = |name: &str, value: &str| -> Vec<u8> {
            let mut fields = vec![("ts", "0"), ("customer_id", r#""c""#), ("product_id", r#""p""#), ("quantity", "1"), ("price", "1")];
            match fields.iter_mut().find(|(n, _)| *n == name) {
                Some(field) => field.1 = value,
                None => fields.push((name, value)),
            }
            let body: Vec<String> = fields.iter().map(|(n, v)| format!("{n:?}:{v}")).collect();
            format!("{{{}}}", body.join(",")).into_bytes()
        };
        let o1: Option<&'static [u8]> = Some(b"o-1");
        let b = |bytes: &[u8]| Some(bytes.to_vec());
        type Row = (&'static str, InputTopic, Option<&'static [u8]>, Option<Vec<u8>>, ErrorKind, &'static str);
        let cases: Vec<Row> = vec![
            ("not JSON", Orders, o1, b(b"{nope"), NotJson, "value is not a JSON object"),
            ("array value", Orders, o1, b(b"[1,2]"), NotJson, "value is not a JSON object"),
            ("JSON null value", Orders, o1, b(b"null"), NotJson, "value is not a JSON object"),
            ("trailing garbage", Orders, o1, b(b"{} x"), NotJson, "value is not a JSON object"),
            ("invalid UTF-8 in value", Orders, o1, b(b"{\"ts\":\"\xff\"}"), InvalidUtf8, "value is not valid UTF-8"),
            ("invalid UTF-8 in key", Orders, Some(b"o-\xc3"), b(GOOD_ORDER.as_bytes()), InvalidUtf8, "key is not valid UTF-8"),
            ("too large", Orders, None, Some(vec![b' '; (1 << 20) + 1]), TooLarge,
             "value is 1048577 bytes, over the 1048576-byte limit (--max-record-bytes)"),
            ("quantity 0", Orders, o1, Some(with("quantity", "0")), BadField, "quantity must be at least 1"),
            ("quantity 2.5", Orders, o1, Some(with("quantity", "2.5")), BadField, "quantity must be an integer"),
            ("quantity \"2.5\"", Orders, o1, Some(with("quantity", r#""2.5""#)), BadField, "quantity must be an integer"),
            ("quantity true", Orders, o1, Some(with("quantity", "true")), BadField, "quantity must be an integer"),
            ("negative price", Orders, o1, Some(with("price", "-0.01")), BadField, "price must not be negative"),
            ("price with 7 decimals", Orders, o1, Some(with("price", r#""1.0000001""#)), BadField,
             "price has more than 6 decimal places"),
            ("price not a number", Orders, o1, Some(with("price", r#""1,50""#)), BadField, "price must be a decimal number"),
            ("price beyond i64", Orders, o1, Some(with("price", "1e300")), BadField, "price is out of range"),
            ("price given twice", Orders, o1, Some(with("unitPrice", "2")), BadField,
             r#"price is given twice (as "price" and "unitPrice")"#),
            ("bad ts", Orders, o1, Some(with("ts", r#""yesterday""#)), BadField,
             "ts must be RFC 3339 with an offset or integer epoch milliseconds"),
            ("ts without offset", Orders, o1, Some(with("ts", r#""2026-11-22T10:00:00""#)), BadField, "ts must be RFC 3339"),
            ("fractional epoch ms", Orders, o1, Some(with("ts", "1.5")), BadField, "ts must be RFC 3339"),
            ("order key mismatch", Orders, o1, Some(with("order_id", r#""o-2""#)), KeyMismatch,
             r#"order_id "o-2" does not match the record key "o-1""#),
            ("a camelCase mismatch names the spec field", Orders, o1, Some(with("orderId", "2")), KeyMismatch,
             r#"order_id "2" does not match"#),
            ("float id", Orders, o1, Some(with("customer_id", "4.5")), BadField, "customer_id must be a string or an integer"),
            ("object id", Orders, o1, Some(with("product_id", r#"{"id":1}"#)), BadField, "product_id must be a string or an integer"),
            ("empty id", Orders, o1, Some(with("customer_id", r#""""#)), BadField, "customer_id must not be empty"),
            ("no key and no id", Orders, None, Some(with("ip", r#""1.2.3.4""#)), MissingField,
             "order_id is missing and the record has no key"),
            ("bad currency", Orders, o1, Some(with("currency", r#""EURO""#)), BadField,
             r#"currency "EURO" is not a three-letter currency code"#),
            ("a number for a string field", Orders, o1, Some(with("ip", "10")), BadField, "ip must be a string"),
            ("tombstone without key", Orders, None, None, MissingKey, "a tombstone (null value) needs a key"),
            ("tombstone with an empty key", Customers, Some(b""), b(b""), MissingKey, "needs a key"),
            ("fractional age", Customers, Some(b"c"), b(br#"{"age":33.5}"#), BadField, "age must be an integer"),
            ("country as a number", Customers, Some(b"c"), b(br#"{"country":49}"#), BadField, "country must be a string"),
            ("customer key mismatch", Customers, Some(b"1"), b(br#"{"customerId":2}"#), KeyMismatch,
             r#"customer_id "2" does not match the record key "1""#),
            ("product negative price", Products, Some(b"p"), b(br#"{"price":"-1"}"#), BadField, "price must not be negative"),
            ("rate 0", FxRates, Some(b"EUR"), b(br#"{"currency":"EUR","rate":"0"}"#), BadField, "rate must be greater than 0"),
            ("rate missing", FxRates, Some(b"EUR"), b(br#"{"currency":"EUR"}"#), MissingField, "rate is missing"),
            ("rate with 11 decimals", FxRates, Some(b"EUR"), b(br#"{"rate":"1.00000000001"}"#), BadField,
             "rate has more than 10 decimal places"),
            ("fx key mismatch", FxRates, Some(b"EUR"), b(br#"{"currency":"GBP","rate":"1.2"}"#), KeyMismatch,
             r#"currency "GBP" does not match the record key "EUR""#),
            ("fx key not a currency", FxRates, Some(b"EURO"), b(br#"{"rate":"1.2"}"#), BadField,
             r#"key "EURO" is not a three-letter currency code"#),
            ("fx tombstone keyed by a non-currency", FxRates, Some(b"12"), None, BadField, r#"key "12""#),
            ("fx with no key and no currency", FxRates, None, b(br#"{"rate":"1.2"}"#), MissingField, "currency is missing"),
            ("on_hand negative", Inventory, Some(b"p"), b(br#"{"on_hand":-1,"as_of":0}"#), BadField, "on_hand must not be negative"),
            ("as_of missing", Inventory, Some(b"p"), b(br#"{"onHand":1}"#), MissingField, "as_of is missing"),
            ("reorder_point fractional", Inventory, Some(b"p"), b(br#"{"on_hand":1,"as_of":0,"reorderPoint":0.5}"#),
             BadField, "reorder_point must be an integer"),
        ];
        let mut out: Vec<Bad> = cases
            .into_iter()
            .map(|(what, topic, key, value, kind, needle)| (what.to_string(), topic, key, value, kind, needle.to_string()))
            .collect();
        for field in ["ts", "customer_id", "product_id", "quantity", "price"] {
            out.push((format!("{field} missing"), Orders, o1, Some(order_without(field).into_bytes()),
                      MissingField, format!("{field} is missing")));
        }
        out
    }

    #[test]
    fn bad_records_are_refused_with_a_sentence_naming_the_field() {
        for (what, topic, key, value, kind, needle) in bad_cases() {
            let err = decode(topic, key, value.as_deref(), &cfg()).expect_err(&what);
            assert_eq!(err.kind, kind, "{what}: {}", err.message);
            assert!(
                err.message.contains(&needle),
                "{what}: {:?} does not contain {needle:?}",
                err.message
            );
        }
    }

    #[test]
    fn missing_field_messages_are_plain_sentences() {
        let value = order_without("ts");
        let err = decode(Orders, Some(b"o-1"), Some(value.as_bytes()), &cfg());
        assert_eq!(err.map_err(|e| e.message), Err("ts is missing".to_string()));
    }

    #[test]
    fn size_limit_counts_key_and_value() {
        let config = DecodeConfig {
            max_record_bytes: 10,
            ..cfg()
        };
        let err = decode(Orders, Some(b"123456"), Some(b"{\"a\":1}"), &config)
            .expect_err("over the limit");
        assert_eq!(err.kind, ErrorKind::TooLarge);
        assert_eq!(
            err.message,
            "key and value are 13 bytes, over the 10-byte limit (--max-record-bytes)"
        );
        // Exactly at the limit is fine.
        let at_limit = decode(Orders, Some(b"123"), Some(b"{\"a\":1}"), &config);
        assert_ne!(at_limit.map_err(|e| e.kind), Err(ErrorKind::TooLarge));
    }

    #[test]
    fn long_producer_text_is_cut_in_messages() {
        let id = "x".repeat(10_000);
        let value = format!(r#"{{"order_id":"{id}"}}"#);
        let err =
            decode(Orders, Some(b"o-1"), Some(value.as_bytes()), &cfg()).expect_err("mismatch");
        assert_eq!(err.kind, ErrorKind::KeyMismatch);
        assert!(err.message.len() < 200, "{}", err.message);
    }

    #[test]
    fn error_kinds_serialize_like_as_str() {
        for kind in ErrorKind::ALL {
            let json = serde_json::to_string(&kind).expect("serializable");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        let err = DecodeError::new(ErrorKind::BadField, "price is bad");
        assert_eq!(err.to_string(), "price is bad");
    }

    #[test]
    fn fixed_point_parsing_is_exact() {
        let ok = parse_fixed;
        assert_eq!(ok("19.99", 6), Ok(19_990_000));
        assert_eq!(ok("0.1", 10), Ok(1_000_000_000));
        assert_eq!(ok("-0", 6), Ok(0));
        assert_eq!(ok("000.000", 0), Ok(0));
        assert_eq!(
            ok("1.50000000000000000000000000000000000", 6),
            Ok(1_500_000)
        );
        assert_eq!(ok("1e-6", 6), Ok(1));
        assert_eq!(ok("12E+2", 0), Ok(1200));
        assert_eq!(ok("+5", 0), Ok(5));
        assert_eq!(ok(".5", 1), Ok(5));
        assert_eq!(ok("5.", 0), Ok(5));
        assert_eq!(ok("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(ok("-9223372036854775808", 0), Ok(i64::MIN));
        assert_eq!(ok("9223372036854775808", 0), Err(NumError::OutOfRange));
        assert_eq!(ok("1e999999999999999999999", 0), Err(NumError::OutOfRange));
        assert_eq!(ok("1e-999999999999999999999", 6), Err(NumError::TooPrecise));
        assert_eq!(ok("0e999999999999999999999", 6), Ok(0));
        assert_eq!(ok("1.0000001", 6), Err(NumError::TooPrecise));
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1_000", "0x10", "NaN", "1.2.3", " 1", "--1",
        ] {
            assert_eq!(ok(bad, 6), Err(NumError::NotNumber), "{bad:?}");
        }
    }

    /// A tiny deterministic generator (xorshift64*), so the test needs no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn decoding_never_panics() {
        #[rustfmt::skip]
        const PIECES: &[&str] = &[
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "d800", "null", "true", "-", "0", "1", "9",
            ".", "e", "E+", "1e999", "\"order_id\"", "\"orderId\"", "\"ts\"", "\"price\"", "\"unitPrice\"",
            "\"quantity\"", "\"rate\"", "\"currency\"", "\"on_hand\"", "\"as_of\"", "\"age\"",
            "\"2026-11-22T10:00:00+02:00\"", "\"EUR\"", "\"1.0842\"", " ", "é",
        ];
        const MUTATIONS: &[u8] = b"0123456789.-eE\"{}[],: aZ";
        let seeds = [GOOD_ORDER, r#"{"currency":"EUR","rate":"1.0842"}"#];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..600 {
            let mut bytes: Vec<u8> = Vec::new();
            match round % 3 {
                // Raw noise, invalid UTF-8 included.
                0 => (0..rng.below(40)).for_each(|_| bytes.push(rng.next() as u8)),
                // JSON-ish fragments glued at random.
                1 => (0..rng.below(30)).for_each(|_| {
                    bytes.extend_from_slice(PIECES[rng.below(PIECES.len())].as_bytes())
                }),
                // A good record with a few bytes replaced, to reach the field coercions.
                _ => {
                    bytes.extend_from_slice(seeds[rng.below(seeds.len())].as_bytes());
                    for _ in 0..1 + rng.below(3) {
                        let at = rng.below(bytes.len());
                        bytes[at] = MUTATIONS[rng.below(MUTATIONS.len())];
                    }
                }
            }
            let key: Option<Vec<u8>> = match rng.below(4) {
                0 => None,
                1 => Some(b"o-1".to_vec()),
                2 => Some(b"EUR".to_vec()),
                _ => Some((0..rng.below(6)).map(|_| rng.next() as u8).collect()),
            };
            for topic in InputTopic::ALL {
                // Any result is fine; the test is that there is one.
                let _ = decode(topic, key.as_deref(), Some(&bytes), &cfg());
            }
        }
    }
}
