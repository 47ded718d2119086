//! Upsert semantics, in one place: the latest record per key is the current value, and a
//! tombstone (`None`) deletes the key. Every input table of every analysis comes through here.
//!
//! ```text
//!   (key, value or tombstone, time) --exchange by key--> per complete time: latest per key,
//!        diffed against the key's current value --> (key, old) -1, (key, new) +1
//! ```

use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::Exchange;

use super::Time;
use super::per_time::per_complete_time;

/// The current `(key, value)` pairs of a stream of upserts `(key, value or tombstone, time)`.
///
/// Records of one key at one time apply in arrival order. A key is read by one worker (a Kafka
/// key lives in one partition) and timely channels keep each sender's order, so arrival order is
/// offset order. A record equal to the key's current value changes nothing.
pub fn current<'s, T, K, V>(
    upserts: StreamVec<'s, T, (K, Option<V>, T)>,
    name: &str,
) -> VecCollection<'s, T, (K, V)>
where
    T: Time,
    K: ExchangeData + Hashable + Hash,
    V: ExchangeData,
{
    // The current value of each key this worker owns. differential's `arrange_from_upsert` would
    // keep the same in an arrangement, but nothing downstream reads it by key, and a map costs a
    // lookup per record instead of a heap, a batch and its merges.
    let mut current: HashMap<K, V> = HashMap::new();
    per_complete_time(
        upserts.exchange(|(key, _, _)| key.hashed().into()),
        &format!("upsert {name}"),
        |(_, _, time)| time.clone(),
        move |time, records, out| {
            let mut latest = HashMap::with_capacity(records.len());
            for (key, value, _) in records {
                latest.insert(key, value);
            }
            for (key, value) in latest {
                let previous = match &value {
                    Some(value) => current.insert(key.clone(), value.clone()),
                    None => current.remove(&key),
                };
                if previous == value {
                    continue;
                }
                if let Some(previous) = previous {
                    out.push(((key.clone(), previous), time.clone(), -1));
                }
                if let Some(value) = value {
                    out.push(((key, value), time.clone(), 1));
                }
            }
        },
    )
    .as_collection()
}
