//! Upsert semantics, in one place: the latest record per key is the current value, and a
//! tombstone (`None`) deletes the key. Every input table of every analysis comes through here.

use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

use differential_dataflow::operators::arrange::upsert::arrange_from_upsert;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};

use super::Time;

/// The current `(key, value)` pairs of a stream of upserts `(key, value or tombstone, time)`.
///
/// Records of one key at one time are applied in arrival order on the worker that read them,
/// which for a Kafka partition is offset order.
pub fn current<'s, T, K, V>(
    upserts: StreamVec<'s, T, (K, Option<V>, T)>,
    name: &str,
) -> VecCollection<'s, T, (K, V)>
where
    T: Time,
    K: ExchangeData + Hashable + Hash,
    V: ExchangeData,
{
    // differential's upsert breaks ties at one time by the greatest value, not the latest one,
    // so each worker first keeps only its last record per key and time.
    let latest = latest_per_key_and_time(upserts, name);
    arrange_from_upsert::<ValBuilder<K, V, T, isize>, ValSpine<K, V, T, isize>, K, V>(latest, name)
        .as_collection(|key, value| (key.clone(), value.clone()))
}

fn latest_per_key_and_time<'s, T, K, V>(
    upserts: StreamVec<'s, T, (K, Option<V>, T)>,
    name: &str,
) -> StreamVec<'s, T, (K, Option<V>, T)>
where
    T: Time,
    K: ExchangeData + Hash,
    V: ExchangeData,
{
    upserts.unary_frontier(
        Pipeline,
        &format!("{name}: latest per key"),
        |_cap, _info| {
            // Held at the least time that still has records buffered.
            let mut held: Option<Capability<T>> = None;
            let mut pending: BTreeMap<T, Vec<(K, Option<V>)>> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    let cap = cap
                        .retain_least(0)
                        .expect("a message has at least one time");
                    if held.as_ref().is_none_or(|h| cap.time() < h.time()) {
                        held = Some(cap);
                    }
                    for (key, value, time) in data.drain(..) {
                        pending.entry(time).or_default().push((key, value));
                    }
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (time, records) = entry.remove_entry();
                    let cap = held
                        .as_ref()
                        .expect("buffered records hold a capability")
                        .delayed(&time);
                    let mut seen = HashSet::with_capacity(records.len());
                    let mut session = output.session(&cap);
                    // Walk backwards so the first record seen for a key is its latest.
                    for (key, value) in records.into_iter().rev() {
                        if seen.insert(key.clone()) {
                            session.give((key, value, time.clone()));
                        }
                    }
                }
                match pending.keys().next() {
                    Some(next) => {
                        if let Some(h) = held.as_mut() {
                            h.downgrade(next);
                        }
                    }
                    None => held = None,
                }
            }
        },
    )
}
