//! Alerts: rows like any other, so an alert whose facts stop being true is retracted.
//!
//! A rule is one function from [`Evidence`] to `(subject, reason, facts)` rows, listed in
//! [`rules`]; everything else (naming, keys, encoding) is shared. Every rule sees live orders only.

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::Time;
use super::fx::{bucket_of, spread};
use super::stock::StockLevel;
use crate::model::{
    Currency, CustomerId, EventTime, Id, Money, OrderId, ProductId, Rate, ReadingOrder,
    SharedOrder, format_cents, millis_label, seconds_label,
};

/// A burst alert lists at most this many of its orders (the first in reading order).
const LISTED_ORDERS: usize = 20;

/// The thresholds of the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRules {
    /// `high_value_order` fires at an order value (base currency) at or above this.
    pub high_value: Money,
    /// `ip_burst` fires at this many live orders from one ip in one bucket.
    pub ip_burst: i64,
    /// `customer_burst` fires at this many live orders from one customer in one bucket.
    pub customer_burst: i64,
    /// The width of the UTC-aligned buckets of the burst rules.
    pub bucket_ms: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            high_value: Money::from_cents(500_000),
            ip_burst: 5,
            customer_burst: 5,
            bucket_ms: 10 * 60 * 1_000,
        }
    }
}

/// One fact behind an alert, as its row shows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fact {
    Text(SmolStr),
    Count(i64),
    Money(Money),
    Ids(Vec<SmolStr>),
}

/// One alert: its rule, what it is about, a sentence for a person, and the facts behind it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Alert {
    pub rule: SmolStr,
    pub subject: SmolStr,
    pub reason: String,
    pub facts: Vec<(SmolStr, Fact)>,
}

/// What a rule's row says, before the rule's name is put on it.
pub type Finding = (SmolStr, String, Vec<(SmolStr, Fact)>);

/// What the rules may look at.
pub struct Evidence<'s, T: Time> {
    pub live: VecCollection<'s, T, (OrderId, SharedOrder)>,
    pub rates: VecCollection<'s, T, (Currency, Rate)>,
    pub base_currency: Currency,
    pub stock: VecCollection<'s, T, (ProductId, StockLevel)>,
}

/// A rule: its findings over the evidence.
pub type Rule<'s, T> = fn(&Evidence<'s, T>, &AlertRules) -> VecCollection<'s, T, Finding>;

/// Every rule, by the name its alerts carry. A new rule is a function below and a line here.
pub fn rules<'s, T: Time>() -> [(&'static str, Rule<'s, T>); 4] {
    [
        ("high_value_order", high_value_order),
        ("ip_burst", ip_burst),
        ("customer_burst", customer_burst),
        ("low_stock", low_stock),
    ]
}

/// Every alert of every rule.
pub fn alerts<'s, T: Time>(
    evidence: &Evidence<'s, T>,
    thresholds: &AlertRules,
) -> VecCollection<'s, T, Alert> {
    let [first, rest @ ..] = rules().map(|(name, rule)| {
        rule(evidence, thresholds).map(move |(subject, reason, facts)| Alert {
            rule: SmolStr::new_static(name),
            subject,
            reason,
            facts,
        })
    });
    first.concatenate(rest)
}

/// One order worth at least the limit, in the base currency at the current rate. An order whose
/// currency has no rate has no value yet, and cannot fire.
fn high_value_order<'s, T: Time>(
    evidence: &Evidence<'s, T>,
    thresholds: &AlertRules,
) -> VecCollection<'s, T, Finding> {
    let limit = thresholds.high_value;
    let base = evidence.base_currency;
    let finding = move |id: &OrderId, customer: &CustomerId, product: &ProductId, value: Money| {
        (value >= limit).then(|| {
            let reason = format!(
                "order {id} is worth {} {base}, at or above the limit of {} {base}",
                format_cents(value.cents()),
                format_cents(limit.cents()),
            );
            let facts = vec![
                fact("order_id", Fact::Text(id.as_str().into())),
                fact("customer_id", Fact::Text(customer.as_str().into())),
                fact("product_id", Fact::Text(product.as_str().into())),
                fact("value", Fact::Money(value)),
            ];
            (SmolStr::new(id.as_str()), reason, facts)
        })
    };
    let orders = evidence.live.clone().map(|(id, order)| {
        let amount = order.native_value();
        (
            order.currency,
            (
                id,
                order.customer_id.clone(),
                order.product_id.clone(),
                amount,
            ),
        )
    });
    // Orders in the base currency are judged alone; only the others need the current rate.
    let in_base = orders
        .clone()
        .filter(move |(currency, _)| *currency == base)
        .flat_map(move |(_, (id, customer, product, amount))| {
            finding(&id, &customer, &product, amount.convert(Rate::ONE))
        });
    // Keyed like the rates are spread, so one busy currency is not one worker's join.
    let in_other = orders
        .filter(move |(currency, _)| *currency != base)
        .map(|(currency, order)| ((currency, bucket_of(&order.0)), order))
        .arrange_by_key_named("high value: orders by currency")
        .join_core(
            spread(evidence.rates.clone(), base).arrange_by_key_named("high value: rates"),
            move |_, (id, customer, product, amount), rate| {
                Some(finding(id, customer, product, amount.convert(*rate)))
            },
        )
        .flat_map(|finding| finding);
    in_base.concat(in_other)
}

/// Many live orders from one ip in one bucket.
fn ip_burst<'s, T: Time>(
    evidence: &Evidence<'s, T>,
    thresholds: &AlertRules,
) -> VecCollection<'s, T, Finding> {
    let orders = evidence.live.clone().flat_map(|(id, order)| {
        let ip = order.ip.clone().filter(|ip| !ip.is_empty())?;
        Some(((ip, order.ts), id))
    });
    burst(orders, "ip", thresholds.ip_burst, thresholds.bucket_ms)
}

/// Many live orders from one customer in one bucket.
fn customer_burst<'s, T: Time>(
    evidence: &Evidence<'s, T>,
    thresholds: &AlertRules,
) -> VecCollection<'s, T, Finding> {
    let orders = evidence
        .live
        .clone()
        .map(|(id, order)| ((SmolStr::new(order.customer_id.as_str()), order.ts), id));
    burst(
        orders,
        "customer_id",
        thresholds.customer_burst,
        thresholds.bucket_ms,
    )
}

/// At least `limit` orders of one source (`field`: what the source is) in one UTC-aligned bucket.
fn burst<'s, T: Time>(
    orders: VecCollection<'s, T, ((SmolStr, EventTime), OrderId)>,
    field: &'static str,
    limit: i64,
    bucket_ms: i64,
) -> VecCollection<'s, T, Finding> {
    let who = if field == "ip" { "ip" } else { "customer" };
    orders
        .map(move |((source, ts), id)| ((source, ts.div_euclid(bucket_ms) * bucket_ms), id))
        .reduce_named(
            &format!("{field} bursts"),
            move |(source, start), ids, out| {
                let count: i64 = ids.iter().map(|(_, diff)| *diff as i64).sum();
                if count < limit {
                    return;
                }
                let listed = first_in_reading_order(ids.iter().map(|(id, _)| *id));
                let (from, to) = (seconds_label(*start), seconds_label(start + bucket_ms));
                let reason = format!(
                    "{count} live orders from {who} {source} between {from} and {to}, at or above the limit of {limit}"
                );
                let facts = vec![
                    fact(field, Fact::Text(source.clone())),
                    fact("bucket", Fact::Text(from.as_str().into())),
                    fact("orders", Fact::Count(count)),
                    fact("order_ids", Fact::Ids(listed)),
                ];
                out.push(((format!("{source}@{from}").into(), reason, facts), 1));
            },
        )
        .map(|(_, finding)| finding)
}

fn first_in_reading_order<'a>(ids: impl Iterator<Item = &'a OrderId>) -> Vec<SmolStr> {
    // Sorted and cut as it goes, so a huge burst costs a small map.
    let mut first: BTreeMap<ReadingOrder<&Id>, ()> = BTreeMap::new();
    for id in ids {
        first.insert(ReadingOrder(id.as_ref()), ());
        if first.len() > LISTED_ORDERS {
            first.pop_last();
        }
    }
    first
        .into_keys()
        .map(|id| SmolStr::new(id.0.as_str()))
        .collect()
}

/// A product whose available stock is at or below its reorder point.
fn low_stock<'s, T: Time>(
    evidence: &Evidence<'s, T>,
    _thresholds: &AlertRules,
) -> VecCollection<'s, T, Finding> {
    evidence
        .stock
        .clone()
        .filter(|(_, level)| level.low_stock)
        .map(|(product, level)| {
            let reason = format!(
                "product {product} has {} units available ({} on hand at {}, {} sold since), at or below its reorder point of {}",
                level.available,
                level.on_hand,
                millis_label(level.as_of),
                level.sold_since,
                level.reorder_point,
            );
            let facts = vec![
                fact("product_id", Fact::Text(product.as_str().into())),
                fact("on_hand", Fact::Count(level.on_hand)),
                fact("sold_since", Fact::Count(level.sold_since)),
                fact("available", Fact::Count(level.available)),
                fact("reorder_point", Fact::Count(level.reorder_point)),
            ];
            (SmolStr::new(product.as_str()), reason, facts)
        })
}

fn fact(name: &'static str, value: Fact) -> (SmolStr, Fact) {
    (SmolStr::new_static(name), value)
}
