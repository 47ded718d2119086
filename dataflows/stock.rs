//! Stock levels: what was counted, minus what live orders took since the count.
//!
//! Spec: per product with a stock count, `sold_since = SUM(quantity)` over live orders with
//! `ts >= as_of`, `available = on_hand - sold_since`, `low_stock = available <= reorder_point`.
//!
//! ```text
//!  live orders ─(product, ts) units in the diff─┐
//!                                               ⋈ stock counts ─ ts >= as_of ─┐
//!  stock counts ────────────────────────────────┴────────────────────────────── reduce per product
//! ```

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::Time;
use crate::model::{Diff, EventTime, OrderId, ProductId, SharedOrder, StockCount};

/// One `stock_levels` row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockLevel {
    pub on_hand: i64,
    pub as_of: EventTime,
    pub reorder_point: i64,
    pub sold_since: i64,
    pub available: i64,
    pub low_stock: bool,
}

/// What one product's row is made of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Count(StockCount),
    /// Units sold since the count, in the diff.
    Sold,
}

/// The stock level of every product that has a stock count.
pub fn stock_levels<'s, T: Time>(
    live: VecCollection<'s, T, (OrderId, SharedOrder)>,
    counts: VecCollection<'s, T, (ProductId, StockCount)>,
) -> VecCollection<'s, T, (ProductId, StockLevel)> {
    // Not summed before the arrangement: orders rarely share a product and a `ts`.
    let units = live
        .explode(|(_, order)| Some(((order.product_id.clone(), order.ts), order.quantity as Diff)));
    let sold = units
        .arrange_by_key_named("stock: units by product")
        .join_core(
            counts
                .clone()
                .arrange_by_key_named("stock: counts by product"),
            |product, ts, count| (*ts >= count.as_of).then(|| (product.clone(), Part::Sold)),
        );
    counts
        .map(|(product, count)| (product, Part::Count(count)))
        .concat(sold)
        .reduce_named("stock levels", |_product, parts, out| {
            let mut count = None;
            let mut sold_since = 0;
            for (part, diff) in parts {
                match part {
                    Part::Count(c) => count = Some(c),
                    Part::Sold => sold_since += *diff as i64,
                }
            }
            if let Some(count) = count {
                let available = count.on_hand - sold_since;
                out.push((
                    StockLevel {
                        on_hand: count.on_hand,
                        as_of: count.as_of,
                        reorder_point: count.reorder_point,
                        sold_since,
                        available,
                        low_stock: available <= count.reorder_point,
                    },
                    1,
                ));
            }
        })
}
