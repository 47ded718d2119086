//! The oracle: every output table recomputed from scratch, with plain loops, straight from SPEC §3–4.
//!
//! It shares nothing with the crate under test: its own record types, exact money in
//! `rust_decimal`, its own JSON writing and its own id order. The current state is the last good
//! record of every key of every input topic; each table is one small function of that state.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// Output topic -> compact key JSON -> compact value JSON. Topics with no rows are absent.
pub type Tables = BTreeMap<String, BTreeMap<String, String>>;

/// The currency every figure is reported in; its rate is 1 whether or not `fx_rates` names it.
pub const BASE_CURRENCY: &str = "USD";

/// How many products each `top_products_*` table keeps.
const TOP_N: usize = 10;

/// The width of the `top_products_last_hour` window.
const HOUR_MS: i64 = 3_600_000;

/// Every table the oracle computes, in the order of SPEC §4.
pub const TOPICS: [&str; 14] = [
    "sales_total",
    "sales_by_category",
    "sales_by_segment",
    "sales_by_country",
    "sales_by_payment_method",
    "sales_by_currency",
    "sales_by_hour",
    "sales_by_day",
    "sales_by_month",
    "sales_by_customer",
    "orders_by_status",
    "top_products_by_units",
    "top_products_by_revenue",
    "top_products_last_hour",
];

/// An order as its producer meant it (SPEC §1).
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Event time, milliseconds since the Unix epoch.
    pub ts_ms: i64,
    pub customer_id: String,
    pub product_id: String,
    pub quantity: u32,
    /// Unit price in the order's currency.
    pub price: Decimal,
    /// `None`: the base currency.
    pub currency: Option<String>,
    /// `None`: `placed`.
    pub status: Option<String>,
    pub payment_method: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub gender: Option<String>,
    pub age: Option<i64>,
    pub country: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub name: Option<String>,
    pub category: Option<String>,
}

/// One good input record: a key and its new value, or `None` for a tombstone.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Order(String, Option<Order>),
    Customer(String, Option<Customer>),
    Product(String, Option<Product>),
    /// Currency code -> units of the base currency per unit of that currency.
    Rate(String, Option<Decimal>),
}

/// The current value of every key of every input topic.
#[derive(Clone, Debug, Default)]
pub struct State {
    orders: BTreeMap<String, Order>,
    customers: BTreeMap<String, Customer>,
    products: BTreeMap<String, Product>,
    rates: BTreeMap<String, Decimal>,
}

/// The tables after applying `updates` in order to empty inputs.
pub fn oracle<'a>(updates: impl IntoIterator<Item = &'a Update>) -> Tables {
    let mut state = State::default();
    for update in updates {
        state.apply(update);
    }
    state.tables()
}

impl State {
    /// Upsert: the latest record of a key is its value; a tombstone removes the key.
    pub fn apply(&mut self, update: &Update) {
        fn upsert<V: Clone>(table: &mut BTreeMap<String, V>, key: &str, value: &Option<V>) {
            match value {
                Some(value) => table.insert(key.to_owned(), value.clone()),
                None => table.remove(key),
            };
        }
        match update {
            Update::Order(id, order) => upsert(&mut self.orders, id, order),
            Update::Customer(id, customer) => upsert(&mut self.customers, id, customer),
            Update::Product(id, product) => upsert(&mut self.products, id, product),
            Update::Rate(currency, rate) => upsert(&mut self.rates, currency, rate),
        }
    }

    /// Every output table of the current state.
    pub fn tables(&self) -> Tables {
        let sales = self.sales();
        let live: Vec<&Sale> = sales.iter().filter(|sale| sale.is_live()).collect();
        let tables = [
            ("sales_total", sales_total(&live)),
            ("sales_by_category", sales_by_category(&live)),
            ("sales_by_segment", sales_by_segment(&live)),
            ("sales_by_country", sales_by_country(&live)),
            ("sales_by_payment_method", sales_by_payment_method(&live)),
            ("sales_by_currency", sales_by_currency(&live)),
            ("sales_by_hour", sales_by_hour(&live)),
            ("sales_by_day", sales_by_day(&live)),
            ("sales_by_month", sales_by_month(&live)),
            ("sales_by_customer", sales_by_customer(&live)),
            ("orders_by_status", orders_by_status(&sales)),
            ("top_products_by_units", top_products_by_units(&live)),
            ("top_products_by_revenue", top_products_by_revenue(&live)),
            ("top_products_last_hour", top_products_last_hour(&sales)),
        ];
        tables
            .into_iter()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(topic, rows)| (topic.to_owned(), rows))
            .collect()
    }

    /// Every current order, left-joined with its customer, product and rate.
    fn sales(&self) -> Vec<Sale<'_>> {
        self.orders
            .values()
            .map(|order| {
                let currency = order.currency.as_deref().unwrap_or(BASE_CURRENCY);
                let native = Decimal::from(order.quantity) * order.price;
                Sale {
                    order,
                    customer: self.customers.get(&order.customer_id),
                    product: self.products.get(&order.product_id),
                    currency,
                    native,
                    value: self
                        .rate(currency)
                        .map_or(Decimal::ZERO, |rate| native * rate),
                }
            })
            .collect()
    }

    /// The base currency is worth 1; any other currency is worth its current rate, if any.
    fn rate(&self, currency: &str) -> Option<Decimal> {
        if currency == BASE_CURRENCY {
            Some(Decimal::ONE)
        } else {
            self.rates.get(currency).copied()
        }
    }
}

/// An order with everything the tables need to know about it.
struct Sale<'a> {
    order: &'a Order,
    customer: Option<&'a Customer>,
    product: Option<&'a Product>,
    currency: &'a str,
    /// quantity x price, in the order's currency.
    native: Decimal,
    /// `native` in the base currency; zero while the currency has no rate (unpriced).
    value: Decimal,
}

const UNKNOWN: &str = "unknown";

impl Sale<'_> {
    fn status(&self) -> String {
        let given = self.order.status.as_deref().unwrap_or("placed");
        let lower = given.to_ascii_lowercase();
        match lower.as_str() {
            "placed" | "paid" | "shipped" | "delivered" | "cancelled" | "returned" => lower,
            _ => given.to_owned(),
        }
    }

    fn is_live(&self) -> bool {
        !matches!(self.status().as_str(), "cancelled" | "returned")
    }

    fn category(&self) -> &str {
        category(self.product)
    }

    fn gender(&self) -> &str {
        let gender = self.customer.and_then(|c| c.gender.as_deref());
        match gender.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => UNKNOWN,
            Some("f" | "female") => "F",
            Some("m" | "male") => "M",
            Some(_) => "other",
        }
    }

    fn age_band(&self) -> &str {
        match self.customer.and_then(|c| c.age) {
            Some(0..=17) => "<18",
            Some(18..=24) => "18-24",
            Some(25..=34) => "25-34",
            Some(35..=44) => "35-44",
            Some(45..=54) => "45-54",
            Some(55..=64) => "55-64",
            Some(65..=120) => "65+",
            _ => UNKNOWN,
        }
    }

    fn country(&self) -> &str {
        given_or_unknown(self.customer.and_then(|c| c.country.as_deref()))
    }

    fn payment_method(&self) -> &str {
        given_or_unknown(self.order.payment_method.as_deref())
    }

    fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.order.ts_ms)
            .expect("generated ts is in chrono's range")
    }

    fn hour(&self) -> String {
        self.time().format("%Y-%m-%dT%H:00:00Z").to_string()
    }

    fn day(&self) -> String {
        self.time().format("%Y-%m-%d").to_string()
    }

    fn month(&self) -> String {
        self.time().format("%Y-%m").to_string()
    }
}

fn category(product: Option<&Product>) -> &str {
    product
        .and_then(|p| p.category.as_deref())
        .unwrap_or(UNKNOWN)
}

/// SPEC §3: as given, `unknown` when missing (an empty string is missing).
fn given_or_unknown(value: Option<&str>) -> &str {
    match value {
        None | Some("") => UNKNOWN,
        Some(value) => value,
    }
}

/// The sales figures of a group of live orders.
#[derive(Clone, Debug, Default)]
struct Figures {
    orders: u64,
    units: u64,
    revenue: Decimal,
}

impl Figures {
    fn of<'a>(sales: impl IntoIterator<Item = &'a Sale<'a>>) -> Self {
        let mut figures = Figures::default();
        for sale in sales {
            figures.add(sale);
        }
        figures
    }

    fn add(&mut self, sale: &Sale) {
        self.orders += 1;
        self.units += u64::from(sale.order.quantity);
        self.revenue += sale.value;
    }

    /// `"orders":N,"units":N,"revenue":M,"avg_unit_price":M,"avg_order_value":M`, averages rounded
    /// once from the exact revenue.
    fn write(&self, row: JsonObject) -> JsonObject {
        row.number("orders", self.orders)
            .number("units", self.units)
            .money("revenue", self.revenue)
            .money("avg_unit_price", self.revenue / Decimal::from(self.units))
            .money("avg_order_value", self.revenue / Decimal::from(self.orders))
    }
}

/// One row: the key fields (all strings) make the key; the value repeats them, then `rest`.
fn row(key: &[(&str, &str)], rest: impl FnOnce(JsonObject) -> JsonObject) -> (String, String) {
    let key_fields = || {
        key.iter().fold(JsonObject::new(), |object, (name, value)| {
            object.string(name, value)
        })
    };
    (key_fields().finish(), rest(key_fields()).finish())
}

/// Groups live orders by `group` and writes one `sales_*` row per group, keyed by `field`.
fn sales_by<'a>(
    live: &[&Sale<'a>],
    field: &str,
    group: impl Fn(&Sale<'a>) -> String,
) -> BTreeMap<String, String> {
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    for sale in live {
        groups.entry(group(sale)).or_default().add(sale);
    }
    groups
        .iter()
        .map(|(value, figures)| row(&[(field, value)], |row| figures.write(row)))
        .collect()
}

fn sales_total(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "scope", |_| "all".to_owned())
}

fn sales_by_category(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "category", |sale| sale.category().to_owned())
}

fn sales_by_segment(live: &[&Sale]) -> BTreeMap<String, String> {
    let mut groups: BTreeMap<(&str, &str), Figures> = BTreeMap::new();
    for sale in live {
        groups
            .entry((sale.gender(), sale.age_band()))
            .or_default()
            .add(sale);
    }
    groups
        .iter()
        .map(|((gender, age_band), figures)| {
            row(&[("gender", gender), ("age_band", age_band)], |row| {
                figures.write(row)
            })
        })
        .collect()
}

fn sales_by_country(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "country", |sale| sale.country().to_owned())
}

fn sales_by_payment_method(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "payment_method", |sale| {
        sale.payment_method().to_owned()
    })
}

/// Sales figures per order currency, plus the revenue in that currency, unconverted.
fn sales_by_currency(live: &[&Sale]) -> BTreeMap<String, String> {
    let mut groups: BTreeMap<&str, (Figures, Decimal)> = BTreeMap::new();
    for sale in live {
        let (figures, native) = groups.entry(sale.currency).or_default();
        figures.add(sale);
        *native += sale.native;
    }
    groups
        .iter()
        .map(|(currency, (figures, native))| {
            row(&[("currency", currency)], |row| {
                figures.write(row).money("revenue_native", *native)
            })
        })
        .collect()
}

fn sales_by_hour(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "hour", Sale::hour)
}

fn sales_by_day(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "day", Sale::day)
}

fn sales_by_month(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "month", Sale::month)
}

fn sales_by_customer(live: &[&Sale]) -> BTreeMap<String, String> {
    sales_by(live, "customer_id", |sale| sale.order.customer_id.clone())
}

/// Every current order, cancelled and returned too: count, units and base-currency value.
fn orders_by_status(sales: &[Sale]) -> BTreeMap<String, String> {
    let mut groups: BTreeMap<String, (u64, u64, Decimal)> = BTreeMap::new();
    for sale in sales {
        let (orders, units, value) = groups.entry(sale.status()).or_default();
        *orders += 1;
        *units += u64::from(sale.order.quantity);
        *value += sale.value;
    }
    groups
        .iter()
        .map(|(status, (orders, units, value))| {
            row(&[("status", status)], |row| {
                row.number("orders", *orders)
                    .number("units", *units)
                    .money("value", *value)
            })
        })
        .collect()
}

fn top_products_by_units(live: &[&Sale]) -> BTreeMap<String, String> {
    top_products(live, |a, b| b.units.cmp(&a.units))
}

fn top_products_by_revenue(live: &[&Sale]) -> BTreeMap<String, String> {
    top_products(live, |a, b| b.revenue.cmp(&a.revenue))
}

/// By units, over the live orders with ts in (W - 1h, W], W the latest ts of all current orders.
fn top_products_last_hour(sales: &[Sale]) -> BTreeMap<String, String> {
    let Some(latest) = sales.iter().map(|sale| sale.order.ts_ms).max() else {
        return BTreeMap::new();
    };
    let last_hour: Vec<&Sale> = sales
        .iter()
        .filter(|sale| sale.is_live())
        .filter(|sale| latest - HOUR_MS < sale.order.ts_ms && sale.order.ts_ms <= latest)
        .collect();
    top_products_by_units(&last_hour)
}

/// The `TOP_N` products of `live` orders first in `better` order, ties by smaller product_id.
fn top_products(
    live: &[&Sale],
    better: impl Fn(&Figures, &Figures) -> Ordering,
) -> BTreeMap<String, String> {
    // product_id -> the product (if known) and its figures.
    let mut products: BTreeMap<&str, (Option<&Product>, Figures)> = BTreeMap::new();
    for sale in live {
        let (_, figures) = products
            .entry(sale.order.product_id.as_str())
            .or_insert_with(|| (sale.product, Figures::default()));
        figures.add(sale);
    }
    let mut ranked: Vec<_> = products.into_iter().collect();
    ranked
        .sort_by(|(id_a, (_, a)), (id_b, (_, b))| better(a, b).then_with(|| id_order(id_a, id_b)));
    ranked
        .iter()
        .take(TOP_N)
        .zip(1..)
        .map(|((product_id, (product, figures)), rank)| {
            row(&[("product_id", product_id)], |row| {
                let row = row.number("rank", rank);
                let row = match product.and_then(|p| p.name.as_deref()) {
                    Some(name) => row.string("name", name),
                    None => row.raw("name", "null"),
                };
                figures.write(row.string("category", category(*product)))
            })
        })
        .collect()
}

/// "Smaller product_id": canonical non-negative integers first, by value; then every other id by
/// its bytes.
pub fn id_order(a: &str, b: &str) -> Ordering {
    fn is_canonical_integer(id: &str) -> bool {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'))
    }
    match (is_canonical_integer(a), is_canonical_integer(b)) {
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.as_bytes().cmp(b.as_bytes()),
    }
}

/// A compact JSON object, written field by field in order.
struct JsonObject(String);

impl JsonObject {
    fn new() -> Self {
        JsonObject(String::from("{"))
    }

    fn raw(mut self, name: &str, json: &str) -> Self {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&json_string(name));
        self.0.push(':');
        self.0.push_str(json);
        self
    }

    fn string(self, name: &str, value: &str) -> Self {
        self.raw(name, &json_string(value))
    }

    fn number(self, name: &str, value: u64) -> Self {
        self.raw(name, &value.to_string())
    }

    /// Rounded to cents, half away from zero, written with exactly two decimals.
    fn money(self, name: &str, amount: Decimal) -> Self {
        self.raw(name, &cents(amount))
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

/// `amount` rounded to cents, half away from zero: `65.02`, `0.50`, `12.00`.
pub fn cents(amount: Decimal) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{rounded:.2}")
}
