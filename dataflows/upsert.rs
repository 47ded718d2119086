//! Upsert semantics, in one place: the latest record per key is the current value, and a
//! tombstone (`None`) deletes the key. Every input table of every analysis comes through here.
//!
//! ```text
//!   (key, value or tombstone, time) --exchange by key--> per complete time: latest per key,
//!        diffed against the key's current value --> (key, old) -1, (key, new) +1
//!                                                  \-> records that changed nothing (duplicates)
//! ```

use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::Exchange;
use timely::dataflow::operators::vec::{Filter, Map};

use super::Time;
use super::per_time::per_complete_time;
use crate::model::Diff;

/// A table under upsert: its current rows, and the records that left it as it was.
pub struct Upserted<'s, T: Time, K: 'static, V: 'static> {
    pub current: VecCollection<'s, T, (K, V)>,
    /// One `()` per record equal to its key's value at the time (a tombstone of an absent key
    /// included): what `data_quality` reports as duplicates.
    pub duplicates: VecCollection<'s, T, ()>,
}

/// The current `(key, value)` pairs of a stream of upserts `(key, value or tombstone, time)`.
///
/// Records of one key at one time apply in arrival order. A key is read by one worker (a Kafka
/// key lives in one partition) and timely channels keep each sender's order, so arrival order is
/// offset order. A record equal to the key's current value changes nothing.
pub fn current<'s, T, K, V>(
    upserts: StreamVec<'s, T, (K, Option<V>, T)>,
    name: &str,
) -> Upserted<'s, T, K, V>
where
    T: Time,
    K: ExchangeData + Hashable + Hash,
    V: ExchangeData,
{
    // The current value of each key this worker owns. differential's `arrange_from_upsert` would
    // keep the same in an arrangement, but nothing downstream reads it by key, and a map costs a
    // lookup per record instead of a heap, a batch and its merges.
    let mut current: HashMap<K, V> = HashMap::new();
    // `None` rows carry the number of duplicates of the time, so both outputs share one buffer.
    let changes = per_complete_time(
        upserts.exchange(|(key, _, _)| key.hashed().into()),
        &format!("upsert {name}"),
        |(_, _, time)| time.clone(),
        move |time, records, out| {
            // The value each touched key had before this time, to diff against at the end.
            let mut before: HashMap<K, Option<V>> = HashMap::with_capacity(records.len());
            let mut duplicates = 0;
            for (key, value, _) in records {
                let previous = match &value {
                    Some(value) => current.insert(key.clone(), value.clone()),
                    None => current.remove(&key),
                };
                duplicates += Diff::from(previous == value);
                before.entry(key).or_insert(previous);
            }
            for (key, previous) in before {
                let now = current.get(&key);
                if previous.as_ref() == now {
                    continue;
                }
                if let Some(now) = now {
                    out.push((Some((key.clone(), now.clone())), time.clone(), 1));
                }
                if let Some(previous) = previous {
                    out.push((Some((key, previous)), time.clone(), -1));
                }
            }
            if duplicates > 0 {
                out.push((None, time.clone(), duplicates));
            }
        },
    );
    Upserted {
        current: changes
            .clone()
            .flat_map(|(row, time, diff)| row.map(|row| (row, time, diff)))
            .as_collection(),
        duplicates: changes
            .filter(|(row, _, _)| row.is_none())
            .map(|(_, time, count)| ((), time, count))
            .as_collection(),
    }
}
