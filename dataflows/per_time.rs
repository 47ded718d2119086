//! Folding records per time until the time is complete, then handing the whole time over at once.
//!
//! Operators that need to see every record of a time on this worker (to keep the latest per key,
//! or to sum before an exchange) share this one fold-and-release shape.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use differential_dataflow::difference::Semigroup;
use differential_dataflow::{AsCollection, Data, VecCollection};
use foldhash::HashMap;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{ParallelizationContract, Pipeline};
use timely::dataflow::operators::{Capability, Operator};

use super::Time;

/// Folds this worker's records of each time (`time_of` each record) into a state, `add` by `add`
/// as they arrive, until the input frontier has passed the time; then emits `logic(time, state)`
/// at that time. `pact` says which worker each record goes to (`Pipeline`: this one).
///
/// Records are added in each sender's order, message by message, as their channel delivers
/// them. (timely's `exchange` operator does not keep that order: it sorts the messages of each
/// activation by time with an unstable sort, which can swap two messages of the same time.)
pub fn per_complete_time<'s, T, D, S, D2, P>(
    stream: StreamVec<'s, T, D>,
    pact: P,
    name: &str,
    time_of: impl Fn(&D) -> T + 'static,
    mut add: impl FnMut(&mut S, D) + 'static,
    mut logic: impl FnMut(&T, S, &mut Vec<D2>) + 'static,
) -> StreamVec<'s, T, D2>
where
    T: Time,
    D: Data,
    S: Default + 'static,
    D2: Data,
    P: ParallelizationContract<T, Vec<D>>,
{
    stream.unary_frontier(pact, name, move |_cap, _info| {
        // Held at the least time that still has records folded in.
        let mut held: Option<Capability<T>> = None;
        let mut pending: BTreeMap<T, S> = BTreeMap::new();
        let mut out = Vec::new();
        move |(input, frontier), output| {
            input.for_each(|cap, data| {
                let cap = cap
                    .retain_least(0)
                    .expect("a message has at least one time");
                if held.as_ref().is_none_or(|h| cap.time() < h.time()) {
                    held = Some(cap);
                }
                for record in data.drain(..) {
                    add(pending.entry(time_of(&record)).or_default(), record);
                }
            });
            while let Some(entry) = pending.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (time, state) = entry.remove_entry();
                let cap = held
                    .as_ref()
                    .expect("folded records hold a capability")
                    .delayed(&time);
                logic(&time, state, &mut out);
                output.session(&cap).give_iterator(out.drain(..));
            }
            match (pending.keys().next(), held.as_mut()) {
                (Some(next), Some(h)) => h.downgrade(next),
                _ => held = None,
            }
        }
    })
}

/// Sums each time's updates on this worker before they are exchanged: the orders of one batch
/// that share a group cross the network, and reach an arrangement, as one update.
///
/// Summing in a hash map rather than by sorting: a batch has many updates per group, and hashing
/// each once is cheaper than comparing them in a sort. Each update is added as it arrives, so a
/// time holds one sum per group, not every update.
pub fn pre_aggregate<'s, T, D, R>(
    collection: VecCollection<'s, T, D, R>,
    name: &str,
) -> VecCollection<'s, T, D, R>
where
    T: Time,
    D: Data + Hash,
    R: Semigroup + Data,
{
    per_complete_time(
        collection.inner,
        Pipeline,
        name,
        |(_, time, _): &(D, T, R)| time.clone(),
        |sums: &mut HashMap<D, R>, (data, _, diff)| match sums.entry(data) {
            Entry::Occupied(mut sum) => sum.get_mut().plus_equals(&diff),
            Entry::Vacant(slot) => drop(slot.insert(diff)),
        },
        |time, sums, out| {
            out.extend(
                sums.into_iter()
                    .filter(|(_, sum)| !sum.is_zero())
                    .map(|(data, sum)| (data, time.clone(), sum)),
            );
        },
    )
    .as_collection()
}
