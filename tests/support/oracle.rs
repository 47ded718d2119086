//! The oracle: every output table recomputed from scratch, with plain loops, straight from SPEC §1–4.
//!
//! It shares nothing with the crate under test: its own record types, exact money in
//! `rust_decimal`, its own JSON writing and its own id order. The current state is the last good
//! record of every key of every input topic, plus a tally of every record consumed, good or bad;
//! each table is one small function of that state.

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

/// A burst alert lists at most this many of its order ids.
const LISTED_ORDERS: usize = 20;

/// Every table the oracle computes, in the order of SPEC §4.
pub const TOPICS: [&str; 17] = [
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
    "stock_levels",
    "alerts",
    "data_quality",
];

/// The input topics, by their default names (SPEC §1).
pub const INPUT_TOPICS: [&str; 5] = ["orders", "customers", "products", "fx_rates", "inventory"];

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
    /// `None` or `""`: not given.
    pub payment_method: Option<String>,
    /// `None` or `""`: not given.
    pub ip: Option<String>,
}

/// A customer; `None` or `""` in any field: not given.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub gender: Option<String>,
    pub age: Option<i64>,
    pub country: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A product; `None` or `""` in any text field: not given.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub name: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// The list price; no table reads it, but a change of it is a change of the product.
    pub price: Option<Decimal>,
}

/// A stock count of one product (SPEC §1, `inventory`).
#[derive(Clone, Debug, PartialEq)]
pub struct Stock {
    pub on_hand: i64,
    /// When the stock was counted, milliseconds since the Unix epoch.
    pub as_of_ms: i64,
    /// `None`: 0.
    pub reorder_point: Option<i64>,
}

/// One good input record: a key and its new value, or `None` for a tombstone.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Order(String, Option<Order>),
    Customer(String, Option<Customer>),
    Product(String, Option<Product>),
    /// Currency code -> units of the base currency per unit of that currency.
    Rate(String, Option<Decimal>),
    /// Product id -> its latest stock count.
    Stock(String, Option<Stock>),
}

impl Update {
    /// The input topic (default name) a record of this update is read from.
    pub fn topic(&self) -> &'static str {
        match self {
            Update::Order(..) => "orders",
            Update::Customer(..) => "customers",
            Update::Product(..) => "products",
            Update::Rate(..) => "fx_rates",
            Update::Stock(..) => "inventory",
        }
    }

    /// The key of the record.
    pub fn key(&self) -> &str {
        match self {
            Update::Order(key, _)
            | Update::Customer(key, _)
            | Update::Product(key, _)
            | Update::Rate(key, _)
            | Update::Stock(key, _) => key,
        }
    }

    pub fn is_tombstone(&self) -> bool {
        match self {
            Update::Order(_, value) => value.is_none(),
            Update::Customer(_, value) => value.is_none(),
            Update::Product(_, value) => value.is_none(),
            Update::Rate(_, value) => value.is_none(),
            Update::Stock(_, value) => value.is_none(),
        }
    }
}

/// The thresholds of the alert rules (SPEC §4, "Alerts").
#[derive(Clone, Debug)]
pub struct Rules {
    /// `high_value_order`: one live order worth at least this, in the base currency.
    pub high_value: Decimal,
    /// `ip_burst`: at least this many live orders from one ip in one bucket.
    pub ip_burst: usize,
    /// `customer_burst`: at least this many live orders of one customer in one bucket.
    pub customer_burst: usize,
    /// The width of the UTC-aligned buckets of both burst rules, in milliseconds.
    pub bucket_ms: i64,
}

impl Default for Rules {
    /// SPEC §4: 5,000.00; 5 orders; 5 orders; 10 minutes.
    fn default() -> Self {
        Rules {
            high_value: Decimal::new(5_000, 0),
            ip_burst: 5,
            customer_burst: 5,
            bucket_ms: 10 * 60_000,
        }
    }
}

/// What became of the records of one input topic so far (SPEC §2 and `data_quality`).
#[derive(Clone, Debug, Default)]
struct Tally {
    consumed: u64,
    applied: u64,
    dead_lettered: u64,
    tombstones: u64,
    duplicates: u64,
    /// Error kind -> dead-lettered records of that kind.
    errors: BTreeMap<String, u64>,
}

/// The current value of every key of every input topic, and what every topic has consumed.
#[derive(Clone, Debug, Default)]
pub struct State {
    rules: Rules,
    orders: BTreeMap<String, Order>,
    customers: BTreeMap<String, Customer>,
    products: BTreeMap<String, Product>,
    rates: BTreeMap<String, Decimal>,
    stock: BTreeMap<String, Stock>,
    /// Input topic -> its tally.
    tallies: BTreeMap<&'static str, Tally>,
    /// What the job puts before every topic name (`--topic-prefix`), as `data_quality` names
    /// the input topics.
    topic_prefix: String,
}

/// The tables after applying `updates` in order to empty inputs, with the SPEC's alert rules.
pub fn oracle<'a>(updates: impl IntoIterator<Item = &'a Update>) -> Tables {
    let mut state = State::default();
    for update in updates {
        state.apply(update);
    }
    state.tables()
}

impl State {
    /// Empty inputs, alerting by `rules`.
    pub fn new(rules: Rules) -> Self {
        State {
            rules,
            ..State::default()
        }
    }

    /// Input topics named with `prefix` before their default names (`--topic-prefix`).
    pub fn topic_prefix(self, prefix: &str) -> Self {
        State {
            topic_prefix: prefix.to_owned(),
            ..self
        }
    }

    /// A good record: upsert, so the latest record of a key is its value and a tombstone removes
    /// the key. It is counted as consumed and applied, and as a duplicate when it leaves its key's
    /// value as it was (a tombstone of an absent key included).
    pub fn apply(&mut self, update: &Update) {
        fn upsert<V: Clone>(
            table: &mut BTreeMap<String, V>,
            key: &str,
            value: &Option<V>,
            same: impl Fn(&V, &V) -> bool,
        ) -> bool {
            let unchanged = match (table.get(key), value) {
                (None, None) => true,
                (Some(old), Some(new)) => same(old, new),
                _ => false,
            };
            match value {
                Some(value) => table.insert(key.to_owned(), value.clone()),
                None => table.remove(key),
            };
            unchanged
        }
        let unchanged = match update {
            Update::Order(id, order) => upsert(&mut self.orders, id, order, Order::same),
            Update::Customer(id, customer) => {
                upsert(&mut self.customers, id, customer, Customer::same)
            }
            Update::Product(id, product) => upsert(&mut self.products, id, product, Product::same),
            // Decimals compare by value: 1.05 and 1.0500 are one rate.
            Update::Rate(currency, rate) => upsert(&mut self.rates, currency, rate, |a, b| a == b),
            Update::Stock(id, stock) => upsert(&mut self.stock, id, stock, Stock::same),
        };
        let tally = self.tallies.entry(update.topic()).or_default();
        tally.consumed += 1;
        tally.applied += 1;
        tally.tombstones += u64::from(update.is_tombstone());
        tally.duplicates += u64::from(unchanged);
    }

    /// A bad record of `topic` (a default input topic name), refused as `kind`: counted, nothing
    /// else changes.
    pub fn dead_letter(&mut self, topic: &str, kind: &str) {
        let topic = INPUT_TOPICS
            .into_iter()
            .find(|name| *name == topic)
            .unwrap_or_else(|| panic!("{topic} is not an input topic"));
        let tally = self.tallies.entry(topic).or_default();
        tally.consumed += 1;
        tally.dead_lettered += 1;
        *tally.errors.entry(kind.to_owned()).or_default() += 1;
    }

    /// Every output table of the current state.
    pub fn tables(&self) -> Tables {
        let sales = self.sales();
        let live: Vec<&Sale> = sales.iter().filter(|sale| sale.is_live()).collect();
        let levels = self.stock_levels(&live);
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
            ("stock_levels", stock_levels(&levels)),
            ("alerts", alerts(&live, &levels, &self.rules)),
            ("data_quality", self.data_quality(&live)),
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
            .iter()
            .map(|(id, order)| {
                let currency = order.currency();
                let native = Decimal::from(order.quantity) * order.price;
                let rate = self.rate(currency);
                Sale {
                    id,
                    order,
                    customer: self.customers.get(&order.customer_id),
                    product: self.products.get(&order.product_id),
                    currency,
                    native,
                    rate,
                    value: rate.map_or(Decimal::ZERO, |rate| native * rate),
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

    /// Per product with a stock count: the count less the units of live orders since it.
    fn stock_levels<'a>(&'a self, live: &[&Sale]) -> Vec<Level<'a>> {
        self.stock
            .iter()
            .map(|(product_id, stock)| {
                let sold_since: i64 = live
                    .iter()
                    .filter(|sale| &sale.order.product_id == product_id)
                    .filter(|sale| sale.order.ts_ms >= stock.as_of_ms)
                    .map(|sale| i64::from(sale.order.quantity))
                    .sum();
                let available = stock.on_hand - sold_since;
                let reorder_point = stock.reorder_point.unwrap_or(0);
                Level {
                    product_id,
                    stock,
                    reorder_point,
                    sold_since,
                    available,
                    low_stock: available <= reorder_point,
                }
            })
            .collect()
    }

    /// One row per input topic that has consumed a record; the orders row also judges the live
    /// orders as they stand now.
    fn data_quality(&self, live: &[&Sale]) -> BTreeMap<String, String> {
        self.tallies
            .iter()
            .filter(|(_, tally)| tally.consumed > 0)
            .map(|(topic, tally)| {
                let name = format!("{}{topic}", self.topic_prefix);
                row(&[("source_topic", &name)], |row| {
                    let errors = tally
                        .errors
                        .iter()
                        .filter(|(_, count)| **count > 0)
                        .fold(JsonObject::new(), |errors, (kind, count)| {
                            errors.number(kind, *count)
                        });
                    let row = row
                        .number("consumed", tally.consumed)
                        .number("applied", tally.applied)
                        .number("dead_lettered", tally.dead_lettered)
                        .number("tombstones", tally.tombstones)
                        .number("duplicates", tally.duplicates)
                        .raw("errors", &errors.finish());
                    if *topic != "orders" {
                        return row;
                    }
                    let orphans = live
                        .iter()
                        .filter(|sale| sale.customer.is_none() || sale.product.is_none())
                        .count();
                    let unpriced = live.iter().filter(|sale| sale.rate.is_none()).count();
                    row.number("orphans", orphans as u64)
                        .number("unpriced", unpriced as u64)
                })
            })
            .collect()
    }
}

/// `None` and `""` both mean "not given".
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

impl Order {
    fn currency(&self) -> &str {
        self.currency.as_deref().unwrap_or(BASE_CURRENCY)
    }

    /// SPEC §1: the known statuses in any case; any other kept as given.
    fn status(&self) -> String {
        let given = self.status.as_deref().unwrap_or("placed");
        let lower = given.to_ascii_lowercase();
        match lower.as_str() {
            "placed" | "paid" | "shipped" | "delivered" | "cancelled" | "returned" => lower,
            _ => given.to_owned(),
        }
    }

    fn is_live(&self) -> bool {
        !matches!(self.status().as_str(), "cancelled" | "returned")
    }

    /// Whether two orders say the same: what a default stands for equals the default given, and
    /// so do the spellings of one status.
    fn same(&self, other: &Order) -> bool {
        self.ts_ms == other.ts_ms
            && self.customer_id == other.customer_id
            && self.product_id == other.product_id
            && self.quantity == other.quantity
            && self.price == other.price
            && self.currency() == other.currency()
            && self.status() == other.status()
            && given(&self.payment_method) == given(&other.payment_method)
            && given(&self.ip) == given(&other.ip)
    }
}

impl Customer {
    fn same(&self, other: &Customer) -> bool {
        given(&self.gender) == given(&other.gender)
            && self.age == other.age
            && given(&self.country) == given(&other.country)
            && given(&self.name) == given(&other.name)
            && given(&self.email) == given(&other.email)
    }
}

impl Product {
    fn same(&self, other: &Product) -> bool {
        given(&self.name) == given(&other.name)
            && given(&self.category) == given(&other.category)
            && given(&self.brand) == given(&other.brand)
            && self.price == other.price
    }
}

impl Stock {
    fn same(&self, other: &Stock) -> bool {
        self.on_hand == other.on_hand
            && self.as_of_ms == other.as_of_ms
            && self.reorder_point.unwrap_or(0) == other.reorder_point.unwrap_or(0)
    }
}

/// An order with everything the tables need to know about it.
struct Sale<'a> {
    id: &'a str,
    order: &'a Order,
    customer: Option<&'a Customer>,
    product: Option<&'a Product>,
    currency: &'a str,
    /// quantity x price, in the order's currency.
    native: Decimal,
    /// The current rate of `currency`; `None`: unpriced.
    rate: Option<Decimal>,
    /// `native` in the base currency; zero while the currency has no rate (unpriced).
    value: Decimal,
}

const UNKNOWN: &str = "unknown";

impl Sale<'_> {
    fn status(&self) -> String {
        self.order.status()
    }

    fn is_live(&self) -> bool {
        self.order.is_live()
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
        utc(self.order.ts_ms)
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

impl<'a> Sale<'a> {
    /// The ip the order came from, if it names one.
    fn ip(&self) -> Option<&'a str> {
        let order: &'a Order = self.order;
        given(&order.ip)
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("generated times are in chrono's range")
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

/// The stock level of one product with a stock count.
struct Level<'a> {
    product_id: &'a str,
    stock: &'a Stock,
    reorder_point: i64,
    /// Units of live orders of the product with ts at or after the count.
    sold_since: i64,
    available: i64,
    low_stock: bool,
}

impl Level<'_> {
    /// `2026-11-30T21:00:00.000Z`
    fn as_of(&self) -> String {
        utc(self.stock.as_of_ms)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }
}

fn stock_levels(levels: &[Level]) -> BTreeMap<String, String> {
    levels
        .iter()
        .map(|level| {
            row(&[("product_id", level.product_id)], |row| {
                row.integer("on_hand", level.stock.on_hand)
                    .string("as_of", &level.as_of())
                    .integer("reorder_point", level.reorder_point)
                    .integer("sold_since", level.sold_since)
                    .integer("available", level.available)
                    .raw("low_stock", if level.low_stock { "true" } else { "false" })
            })
        })
        .collect()
}

/// Every alert of every rule, each a row keyed by its rule and subject.
fn alerts(live: &[&Sale], levels: &[Level], rules: &Rules) -> BTreeMap<String, String> {
    let mut rows = high_value_orders(live, rules);
    rows.extend(bursts(
        live,
        Burst::Ip,
        rules.ip_burst,
        rules.bucket_ms,
        |sale| sale.ip(),
    ));
    rows.extend(bursts(
        live,
        Burst::Customer,
        rules.customer_burst,
        rules.bucket_ms,
        |sale| Some(sale.order.customer_id.as_str()),
    ));
    rows.extend(low_stock(levels));
    rows
}

/// `high_value_order`: a live, priced order worth the limit or more, compared exactly.
fn high_value_orders(live: &[&Sale], rules: &Rules) -> BTreeMap<String, String> {
    live.iter()
        .filter(|sale| sale.rate.is_some() && sale.value >= rules.high_value)
        .map(|sale| {
            let reason = format!(
                "order {} is worth {} {BASE_CURRENCY}, at or above the limit of {} {BASE_CURRENCY}",
                sale.id,
                cents(sale.value),
                cents(rules.high_value)
            );
            row(
                &[("rule", "high_value_order"), ("subject", sale.id)],
                |row| {
                    row.string("reason", &reason)
                        .string("order_id", sale.id)
                        .string("customer_id", &sale.order.customer_id)
                        .string("product_id", &sale.order.product_id)
                        .money("value", sale.value)
                },
            )
        })
        .collect()
}

/// The two burst rules: what they count orders by.
#[derive(Clone, Copy)]
enum Burst {
    Ip,
    Customer,
}

impl Burst {
    fn rule(self) -> &'static str {
        match self {
            Burst::Ip => "ip_burst",
            Burst::Customer => "customer_burst",
        }
    }

    /// The row field naming the source.
    fn field(self) -> &'static str {
        match self {
            Burst::Ip => "ip",
            Burst::Customer => "customer_id",
        }
    }

    /// The source as the reason names it.
    fn who(self) -> &'static str {
        match self {
            Burst::Ip => "ip",
            Burst::Customer => "customer",
        }
    }
}

/// At least `limit` live orders of one source in one UTC-aligned bucket of `bucket_ms`.
fn bursts<'a>(
    live: &[&Sale<'a>],
    burst: Burst,
    limit: usize,
    bucket_ms: i64,
    source: impl Fn(&Sale<'a>) -> Option<&'a str>,
) -> BTreeMap<String, String> {
    // (source, bucket start) -> the ids of its orders.
    let mut groups: BTreeMap<(&str, i64), Vec<&str>> = BTreeMap::new();
    for sale in live {
        if let Some(source) = source(sale) {
            let start = sale.order.ts_ms.div_euclid(bucket_ms) * bucket_ms;
            groups.entry((source, start)).or_default().push(sale.id);
        }
    }
    let seconds = |ms: i64| utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    groups
        .into_iter()
        .filter(|(_, ids)| ids.len() >= limit)
        .map(|((source, start), mut ids)| {
            let (from, to) = (seconds(start), seconds(start + bucket_ms));
            let reason = format!(
                "{} live orders from {} {source} between {from} and {to}, at or above the limit of {limit}",
                ids.len(),
                burst.who()
            );
            let subject = format!("{source}@{from}");
            let orders = ids.len() as u64;
            ids.sort_by(|a, b| id_order(a, b));
            ids.truncate(LISTED_ORDERS);
            row(&[("rule", burst.rule()), ("subject", &subject)], |row| {
                row.string("reason", &reason)
                    .string(burst.field(), source)
                    .string("bucket", &from)
                    .number("orders", orders)
                    .strings("order_ids", &ids)
            })
        })
        .collect()
}

/// `low_stock`: a product whose available units are at or below its reorder point.
fn low_stock(levels: &[Level]) -> BTreeMap<String, String> {
    levels
        .iter()
        .filter(|level| level.low_stock)
        .map(|level| {
            let reason = format!(
                "product {} has {} units available ({} on hand at {}, {} sold since), at or below its reorder point of {}",
                level.product_id,
                level.available,
                level.stock.on_hand,
                level.as_of(),
                level.sold_since,
                level.reorder_point
            );
            row(
                &[("rule", "low_stock"), ("subject", level.product_id)],
                |row| {
                    row.string("reason", &reason)
                        .string("product_id", level.product_id)
                        .integer("on_hand", level.stock.on_hand)
                        .integer("sold_since", level.sold_since)
                        .integer("available", level.available)
                        .integer("reorder_point", level.reorder_point)
                },
            )
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

    /// A JSON array of strings.
    fn strings(self, name: &str, values: &[&str]) -> Self {
        let items: Vec<String> = values.iter().map(|value| json_string(value)).collect();
        self.raw(name, &format!("[{}]", items.join(",")))
    }

    fn number(self, name: &str, value: u64) -> Self {
        self.raw(name, &value.to_string())
    }

    fn integer(self, name: &str, value: i64) -> Self {
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
