//! The sink: turns each complete logical time of output rows into Kafka messages and hands them,
//! with the input positions that time covers, to the writer (`crate::writer`), which commits
//! them and their progress record in one transaction.
//!
//! ```text
//!  encoded rows ──exchange by (topic, key)──> per worker, time complete: consolidate,
//!                                             one change per key, envelope ──> messages @t ─┐
//!  input positions @t ─────────────────────────────────────────────────────────────────────┴─>
//!     worker 0, time complete: Epoch{t, messages, positions} ──> writer thread ──> committed t
//! ```
//! Worker 0 holds each time's capability until the writer reports it committed, so the dataflow
//! ends (and `--bounded` exits) only after every instant is in Kafka, and the frontier after this
//! operator is the committed time, which the runtime uses to keep reading from running far ahead.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use differential_dataflow::VecCollection;
use differential_dataflow::consolidation::consolidate;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Operator, Probe};
use timely::dataflow::{ProbeHandle, StreamVec};
use tracing::error;

use crate::codecs::envelope::{KeyChange, encode};
use crate::config::Envelope;
use crate::inputs::Time;
use crate::model::Diff;
use crate::outputs::{EncodedRow, OutputTopic};
use crate::progress::InputPosition;
use crate::repair::{PastProgress, key_hash, repairs};
use crate::writer::{Epoch, Message};

/// How output rows become messages.
#[derive(Clone, Debug)]
pub struct SinkConfig {
    pub envelope: Envelope,
    /// The time a restarted job resumes at: times up to it are already written.
    pub resume_time: Option<Time>,
    /// What the previous run wrote past its last progress, to be taken back at the resume time.
    pub written_after_resume: Arc<PastProgress>,
}

/// A fault the job cannot carry on after; the runtime stops and exits 1 when one is set.
pub type Fault = Arc<Mutex<Option<String>>>;

/// The writer's ends, for the one worker that talks to it.
pub struct WriterChannels {
    pub epochs: Sender<Epoch>,
    pub committed: Receiver<Time>,
}

/// Writes every output row and dead letter through the writer; `writer` is `Some` on the worker
/// that owns it (worker 0). Returns a probe whose frontier is the least uncommitted time.
pub fn sink<'s>(
    rows: VecCollection<'s, Time, EncodedRow>,
    input_positions: StreamVec<'s, Time, InputPosition>,
    config: SinkConfig,
    writer: Option<WriterChannels>,
    fault: Fault,
) -> ProbeHandle<Time> {
    let messages = messages(rows, Arc::new(config), fault.clone());
    let (probe, _) = commit(messages, input_positions, writer, fault).probe();
    probe
}

/// Per worker: buffers rows until their time is complete, then emits each key's change as the
/// messages of the run's envelope (at a resume time, the repairs of what was written past it).
fn messages<'s>(
    rows: VecCollection<'s, Time, EncodedRow>,
    config: Arc<SinkConfig>,
    fault: Fault,
) -> StreamVec<'s, Time, (Message, Time)> {
    // Every change of one (topic, key) must meet in one place: the analyses may emit a key's
    // retraction and its new row on different workers, and only together do they say what the
    // key's message is.
    let by_key =
        Exchange::new(|((topic, key, _), _, _): &(EncodedRow, Time, Diff)| key_hash(topic, key));
    let scope = rows.inner.scope();
    let (worker, peers) = (scope.index(), scope.peers());
    rows.inner
        .unary_frontier(by_key, "encode changes", move |initial, _| {
            // Held at the least time that still has rows buffered.
            let mut held: Option<Capability<Time>> = None;
            let mut pending: BTreeMap<Time, Vec<(EncodedRow, Diff)>> = BTreeMap::new();
            // Keys to repair are repaired even if the snapshot has no row left for any of them.
            if let Some(resume) = config.resume_time
                && !config.written_after_resume.is_empty()
            {
                held = Some(initial.delayed(&resume));
                pending.insert(resume, Vec::new());
            }
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    let mut cap = cap.retain_least(0).expect("a message has a time");
                    // A replay's steps all end at the resume time: its snapshot is their sum.
                    if let Some(resume) = config.resume_time.filter(|r| cap.time() < r) {
                        cap = cap.delayed(&resume);
                    }
                    if held.as_ref().is_none_or(|h| cap.time() < h.time()) {
                        held = Some(cap);
                    }
                    for (row, time, diff) in data.drain(..) {
                        let time = match config.resume_time {
                            // Of the snapshot, only the keys to repair are written.
                            Some(resume) if time <= resume => {
                                let written = &config.written_after_resume;
                                if written.is_empty()
                                    || !written.contains_key(&(row.0, row.1.clone()))
                                {
                                    continue;
                                }
                                resume
                            }
                            _ => time,
                        };
                        pending.entry(time).or_default().push((row, diff));
                    }
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (time, mut changes) = entry.remove_entry();
                    consolidate(&mut changes);
                    let cap = held
                        .as_ref()
                        .expect("buffered rows hold a capability")
                        .delayed(&time);
                    let replayed = config.resume_time.is_some_and(|r| time <= r);
                    let encoded = if replayed {
                        // The replay rebuilt the state as of the last progress: not news, except
                        // where the previous run wrote past it.
                        Ok::<_, String>(repairs(
                            &config.written_after_resume,
                            config.envelope,
                            worker,
                            peers,
                            &changes,
                            time,
                        ))
                    } else {
                        encode_time(config.envelope, time, &changes)
                    };
                    match encoded {
                        Ok(messages) => output
                            .session(&cap)
                            .give_iterator(messages.into_iter().map(|m| (m, time))),
                        Err(message) => set_fault(&fault, format!("worker {worker}: {message}")),
                    }
                }
                match (pending.keys().next(), held.as_mut()) {
                    (Some(next), Some(h)) => h.downgrade(next),
                    _ => held = None,
                }
            }
        })
}

/// One complete time's consolidated changes as messages, in key order.
fn encode_time(
    envelope: Envelope,
    time: Time,
    changes: &[(EncodedRow, Diff)],
) -> Result<Vec<Message>, String> {
    let mut messages = Vec::with_capacity(changes.len());
    for group in changes.chunk_by(|((t1, k1, _), _), ((t2, k2, _), _)| t1 == t2 && k1 == k2) {
        let ((topic, key, _), _) = &group[0];
        if *topic == OutputTopic::DeadLetters {
            messages.extend(group.iter().map(|((_, key, value), _)| Message {
                topic: *topic,
                key: key.clone(),
                value: Some(value.clone()),
            }));
            continue;
        }
        let change = key_change(group).ok_or_else(|| {
            format!(
                "{}: key {key} changed {} times at time {time}; an analysis emitted an invalid update",
                topic.name(),
                group.len()
            )
        })?;
        messages.extend(
            encode(envelope, &change, time)
                .into_iter()
                .map(|value| Message {
                    topic: *topic,
                    key: key.clone(),
                    value,
                }),
        );
    }
    Ok(messages)
}

/// In value form one key changes by at most one row leaving and one arriving.
fn key_change<'a>(group: &'a [(EncodedRow, Diff)]) -> Option<KeyChange<'a>> {
    let mut change = KeyChange {
        before: None,
        after: None,
    };
    for ((_, _, value), diff) in group {
        let slot = match diff {
            -1 => &mut change.before,
            1 => &mut change.after,
            _ => return None,
        };
        if slot.replace(value.as_str()).is_some() {
            return None;
        }
    }
    Some(change)
}

/// On worker 0: gathers each complete time's messages and input positions into an epoch for the
/// writer, and holds the time open until the writer has committed it.
fn commit<'s>(
    messages: StreamVec<'s, Time, (Message, Time)>,
    input_positions: StreamVec<'s, Time, InputPosition>,
    writer: Option<WriterChannels>,
    fault: Fault,
) -> StreamVec<'s, Time, ()> {
    let scope = messages.scope();
    messages.binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
        input_positions,
        Exchange::new(|_: &(Message, Time)| 0),
        Exchange::new(|_: &InputPosition| 0),
        "commit epochs",
        move |_, info| {
            let activator = scope.activator_for(info.address);
            let mut pending: BTreeMap<Time, (Epoch, Option<Capability<Time>>)> = BTreeMap::new();
            // Handed to the writer, not yet committed, in time order.
            let mut in_flight: VecDeque<Capability<Time>> = VecDeque::new();
            move |(messages, frontier1), (positions, frontier2), _output| {
                messages.for_each(|cap, data| {
                    for (message, time) in data.drain(..) {
                        let (epoch, held) = pending.entry(time).or_default();
                        held.get_or_insert_with(|| cap.delayed(&time, 0));
                        epoch.messages.push(message);
                    }
                });
                positions.for_each(|cap, data| {
                    let time = *cap.least().expect("a message has a time");
                    let (epoch, held) = pending.entry(time).or_default();
                    held.get_or_insert_with(|| cap.retain_least(0).expect("a message has a time"));
                    epoch.inputs.append(data);
                });
                let Some(writer) = writer.as_ref() else {
                    return;
                };
                while let Some(entry) = pending.first_entry() {
                    let time = *entry.key();
                    if frontier1.less_equal(&time) || frontier2.less_equal(&time) {
                        break;
                    }
                    let (mut epoch, held) = entry.remove();
                    epoch.time = time;
                    let Some(held) = held else { continue };
                    if epoch.messages.is_empty() && epoch.inputs.is_empty() {
                        continue;
                    }
                    if writer.epochs.send(epoch).is_err() {
                        // The writer stopped; it set the fault that says why.
                        return;
                    }
                    in_flight.push_back(held);
                }
                while let Ok(committed) = writer.committed.try_recv() {
                    while in_flight
                        .front()
                        .is_some_and(|cap| *cap.time() <= committed)
                    {
                        in_flight.pop_front();
                    }
                }
                if !in_flight.is_empty() && fault.lock().map(|f| f.is_none()).unwrap_or(false) {
                    // Commits are reported without any input: look again shortly.
                    activator.activate_after(Duration::from_millis(1));
                }
            }
        },
    )
}

/// Records the first fault; the workers see it and stop.
pub fn set_fault(fault: &Fault, message: String) {
    error!(%message, "the sink cannot continue");
    fault
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, value: &str) -> EncodedRow {
        (OutputTopic::SalesTotal, key.to_string(), value.to_string())
    }

    #[test]
    fn each_key_becomes_one_change_in_the_envelope() {
        let mut changes = vec![
            (row("a", "old"), -1),
            (row("a", "new"), 1),
            (row("b", "gone"), -1),
        ];
        consolidate(&mut changes);
        let upsert = encode_time(Envelope::Upsert, 7, &changes).expect("valid changes");
        let values: Vec<(&str, Option<&str>)> = upsert
            .iter()
            .map(|m| (m.key.as_str(), m.value.as_deref()))
            .collect();
        assert_eq!(values, [("a", Some("new")), ("b", None)]);
        let diff = encode_time(Envelope::Diff, 7, &changes).expect("valid changes");
        assert_eq!(
            diff.len(),
            3,
            "a retraction and an insertion for a, a retraction for b"
        );
    }

    #[test]
    fn two_rows_arriving_for_one_key_is_a_fault_not_a_guess() {
        let changes = vec![(row("a", "x"), 1), (row("a", "y"), 1)];
        let error = encode_time(Envelope::Upsert, 3, &changes).expect_err("invalid");
        assert!(error.contains("changed 2 times at time 3"), "{error}");
    }
}
