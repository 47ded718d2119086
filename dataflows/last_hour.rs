//! The live orders of the latest hour: `ts` in (W - 1h, W], W the largest `ts` of any current order.
//!
//! W is a function of the current orders, not of history: deleting the latest order moves the
//! window back, and a restart that rebuilds from compacted topics computes the same window.

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::Time;
use super::groups::GroupKey;
use crate::model::{Currency, EventTime, Figures, Hour, SharedOrder};

const SECOND_MS: EventTime = 1_000;
const SECONDS_PER_MINUTE: EventTime = 60;
const MINUTES_PER_DAY: EventTime = 1_440;

/// `(RecentProduct(product), currency)` with the figures of each live order of the latest hour.
pub fn recent_products<'s, T: Time>(
    timestamps: VecCollection<'s, T, EventTime>,
    live: VecCollection<'s, T, SharedOrder, Figures>,
) -> VecCollection<'s, T, (GroupKey, Currency), Figures> {
    live.map(|order| {
        (
            order.ts.div_euclid(SECOND_MS),
            (order.ts, order.product_id.clone(), order.currency),
        )
    })
    .arrange_by_key_named("live orders by second")
    .join_core(
        window_seconds(latest(timestamps)).arrange_by_key_named("seconds of the latest hour"),
        |_, (ts, product, currency), part| {
            part.contains(*ts)
                .then(|| (GroupKey::RecentProduct(product.clone()), *currency))
        },
    )
}

/// How much of one second the window covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Whole,
    /// `ts` in `(after, through]`: the window's two edge seconds.
    Between {
        after: EventTime,
        through: EventTime,
    },
}

impl Part {
    fn contains(self, ts: EventTime) -> bool {
        match self {
            Part::Whole => true,
            Part::Between { after, through } => after < ts && ts <= through,
        }
    }
}

/// The seconds of the window `(W - 1h, W]`, each with the part of it inside the window.
///
/// As W advances, the interior seconds keep the value `Whole` and cancel out before the join, so
/// the join re-reads only the seconds that enter or leave and the two edges, not the whole hour.
fn window_seconds<'s, T: Time>(
    latest: VecCollection<'s, T, EventTime>,
) -> VecCollection<'s, T, (EventTime, Part)> {
    latest.flat_map(|w| {
        let after = w - Hour::MS;
        let (first, last) = ((after + 1).div_euclid(SECOND_MS), w.div_euclid(SECOND_MS));
        (first..=last).map(move |second| {
            let whole = second * SECOND_MS > after && (second + 1) * SECOND_MS - 1 <= w;
            (
                second,
                if whole {
                    Part::Whole
                } else {
                    Part::Between { after, through: w }
                },
            )
        })
    })
}

/// The largest timestamp, found through per-second, per-minute and per-day maxima, so that a
/// change (a late order too) re-reads one second's timestamps, one minute's seconds, one day's
/// minutes and the days, never every order.
fn latest<'s, T: Time>(
    timestamps: VecCollection<'s, T, EventTime>,
) -> VecCollection<'s, T, EventTime> {
    timestamps
        .map(|ts| (ts.div_euclid(SECOND_MS), ts))
        .reduce_named("latest ts per second", largest)
        .map(|(second, ts)| (second.div_euclid(SECONDS_PER_MINUTE), ts))
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
