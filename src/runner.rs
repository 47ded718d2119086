//! A small in-process runner: feeds raw input records in timestamps through the job's intake and
//! every analysis, and collects the encoded output changes, so tests and benchmarks see the rows
//! a consumer would fold.
//!
//! ```text
//!   steps[i] (records) --worker of hash(key)--> intake (decode, count) @ time i --> analyses --> rows
//! ```
//! Each record is fed by the worker its key hashes to, as a Kafka partition would be read by one
//! worker, so several workers exercise the same exchanges a cluster does.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::Hashable;

use crate::codecs::input;
use crate::codecs::json::{DecodeConfig, decode};
use crate::dataflows::{AnalysisConfig, analyses};
use crate::inputs::{Inputs, Time};
use crate::intake::Intake;
use crate::model::{Change, Diff, InputTopic};
use crate::outputs::{EncodedRow, default_input_names, topics};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub workers: usize,
    pub analysis: AnalysisConfig,
    pub decode: DecodeConfig,
    /// Encode and keep every output change (tests); off, the rows are only counted, unencoded
    /// (benchmarks of the analyses; encoding is the sink's cost and is measured on its own).
    pub collect: bool,
    /// Feed the next step without waiting for the last one's output, each worker at its own pace,
    /// so many times are in flight at once and workers are at different times, as in the job.
    pub pipelined: bool,
}

impl RunConfig {
    /// Every analysis, default thresholds, base currency USD.
    pub fn new(workers: usize) -> Self {
        let decode = DecodeConfig::default();
        RunConfig {
            workers,
            analysis: AnalysisConfig::all(decode.base_currency),
            decode,
            collect: true,
            pipelined: false,
        }
    }
}

/// One input record as a producer wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    pub topic: InputTopic,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

impl RawRecord {
    /// The record a producer writes for `change`.
    pub fn of(change: &Change) -> Self {
        let (topic, key, value) = input::encode(change);
        RawRecord {
            topic,
            key: Some(key.into_bytes()),
            value: value.map(String::into_bytes),
        }
    }
}

/// One change of one output row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChange {
    pub topic: &'static str,
    pub key: String,
    pub value: String,
    pub time: u64,
    pub diff: Diff,
}

/// Output tables as a consumer folds them: topic -> key JSON -> value JSON.
pub type Tables = BTreeMap<String, BTreeMap<String, String>>;

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub changes: Vec<OutputChange>,
    /// Output changes in all, also when they are not collected.
    pub change_count: usize,
    /// Wall time from feeding each step to all of its output being complete (worker 0's view).
    pub step_durations: Vec<Duration>,
}

impl RunOutput {
    /// The tables after folding every change at time `<= time`.
    ///
    /// Panics if the changes do not fold into a table (a row removed that was not there, or two
    /// rows for one key): in value form that is a bug in an analysis.
    pub fn tables_at(&self, time: u64) -> Tables {
        let mut multiset: BTreeMap<(&str, &str, &str), Diff> = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.time <= time) {
            *multiset
                .entry((change.topic, &change.key, &change.value))
                .or_default() += change.diff;
        }
        let mut tables = Tables::new();
        for ((topic, key, value), count) in multiset {
            match count {
                0 => {}
                1 => {
                    let previous = tables
                        .entry(topic.to_string())
                        .or_default()
                        .insert(key.to_string(), value.to_string());
                    assert!(
                        previous.is_none(),
                        "{topic}: two rows for key {key} at time {time}"
                    );
                }
                _ => panic!("{topic}: row {value} has multiplicity {count} at time {time}"),
            }
        }
        tables
    }
}

/// Applies `steps[i]` at time `i` (within a step, the later record of a key wins) and returns
/// every output change.
pub fn run(config: &RunConfig, steps: Vec<Vec<RawRecord>>) -> RunOutput {
    let workers = config.workers;
    // Which worker feeds each record is settled once, up front, as partitions are.
    let steps: Vec<Vec<(usize, RawRecord)>> = steps
        .into_iter()
        .map(|step| {
            step.into_iter()
                .map(|record| (owner(&record, &config.decode, workers), record))
                .collect()
        })
        .collect();
    let steps = Arc::new(steps);
    let analysis = config.analysis.clone();
    let decode_config = config.decode.clone();
    let collect = config.collect;
    let pipelined = config.pipelined;
    let guards = timely::execute(timely::Config::process(config.workers), move |worker| {
        let index = worker.index();
        let collected = Rc::new(RefCell::new(RunOutput::default()));
        let mut inputs = Inputs::new();
        let mut intake = Intake::new(decode_config.clone());
        let input_names = default_input_names();
        let probe = worker.dataflow::<Time, _, _>(|scope| {
            let sink = Rc::clone(&collected);
            if collect {
                let (probe, _) = inputs
                    .encoded_outputs(scope, &analysis, &input_names, None)
                    .inspect(
                        move |((topic, key, value), time, diff): &(EncodedRow, Time, Diff)| {
                            let mut out = sink.borrow_mut();
                            out.change_count += 1;
                            out.changes.push(OutputChange {
                                topic: topic.name(),
                                key: key.clone(),
                                value: value.clone(),
                                time: *time,
                                diff: *diff,
                            });
                        },
                    )
                    .probe();
                probe
            } else {
                let views = analyses(inputs.tables(scope), &analysis);
                let (probe, _) = topics(views)
                    .inspect(move |_| sink.borrow_mut().change_count += 1)
                    .probe();
                probe
            }
        });
        for (time, step) in steps.iter().enumerate() {
            let started = Instant::now();
            inputs.advance_to(time as Time);
            for (_, record) in step.iter().filter(|(owner, _)| *owner == index) {
                let key = record.key.as_deref();
                let value = record.value.as_deref();
                // A bad record is counted by the intake; the runner has no dead-letter topic.
                let _ = intake.take(&mut inputs, record.topic, key, value, time as Time);
            }
            intake.flush(&mut inputs);
            let next = time as Time + 1;
            inputs.advance_to(next);
            if pipelined {
                // Worker i steps its dataflow only every (i + 2)-th time: the workers drift apart.
                if time % (index + 2) == 0 {
                    worker.step();
                }
            } else {
                worker.step_while(|| probe.less_than(&next));
            }
            collected
                .borrow_mut()
                .step_durations
                .push(started.elapsed());
        }
        drop(inputs);
        while worker.step_or_park(None) {}
        let mut output = collected.borrow_mut();
        if index != 0 {
            output.step_durations.clear();
        }
        std::mem::take(&mut *output)
    })
    .expect("timely starts in-process workers");
    let mut output = RunOutput::default();
    for result in guards.join() {
        let part = result.expect("a worker finished");
        output.changes.extend(part.changes);
        output.change_count += part.change_count;
        output.step_durations.extend(part.step_durations);
    }
    output
}

/// The worker that feeds a record: by its decoded key, like the partition of a keyed Kafka record
/// (a record without a key is read as keyed by its id). Bad records go by their raw key.
fn owner(record: &RawRecord, config: &DecodeConfig, peers: usize) -> usize {
    let key = record.key.as_deref();
    let hash = match decode(record.topic, key, record.value.as_deref(), config) {
        Ok(Change::Order(id, _)) => id.hashed(),
        Ok(Change::Customer(id, _)) => id.hashed(),
        Ok(Change::Product(id, _) | Change::Stock(id, _)) => id.hashed(),
        Ok(Change::Rate(currency, _)) => currency.hashed(),
        Err(_) => key.hashed(),
    };
    (hash % peers as u64) as usize
}
