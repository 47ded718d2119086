//! Where a raw input record becomes a change for the dataflow, or a bad record for the dead
//! letters, and is counted either way. The Kafka job and the in-process runner both take records
//! in here, so they decode and count alike.

use std::collections::{BTreeMap, HashMap};

use smol_str::SmolStr;

use crate::codecs::json::{DecodeConfig, DecodeError, ErrorKind, decode};
use crate::dataflows::Counter;
use crate::inputs::{Inputs, Time};
use crate::model::{Change, InputTopic};

/// What happened to the records of one input topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopicCounts {
    pub consumed: u64,
    pub applied: u64,
    pub dead_lettered: u64,
    pub tombstones: u64,
}

impl TopicCounts {
    pub fn add(&mut self, other: &TopicCounts) {
        self.consumed += other.consumed;
        self.applied += other.applied;
        self.dead_lettered += other.dead_lettered;
        self.tombstones += other.tombstones;
    }
}

/// The counts of the records taken at one time, not yet sent to the dataflow.
#[derive(Default)]
struct Tally {
    topics: [TopicCounts; InputTopic::ALL.len()],
    errors: BTreeMap<(usize, ErrorKind), u64>,
}

/// Decodes and counts this worker's input records.
pub struct Intake {
    decode: DecodeConfig,
    /// A few times at most: a restart's replay and the first new epoch.
    pending: BTreeMap<Time, Tally>,
    totals: HashMap<InputTopic, TopicCounts>,
}

impl Intake {
    pub fn new(decode: DecodeConfig) -> Self {
        Intake {
            decode,
            pending: BTreeMap::new(),
            totals: HashMap::new(),
        }
    }

    /// Decodes one record and feeds a good one to `inputs` at `time`; a bad one is handed back,
    /// for the caller to dead-letter.
    pub fn take(
        &mut self,
        inputs: &mut Inputs,
        topic: InputTopic,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        time: Time,
    ) -> Result<(), DecodeError> {
        let result = decode(topic, key, value, &self.decode);
        let index = topic_index(topic);
        let tally = self.pending.entry(time).or_default();
        let counts = &mut tally.topics[index];
        counts.consumed += 1;
        match result {
            Ok(change) => {
                counts.applied += 1;
                counts.tombstones += u64::from(is_tombstone(&change));
                inputs.send_at(change, time);
                Ok(())
            }
            Err(error) => {
                counts.dead_lettered += 1;
                *tally.errors.entry((index, error.kind)).or_default() += 1;
                Err(error)
            }
        }
    }

    /// Sends the counts taken so far into `inputs`; call before advancing them past the times.
    /// Returns them per topic.
    pub fn flush(&mut self, inputs: &mut Inputs) -> Vec<(InputTopic, TopicCounts)> {
        let mut flushed = Vec::new();
        for (time, tally) in std::mem::take(&mut self.pending) {
            for (topic, counts) in InputTopic::ALL.into_iter().zip(&tally.topics) {
                let fixed = [
                    (Counter::Consumed, counts.consumed),
                    (Counter::Applied, counts.applied),
                    (Counter::DeadLettered, counts.dead_lettered),
                    (Counter::Tombstone, counts.tombstones),
                ];
                for (counter, count) in fixed.into_iter().filter(|(_, n)| *n > 0) {
                    inputs.count_at(topic, counter, count, time);
                }
                self.totals.entry(topic).or_default().add(counts);
                flushed.push((topic, *counts));
            }
            for ((index, kind), count) in tally.errors {
                let counter = Counter::Error(SmolStr::new_static(kind.as_str()));
                inputs.count_at(InputTopic::ALL[index], counter, count, time);
            }
        }
        flushed
    }

    /// Everything flushed so far, per topic.
    pub fn totals(&self) -> &HashMap<InputTopic, TopicCounts> {
        &self.totals
    }
}

fn topic_index(topic: InputTopic) -> usize {
    topic as usize
}

fn is_tombstone(change: &Change) -> bool {
    matches!(
        change,
        Change::Order(_, None)
            | Change::Customer(_, None)
            | Change::Product(_, None)
            | Change::Rate(_, None)
            | Change::Stock(_, None)
    )
}
