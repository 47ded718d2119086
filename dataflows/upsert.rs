//! Upsert semantics, in one place: the latest record per key is the current value, and a
//! tombstone (`None`) deletes the key. Every input table of every analysis comes through here.
//!
//! ```text
//!   (key, value or tombstone, time) --exchange by key--> per complete time, in arrival order:
//!        each record diffed against its key's value --> (key, old) -1, (key, new) +1
//!                                                  \-> records that changed nothing (duplicates)
//! ```

use std::collections::hash_map::Entry;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use foldhash::HashMap;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::vec::{Map, Partition};

use super::Time;
use super::per_time::per_complete_time;

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
    let mut current: HashMap<K, V> = HashMap::default();
    // `None` rows carry the number of duplicates of the time, so both outputs share one buffer.
    let changes = per_complete_time(
        upserts,
        Exchange::new(|(key, _, _): &(K, Option<V>, T)| key.hashed().into()),
        &format!("upsert {name}"),
        |(_, _, time)| time.clone(),
        |records: &mut Vec<_>, record| records.push(record),
        move |time, records, out| {
            // Each record is diffed against its key's value just before it: a key written twice
            // in one time retracts its first value again, and consolidation downstream nets it.
            let mut duplicates = 0;
            for (key, value, _) in records {
                match value {
                    Some(value) => match current.entry(key) {
                        Entry::Occupied(mut slot) => {
                            if *slot.get() == value {
                                duplicates += 1;
                                continue;
                            }
                            out.push((Some((slot.key().clone(), value.clone())), time.clone(), 1));
                            let previous = slot.insert(value);
                            out.push((Some((slot.key().clone(), previous)), time.clone(), -1));
                        }
                        Entry::Vacant(slot) => {
                            out.push((Some((slot.key().clone(), value.clone())), time.clone(), 1));
                            slot.insert(value);
                        }
                    },
                    // A tombstone of an absent key changes nothing either.
                    None => match current.remove_entry(&key) {
                        Some(previous) => out.push((Some(previous), time.clone(), -1)),
                        None => duplicates += 1,
                    },
                }
            }
            if duplicates > 0 {
                out.push((None, time.clone(), duplicates));
            }
        },
    );
    // Split by moving each update to its part: a second reader of `changes` would get a copy of
    // every row.
    let [rows, duplicates]: [_; 2] = changes
        .partition(2, |update| (u64::from(update.0.is_none()), update))
        .try_into()
        .unwrap_or_else(|_| unreachable!("partition makes as many parts as asked"));
    Upserted {
        current: rows
            .flat_map(|(row, time, diff)| row.map(|row| (row, time, diff)))
            .as_collection(),
        duplicates: duplicates
            .map(|(_, time, count)| ((), time, count))
            .as_collection(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use timely::dataflow::InputHandleVec;
    use timely::dataflow::operators::{Input, Inspect, Probe};

    use super::*;
    use crate::model::Diff;

    const KEYS: u64 = 4;
    const RECORDS: u64 = 40_000;

    /// Worker 0 sends a long run of values to a few keys at time 0, while worker 1 sends a few
    /// records at time 0 and many at time 1; no worker runs the dataflow before all are sent, so
    /// the receiving workers get messages of both times mixed. Returns the rows of those few keys
    /// at time 0.
    fn rows_at_time_0_with_times_mixed() -> Vec<(u64, u64)> {
        let rows = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&rows);
        timely::execute(timely::Config::process(2), move |worker| {
            let mut input: InputHandleVec<u64, (u64, Option<u64>, u64)> = InputHandleVec::new();
            let rows = Arc::clone(&collected);
            let probe = worker.dataflow::<u64, _, _>(|scope| {
                current(scope.input_from(&mut input), "test")
                    .current
                    .inner
                    .inspect(move |update| rows.lock().expect("not poisoned").push(*update))
                    .probe()
                    .0
            });
            if worker.index() == 0 {
                for value in 0..RECORDS {
                    input.send((value % KEYS, Some(value), 0));
                }
            } else {
                for value in 0..RECORDS / 2 {
                    let time = u64::from(value >= 20);
                    input.advance_to(time);
                    input.send((KEYS + value % 8, Some(value), time));
                }
            }
            input.advance_to(2);
            worker.step_while(|| probe.less_than(&2));
        })
        .expect("workers ran");

        let mut counts: HashMap<(u64, u64), Diff> = HashMap::default();
        for ((key, value), time, diff) in rows.lock().expect("not poisoned").iter() {
            if *time == 0 && *key < KEYS {
                *counts.entry((*key, *value)).or_default() += diff;
            }
        }
        let mut rows: Vec<(u64, u64)> = counts
            .into_iter()
            .filter(|(_, count)| *count != 0)
            .map(|(row, _)| row)
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Each key ends at the last value its one sender sent, whatever else arrives in between.
    /// A mix-up depends on how the workers' threads interleave, so the test runs several rounds.
    #[test]
    fn a_key_ends_at_its_last_record_when_times_arrive_mixed() {
        let last: Vec<(u64, u64)> = (RECORDS - KEYS..RECORDS).map(|v| (v % KEYS, v)).collect();
        for round in 0..100 {
            assert_eq!(rows_at_time_0_with_times_mixed(), last, "round {round}");
        }
    }
}
