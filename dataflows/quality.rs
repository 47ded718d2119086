//! Data quality per input topic: what the source consumed, applied and dead-lettered (counted at
//! the edge, entering as updates), what the upserts found unchanged, and, for orders, how many live
//! orders are orphans or unpriced right now (counted here, so they fall as the data is fixed).

use differential_dataflow::operators::CountTotal;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::Time;
use super::per_time::pre_aggregate;
use crate::model::{
    Currency, Customer, CustomerId, InputTopic, OrderId, Product, ProductId, Rate, SharedOrder,
};

/// What is counted about an input topic; each update's diff is how many.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Counter {
    Consumed,
    Applied,
    DeadLettered,
    Tombstone,
    /// An applied record equal to its key's value at the time.
    Duplicate,
    /// A dead-lettered record, by the kind of its error.
    Error(SmolStr),
    /// A live order whose customer or product has no record.
    Orphan,
    /// A live order whose currency has no rate.
    Unpriced,
}

/// One `data_quality` row.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quality {
    pub consumed: i64,
    pub applied: i64,
    pub dead_lettered: i64,
    pub tombstones: i64,
    pub duplicates: i64,
    /// Error kind -> dead-lettered records, kinds in order, no zeros.
    pub errors: Vec<(SmolStr, i64)>,
    /// Only the orders topic has live orders to judge: `(orphans, unpriced)`.
    pub live_orders: Option<(i64, i64)>,
}

/// What the live counts are made of.
pub struct LiveTables<'s, T: Time> {
    pub live: VecCollection<'s, T, (OrderId, SharedOrder)>,
    pub customers: VecCollection<'s, T, (CustomerId, Customer)>,
    pub products: VecCollection<'s, T, (ProductId, Product)>,
    pub rates: VecCollection<'s, T, (Currency, Rate)>,
    pub base_currency: Currency,
}

/// The row of every input topic that has consumed a record.
pub fn data_quality<'s, T: Time>(
    counted: VecCollection<'s, T, (InputTopic, Counter)>,
    tables: LiveTables<'s, T>,
) -> VecCollection<'s, T, (InputTopic, Quality)> {
    counted
        .concat(orphans(&tables))
        .concat(unpriced(&tables))
        .count_total()
        .map(|((topic, counter), count)| (topic, (counter, count as i64)))
        .reduce_named("data quality", |topic, counts, out| {
            let mut row = Quality {
                live_orders: (*topic == InputTopic::Orders).then_some((0, 0)),
                ..Quality::default()
            };
            // Counters arrive in their order, so error kinds come out sorted.
            for ((counter, count), _) in counts {
                let count = *count;
                match counter {
                    Counter::Consumed => row.consumed = count,
                    Counter::Applied => row.applied = count,
                    Counter::DeadLettered => row.dead_lettered = count,
                    Counter::Tombstone => row.tombstones = count,
                    Counter::Duplicate => row.duplicates = count,
                    Counter::Error(kind) => row.errors.push((kind.clone(), count)),
                    Counter::Orphan => {
                        if let Some((orphans, _)) = row.live_orders.as_mut() {
                            *orphans = count;
                        }
                    }
                    Counter::Unpriced => {
                        if let Some((_, unpriced)) = row.live_orders.as_mut() {
                            *unpriced = count;
                        }
                    }
                }
            }
            if row.consumed > 0 {
                out.push((row, 1));
            }
        })
}

/// Live orders missing their customer or product: all of them, less those with both.
///
/// Only the orders of known customers need their product looked up, and only as a count per
/// product: the second lookup reads one sum per product instead of one row per order.
fn orphans<'s, T: Time>(tables: &LiveTables<'s, T>) -> VecCollection<'s, T, (InputTopic, Counter)> {
    let known_customer = semijoin_named(
        tables
            .live
            .clone()
            .map(|(_, order)| (order.customer_id.clone(), order.product_id.clone())),
        tables.customers.clone().map(|(id, _)| id),
        "orphans: known customers",
    );
    let per_product = pre_aggregate(
        known_customer.map(|(_, product)| (product, ())),
        "orders of known customers by product",
    );
    let complete = semijoin_named(
        per_product,
        tables.products.clone().map(|(id, _)| id),
        "orphans: known products",
    );
    pre_aggregate(
        tables
            .live
            .clone()
            .map(|_| ())
            .concat(complete.map(|_| ()).negate())
            .map(|()| (InputTopic::Orders, Counter::Orphan)),
        "orphans",
    )
}

/// Live orders whose currency has no rate (the base currency always has one).
fn unpriced<'s, T: Time>(
    tables: &LiveTables<'s, T>,
) -> VecCollection<'s, T, (InputTopic, Counter)> {
    let base = tables.base_currency;
    let foreign = pre_aggregate(
        tables
            .live
            .clone()
            .map(|(_, order)| order.currency)
            .filter(move |currency| *currency != base),
        "live orders by currency",
    );
    let priced = semijoin_named(
        foreign.clone().map(|currency| (currency, ())),
        tables.rates.clone().map(|(currency, _)| currency),
        "unpriced: known rates",
    );
    foreign
        .map(|_| ())
        .concat(priced.map(|_| ()).negate())
        .map(|()| (InputTopic::Orders, Counter::Unpriced))
}

/// `semijoin`, with its two arrangements named for the job's metrics.
fn semijoin_named<'s, T: Time, K: ExchangeData + Hashable, V: ExchangeData>(
    left: VecCollection<'s, T, (K, V)>,
    right: VecCollection<'s, T, K>,
    name: &str,
) -> VecCollection<'s, T, (K, V)> {
    left.arrange_by_key_named(&format!("{name}: left side"))
        .join_core(
            right.arrange_by_self_named(&format!("{name}: right side")),
            |key, value, ()| Some((key.clone(), value.clone())),
        )
}
