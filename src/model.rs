//! The business records salesflow reads and the exact money they carry.
//!
//! Plain data only: every type derives `Ord + Hash + Serialize + Deserialize`, so it can live in a
//! differential collection and cross worker processes. Money never touches binary floating point:
//! prices, rates and sums are fixed-point integers, rounded to cents only when a row is written.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The multiplicity of a record in a collection.
pub type Diff = isize;

/// Event time of an order or stock count: milliseconds since the Unix epoch, UTC.
pub type EventTime = i64;

/// The text of an id as producers send it: `42` and `"42"` are the same id.
///
/// Ids compare by their bytes, which is all arrangements need; rankings break ties in
/// [`ReadingOrder`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id(SmolStr);

impl Id {
    pub fn new(text: impl AsRef<str>) -> Self {
        Id(SmolStr::new(text.as_ref()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits only, no leading zero (except `"0"` itself): the text of a JSON integer id.
    fn is_canonical_number(&self) -> bool {
        let bytes = self.0.as_bytes();
        !bytes.is_empty()
            && bytes.iter().all(u8::is_ascii_digit)
            && (bytes.len() == 1 || bytes[0] != b'0')
    }
}

/// Ids in the order people read them: canonical non-negative integers (`"7"`, `"42"`) first, in
/// numeric order, then every other id in byte order. "Ties by smaller product_id" uses this, so
/// `9` ranks before `10`, and it stays a total order over mixed ids.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadingOrder<I>(pub I);

impl<I: AsRef<Id> + Eq> Ord for ReadingOrder<I> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_ref(), other.0.as_ref());
        match (a.is_canonical_number(), b.is_canonical_number()) {
            // Equal-length digit strings without leading zeros compare like their numbers.
            (true, true) => (a.0.len(), a.as_str()).cmp(&(b.0.len(), b.as_str())),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.as_str().cmp(b.as_str()),
        }
    }
}

impl<I: AsRef<Id> + Eq> PartialOrd for ReadingOrder<I> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl AsRef<Id> for Id {
    fn as_ref(&self) -> &Id {
        self
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub Id);

        impl $name {
            pub fn new(text: impl AsRef<str>) -> Self {
                $name(Id::new(text))
            }
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl AsRef<Id> for $name {
            fn as_ref(&self) -> &Id {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_newtype!(
    /// The key of the `orders` topic.
    OrderId
);
id_newtype!(
    /// The key of the `customers` topic.
    CustomerId
);
id_newtype!(
    /// The key of the `products` and `inventory` topics.
    ProductId
);

/// An ISO 4217 currency code, three upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Accepts three ASCII letters in any case; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.trim().as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some(Currency([
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // Only `parse` builds a Currency, and it admits ASCII letters alone.
        std::str::from_utf8(&self.0).expect("a currency code is ASCII")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit price in its own currency, in millionths (6 decimal places, exact).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Price(pub i64);

impl Price {
    /// Decimal places a price may carry; more is bad input rather than a silent rounding.
    pub const SCALE: u32 = 6;
}

/// How many units of the base currency one unit of a currency is worth, in 1e-10 (exact).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rate(pub i64);

impl Rate {
    /// Decimal places a rate may carry: enough for every published reference rate.
    pub const SCALE: u32 = 10;
    /// The base currency's own rate.
    pub const ONE: Rate = Rate(10_000_000_000);
}

/// An amount in an order's own currency, in millionths (quantity x `Price`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Native(pub i128);

impl Native {
    pub fn of(quantity: i64, price: Price) -> Self {
        Native(i128::from(quantity) * i128::from(price.0))
    }

    /// Converts to the base currency. Exact: the scales multiply (1e-6 x 1e-10 = 1e-16).
    pub fn convert(self, rate: Rate) -> Money {
        Money(self.0 * i128::from(rate.0))
    }

    /// The amount in this currency, in cents, half away from zero.
    pub fn cents(self) -> i128 {
        div_round_half_away(self.0, 10_000)
    }
}

/// An amount in the base currency, in 1e-16 units (`Native` x `Rate`), exact under addition.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Money(pub i128);

impl Money {
    /// 1e-16 units per cent.
    const PER_CENT: i128 = 100_000_000_000_000;

    pub fn from_cents(cents: i128) -> Self {
        Money(cents * Self::PER_CENT)
    }

    /// The amount in cents, half away from zero.
    pub fn cents(self) -> i128 {
        div_round_half_away(self.0, Self::PER_CENT)
    }

    /// `self / count` in cents, half away from zero, rounded once from the exact amount.
    pub fn cents_per(self, count: i64) -> Option<i128> {
        (count != 0).then(|| div_round_half_away(self.0, Self::PER_CENT * i128::from(count)))
    }
}

/// `n / d` rounded to the nearest integer, halves away from zero. `d` must not be zero.
pub fn div_round_half_away(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d.abs() {
        q + if (n < 0) == (d < 0) { 1 } else { -1 }
    } else {
        q
    }
}

/// Formats cents as a decimal with exactly two places: `-1234` is `-12.34`.
pub fn format_cents(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Where an order is in its life. Cancelled and returned orders leave every sales figure.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Placed,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
    /// Any other status, kept as given; it counts as live.
    Other(SmolStr),
}

impl Status {
    /// Known statuses match in any case; anything else is kept verbatim.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "placed" => Status::Placed,
            "paid" => Status::Paid,
            "shipped" => Status::Shipped,
            "delivered" => Status::Delivered,
            "cancelled" => Status::Cancelled,
            "returned" => Status::Returned,
            _ => Status::Other(SmolStr::new(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Placed => "placed",
            Status::Paid => "paid",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::Returned => "returned",
            Status::Other(text) => text,
        }
    }

    /// Whether the order counts in sales figures.
    pub fn is_live(&self) -> bool {
        !matches!(self, Status::Cancelled | Status::Returned)
    }
}

/// One order, the value of the `orders` topic (its id is the key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Order {
    pub ts: EventTime,
    pub customer_id: CustomerId,
    pub product_id: ProductId,
    /// At least 1.
    pub quantity: i64,
    /// Unit price, at least 0.
    pub price: Price,
    pub currency: Currency,
    pub status: Status,
    pub payment_method: Option<SmolStr>,
    pub ip: Option<SmolStr>,
}

/// An order as the analyses pass it around. Every analysis reads the live orders, and timely
/// hands each extra reader of a stream its own copy: a copy of this is a pointer, not the order.
pub type SharedOrder = Arc<Order>;

impl Order {
    /// Quantity x unit price, in the order's currency.
    pub fn native_value(&self) -> Native {
        Native::of(self.quantity, self.price)
    }
}

/// One customer, the value of the `customers` topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Customer {
    pub gender: Option<SmolStr>,
    pub age: Option<i64>,
    pub country: Option<SmolStr>,
    pub name: Option<SmolStr>,
    pub email: Option<SmolStr>,
}

/// One product, the value of the `products` topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Product {
    pub name: Option<SmolStr>,
    pub category: Option<SmolStr>,
    pub brand: Option<SmolStr>,
    pub price: Option<Price>,
}

/// A stock count, the value of the `inventory` topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockCount {
    pub on_hand: i64,
    pub as_of: EventTime,
    pub reorder_point: i64,
}

/// Sales figures of a group: the diff that every sales aggregation accumulates.
///
/// `revenue` is in the base currency; `native` is the unconverted amount, kept only where a group
/// has one currency (`sales_by_currency`), and zero elsewhere.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Figures {
    pub orders: i64,
    pub units: i64,
    pub revenue: Money,
    pub native: Native,
}

impl Figures {
    /// One order's contribution before currency conversion.
    pub fn of_order(order: &Order) -> Self {
        Figures {
            orders: 1,
            units: order.quantity,
            revenue: Money(0),
            native: order.native_value(),
        }
    }
}

/// A customer's gender as the segment reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Gender {
    F,
    M,
    Other,
    Unknown,
}

impl Gender {
    /// `f`/`female` and `m`/`male` in any case; other non-empty text is `other`.
    pub fn of(text: Option<&str>) -> Self {
        match text.map(str::trim) {
            None | Some("") => Gender::Unknown,
            Some(t) if t.eq_ignore_ascii_case("f") || t.eq_ignore_ascii_case("female") => Gender::F,
            Some(t) if t.eq_ignore_ascii_case("m") || t.eq_ignore_ascii_case("male") => Gender::M,
            Some(_) => Gender::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::F => "F",
            Gender::M => "M",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }
}

/// A customer's age band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgeBand {
    Under18,
    From18To24,
    From25To34,
    From35To44,
    From45To54,
    From55To64,
    From65,
    Unknown,
}

impl AgeBand {
    /// Ages outside 0..=120 are taken as data errors and reported as `unknown`.
    pub fn of(age: Option<i64>) -> Self {
        match age {
            Some(a @ 0..=120) => match a {
                0..=17 => AgeBand::Under18,
                18..=24 => AgeBand::From18To24,
                25..=34 => AgeBand::From25To34,
                35..=44 => AgeBand::From35To44,
                45..=54 => AgeBand::From45To54,
                55..=64 => AgeBand::From55To64,
                _ => AgeBand::From65,
            },
            _ => AgeBand::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AgeBand::Under18 => "<18",
            AgeBand::From18To24 => "18-24",
            AgeBand::From25To34 => "25-34",
            AgeBand::From35To44 => "35-44",
            AgeBand::From45To54 => "45-54",
            AgeBand::From55To64 => "55-64",
            AgeBand::From65 => "65+",
            AgeBand::Unknown => "unknown",
        }
    }
}

/// The text of an optional dimension (country, category, payment method): `unknown` when missing.
pub fn dimension(text: Option<&SmolStr>) -> SmolStr {
    match text {
        Some(t) if !t.is_empty() => t.clone(),
        _ => SmolStr::new_static("unknown"),
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A UTC hour, as hours since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hour(pub i64);

/// A UTC day, as days since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Day(pub i64);

/// A UTC calendar month, as `year * 12 + (month - 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month(pub i64);

impl Hour {
    pub const MS: i64 = HOUR_MS;

    pub fn of(ts: EventTime) -> Self {
        Hour(ts.div_euclid(HOUR_MS))
    }

    /// Its first millisecond: every instant of an hour has the hour's day and month.
    pub fn start(self) -> EventTime {
        self.0 * HOUR_MS
    }

    /// `2026-11-22T10:00:00Z`
    pub fn label(self) -> String {
        utc(self.0 * HOUR_MS)
            .format("%Y-%m-%dT%H:00:00Z")
            .to_string()
    }
}

impl Day {
    pub fn of(ts: EventTime) -> Self {
        Day(ts.div_euclid(DAY_MS))
    }

    /// `2026-11-22`
    pub fn label(self) -> String {
        utc(self.0 * DAY_MS).format("%Y-%m-%d").to_string()
    }
}

impl Month {
    pub fn of(ts: EventTime) -> Self {
        use chrono::Datelike;
        let date = utc(ts);
        Month(i64::from(date.year()) * 12 + i64::from(date.month0()))
    }

    /// `2026-11`
    pub fn label(self) -> String {
        format!(
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }
}

/// `2026-11-22T10:10:00Z`: an instant to the second, as bucket bounds are written.
pub fn seconds_label(ts: EventTime) -> String {
    utc(ts).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2026-11-22T10:10:00.000Z`: an instant to the millisecond, as stock counts are written.
pub fn millis_label(ts: EventTime) -> String {
    utc(ts).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The UTC date-time of an event time. Times beyond chrono's range (±262,000 years) clamp to it;
/// the decoder never produces them from RFC 3339, only from absurd epoch-ms integers.
fn utc(ts: EventTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ts).unwrap_or(if ts < 0 {
        chrono::DateTime::<chrono::Utc>::MIN_UTC
    } else {
        chrono::DateTime::<chrono::Utc>::MAX_UTC
    })
}

/// One applied input record: the key and its new value, or `None` for a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Change {
    Order(OrderId, Option<Order>),
    Customer(CustomerId, Option<Customer>),
    Product(ProductId, Option<Product>),
    Rate(Currency, Option<Rate>),
    Stock(ProductId, Option<StockCount>),
}

/// The five input topics, by their role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InputTopic {
    Orders,
    Customers,
    Products,
    FxRates,
    Inventory,
}

impl InputTopic {
    pub const ALL: [InputTopic; 5] = [
        InputTopic::Orders,
        InputTopic::Customers,
        InputTopic::Products,
        InputTopic::FxRates,
        InputTopic::Inventory,
    ];

    /// The default topic name (before any `--topic-prefix`).
    pub fn default_name(self) -> &'static str {
        match self {
            InputTopic::Orders => "orders",
            InputTopic::Customers => "customers",
            InputTopic::Products => "products",
            InputTopic::FxRates => "fx_rates",
            InputTopic::Inventory => "inventory",
        }
    }
}

/// Every output topic, by its default name (before any `--topic-prefix`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OutputTopic {
    SalesTotal,
    SalesByCategory,
    SalesBySegment,
    SalesByCountry,
    SalesByPaymentMethod,
    SalesByCurrency,
    SalesByHour,
    SalesByDay,
    SalesByMonth,
    SalesByCustomer,
    OrdersByStatus,
    TopProductsByUnits,
    TopProductsByRevenue,
    TopProductsLastHour,
    StockLevels,
    Alerts,
    DataQuality,
    /// Bad input records, appended as they are found (not a change stream).
    DeadLetters,
}

impl OutputTopic {
    /// The analyses' change streams, in the order SPEC §4 lists them.
    pub const ANALYSES: [OutputTopic; 17] = [
        OutputTopic::SalesTotal,
        OutputTopic::SalesByCategory,
        OutputTopic::SalesBySegment,
        OutputTopic::SalesByCountry,
        OutputTopic::SalesByPaymentMethod,
        OutputTopic::SalesByCurrency,
        OutputTopic::SalesByHour,
        OutputTopic::SalesByDay,
        OutputTopic::SalesByMonth,
        OutputTopic::SalesByCustomer,
        OutputTopic::OrdersByStatus,
        OutputTopic::TopProductsByUnits,
        OutputTopic::TopProductsByRevenue,
        OutputTopic::TopProductsLastHour,
        OutputTopic::StockLevels,
        OutputTopic::Alerts,
        OutputTopic::DataQuality,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OutputTopic::SalesTotal => "sales_total",
            OutputTopic::SalesByCategory => "sales_by_category",
            OutputTopic::SalesBySegment => "sales_by_segment",
            OutputTopic::SalesByCountry => "sales_by_country",
            OutputTopic::SalesByPaymentMethod => "sales_by_payment_method",
            OutputTopic::SalesByCurrency => "sales_by_currency",
            OutputTopic::SalesByHour => "sales_by_hour",
            OutputTopic::SalesByDay => "sales_by_day",
            OutputTopic::SalesByMonth => "sales_by_month",
            OutputTopic::SalesByCustomer => "sales_by_customer",
            OutputTopic::OrdersByStatus => "orders_by_status",
            OutputTopic::TopProductsByUnits => "top_products_by_units",
            OutputTopic::TopProductsByRevenue => "top_products_by_revenue",
            OutputTopic::TopProductsLastHour => "top_products_last_hour",
            OutputTopic::StockLevels => "stock_levels",
            OutputTopic::Alerts => "alerts",
            OutputTopic::DataQuality => "data_quality",
            OutputTopic::DeadLetters => "dead_letters",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_order_by_value_before_other_ids() {
        let mut ids: Vec<ReadingOrder<Id>> = ["p10", "10", "9", "p9", "0", "007", "a"]
            .iter()
            .map(|t| ReadingOrder(Id::new(t)))
            .collect();
        ids.sort();
        let order: Vec<&str> = ids.iter().map(|id| id.0.as_str()).collect();
        assert_eq!(order, ["0", "9", "10", "007", "a", "p10", "p9"]);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round_half_away(5, 10), 1);
        assert_eq!(div_round_half_away(-5, 10), -1);
        assert_eq!(div_round_half_away(4, 10), 0);
        assert_eq!(div_round_half_away(-15, 10), -2);
        assert_eq!(div_round_half_away(14, -10), -1);
        assert_eq!(format_cents(-1234), "-12.34");
        assert_eq!(format_cents(5), "0.05");
    }

    #[test]
    fn money_converts_exactly_and_rounds_once() {
        // 3 x 19.99 EUR at 1.0842 = 65.019558 USD -> 65.02
        let native = Native::of(3, Price(19_990_000));
        let money = native.convert(Rate(10_842_000_000));
        assert_eq!(money.cents(), 6502);
        // Average per unit is rounded from the exact sum, not from the rounded one: 21.673186 -> 21.67
        assert_eq!(money.cents_per(3), Some(2167));
        assert_eq!(money.cents_per(0), None);
    }

    #[test]
    fn buckets_are_utc_and_labelled_like_the_spec() {
        // 2026-11-22T10:59:59.999+02:00 is 08:59:59.999Z
        let ts = 1_795_337_999_999;
        assert_eq!(Hour::of(ts).label(), "2026-11-22T08:00:00Z");
        assert_eq!(Day::of(ts).label(), "2026-11-22");
        assert_eq!(Month::of(ts).label(), "2026-11");
        assert_eq!(Day::of(-1).label(), "1969-12-31");
        assert_eq!(Month::of(-1).label(), "1969-12");
    }

    #[test]
    fn dimensions_follow_the_spec() {
        assert_eq!(Gender::of(Some("Female")), Gender::F);
        assert_eq!(Gender::of(Some("m")), Gender::M);
        assert_eq!(Gender::of(Some("x")), Gender::Other);
        assert_eq!(Gender::of(Some("")), Gender::Unknown);
        assert_eq!(AgeBand::of(Some(17)).as_str(), "<18");
        assert_eq!(AgeBand::of(Some(65)).as_str(), "65+");
        assert_eq!(AgeBand::of(Some(121)).as_str(), "unknown");
        assert_eq!(AgeBand::of(Some(-1)).as_str(), "unknown");
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(
            Currency::parse("eur").map(|c| c.to_string()),
            Some("EUR".into())
        );
        assert_eq!(Currency::parse("EURO"), None);
        assert_eq!(Currency::parse("E1R"), None);
    }
}
