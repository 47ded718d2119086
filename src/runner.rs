//! A small in-process runner: feeds changes in timestamps through every analysis and collects the
//! encoded output changes, so tests and benchmarks see the rows a consumer would fold.
//!
//! ```text
//!   steps[i] (changes) --worker of hash(key)--> upsert inputs @ time i --> analyses --> encoded rows
//! ```
//! Each change is fed by the worker its key hashes to, as a Kafka partition would be read by one
//! worker, so several workers exercise the same exchanges a cluster does.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dataflows::{AnalysisConfig, analyses};
use crate::inputs::{Inputs, Time};
use crate::model::{Change, Currency, Diff};
use crate::outputs::{EncodedRow, topics};
use differential_dataflow::Hashable;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub workers: usize,
    pub base_currency: Currency,
    /// Encode and keep every output change (tests); off, the rows are only counted, unencoded
    /// (benchmarks of the analyses; encoding is the sink's cost and is measured on its own).
    pub collect: bool,
}

impl RunConfig {
    pub fn new(workers: usize) -> Self {
        RunConfig {
            workers,
            base_currency: Currency::parse("USD").expect("USD is a currency code"),
            collect: true,
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

/// Applies `steps[i]` at time `i` (within a step, the later change of a key wins) and returns
/// every output change.
pub fn run(config: &RunConfig, steps: Vec<Vec<Change>>) -> RunOutput {
    let steps = Arc::new(steps);
    let analysis = AnalysisConfig {
        base_currency: config.base_currency,
    };
    let collect = config.collect;
    let guards = timely::execute(timely::Config::process(config.workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let collected = Rc::new(RefCell::new(RunOutput::default()));
        let mut inputs = Inputs::new();
        let probe = worker.dataflow::<Time, _, _>(|scope| {
            let sink = Rc::clone(&collected);
            if collect {
                let (probe, _) = inputs
                    .encoded_outputs(scope, &analysis)
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
            for change in step.iter().filter(|c| owner(c, peers) == index) {
                inputs.send(change.clone());
            }
            let next = time as Time + 1;
            inputs.advance_to(next);
            worker.step_while(|| probe.less_than(&next));
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

/// The worker that feeds a change: by its key, like the partition of a keyed Kafka record.
fn owner(change: &Change, peers: usize) -> usize {
    let hash = match change {
        Change::Order(id, _) => id.hashed(),
        Change::Customer(id, _) => id.hashed(),
        Change::Product(id, _) | Change::Stock(id, _) => id.hashed(),
        Change::Rate(currency, _) => currency.hashed(),
    };
    (hash % peers as u64) as usize
}
