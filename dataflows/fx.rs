//! Currency conversion of summed figures: revenue = Σ native amount x rate, per currency.
//!
//! ```text
//!   (group, currency) with native sums ──┬─ drop currency ────────────── orders, units (and native)
//!                                        └─ ⋈ rates (rate in the diff) ── revenue in base currency
//! ```
//! A currency with no rate simply has no match: its orders still count in `orders` and `units`
//! and add nothing to revenue, and when the rate arrives the join adds exactly the missing revenue.

use differential_dataflow::{AsCollection, Hashable, VecCollection};
use timely::dataflow::operators::ToStream;
use timely::dataflow::operators::vec::Map;

use super::Time;
use super::figures::RateDiff;
use super::groups::GroupKey;
use crate::model::{Currency, Figures, Native, Rate};

/// Spreads each currency's groups over this many join keys, so one busy currency does not land on
/// a single worker. Each rate is repeated once per bucket, which is cheap: rates are few.
const BUCKETS: u8 = 32;

/// Converts the native sums of `(group, currency)` into base-currency figures per group.
pub fn convert<'s, T: Time>(
    native: VecCollection<'s, T, (GroupKey, Currency), Figures>,
    rates: VecCollection<'s, T, (Currency, Rate)>,
    base_currency: Currency,
) -> VecCollection<'s, T, GroupKey, Figures> {
    let counts = native
        .clone()
        .inner
        .map(|((group, _currency), time, mut figures)| {
            if !group.keeps_native() {
                figures.native = Native(0);
            }
            (group, time, figures)
        })
        .as_collection();

    let rates_by_bucket = spread(rates, base_currency)
        .inner
        .map(|((key, rate), time, diff)| ((key, ()), time, RateDiff::of(rate, diff)))
        .as_collection()
        .arrange_by_key_named("fx: rates by currency");

    let revenue = native
        .map(|(group, currency)| ((currency, bucket_of(&group)), group))
        .arrange_by_key_named("fx: sums by currency")
        .join_core(rates_by_bucket, |_currency, group, ()| Some(group.clone()));

    counts.concat(revenue)
}

/// The join bucket of whatever is converted, by its hash.
pub fn bucket_of(data: &impl Hashable<Output = u64>) -> u8 {
    (data.hashed() % u64::from(BUCKETS)) as u8
}

/// Every rate (the base currency's pinned to 1) once per bucket, keyed `(currency, bucket)`: the
/// other side of a join with amounts keyed by their currency and [`bucket_of`].
pub fn spread<'s, T: Time>(
    rates: VecCollection<'s, T, (Currency, Rate)>,
    base_currency: Currency,
) -> VecCollection<'s, T, ((Currency, u8), Rate)> {
    with_base_rate(rates, base_currency)
        .flat_map(|(currency, rate)| (0..BUCKETS).map(move |bucket| ((currency, bucket), rate)))
}

/// The rates with the base currency pinned to 1: an fx record for the base currency is ignored.
fn with_base_rate<'s, T: Time>(
    rates: VecCollection<'s, T, (Currency, Rate)>,
    base_currency: Currency,
) -> VecCollection<'s, T, (Currency, Rate)> {
    let scope = rates.inner.scope();
    // One worker contributes the constant, or it would count once per worker.
    let base = (scope.index() == 0)
        .then(|| ((base_currency, Rate::ONE), T::minimum(), 1))
        .into_iter()
        .to_stream(scope)
        .as_collection();
    rates
        .filter(move |(currency, _)| *currency != base_currency)
        .concat(base)
}
