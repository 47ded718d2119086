//! The live orders of the latest hour: `ts` in (W - 1h, W], W the largest `ts` of any current order.
//!
//! W is a function of the current orders, not of history: deleting the latest order moves the
//! window back, and a restart that rebuilds from compacted topics computes the same window.

use differential_dataflow::VecCollection;

use super::Time;
use super::groups::GroupKey;
use crate::model::{Currency, EventTime, Figures, Hour, Order};

const MINUTE_MS: EventTime = 60_000;
const MINUTES_PER_DAY: EventTime = 1_440;

/// `(RecentProduct(product), currency)` with the figures of each live order of the latest hour.
pub fn recent_products<'s, T: Time>(
    timestamps: VecCollection<'s, T, EventTime>,
    live: VecCollection<'s, T, Order, Figures>,
) -> VecCollection<'s, T, (GroupKey, Currency), Figures> {
    // The window ends in W's hour and starts in the hour before, so those two hours hold every
    // order in it; each is joined with W to test the exact bound.
    let windows = latest(timestamps).flat_map(|w| {
        let hour = Hour::of(w);
        [(hour, w), (Hour(hour.0 - 1), w)]
    });
    live.map(|order| {
        (
            Hour::of(order.ts),
            (order.ts, order.product_id, order.currency),
        )
    })
    .arrange_by_key_named("live orders by hour")
    .join_core(
        windows.arrange_by_key_named("hours of the latest window"),
        |_, (ts, product, currency), w| {
            (*ts > w - Hour::MS).then(|| (GroupKey::RecentProduct(product.clone()), *currency))
        },
    )
}

/// The largest timestamp, found through per-minute and per-day maxima so that a change re-reads
/// one minute's timestamps, one day's minutes and the days, never every order.
fn latest<'s, T: Time>(
    timestamps: VecCollection<'s, T, EventTime>,
) -> VecCollection<'s, T, EventTime> {
    timestamps
        .map(|ts| (ts.div_euclid(MINUTE_MS), ts))
        .reduce_named("latest ts per minute", largest)
        .map(|(minute, ts)| (minute.div_euclid(MINUTES_PER_DAY), ts))
        .reduce_named("latest ts per day", largest)
        .map(|(_, ts)| ((), ts))
        .reduce_named("latest ts", largest)
        .map(|((), ts)| ts)
}

/// Values reach a reduce sorted and with positive counts, so the largest is the last.
fn largest<K>(_key: &K, input: &[(&EventTime, isize)], output: &mut Vec<(EventTime, isize)>) {
    if let Some((ts, _)) = input.last() {
        output.push((**ts, 1));
    }
}
