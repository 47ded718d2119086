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

use differential_dataflow::Hashable;
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::Input;

use crate::dataflows::{self, AnalysisConfig, analyses, upsert};
use crate::model::{Change, Currency, Diff};
use crate::outputs::{EncodedRow, encode};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub workers: usize,
    pub base_currency: Currency,
    /// Keep every output change (tests); off, only their number is kept (benchmarks).
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
        let mut orders = InputHandleVec::new();
        let mut customers = InputHandleVec::new();
        let mut products = InputHandleVec::new();
        let mut rates = InputHandleVec::new();
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            let tables = dataflows::Tables {
                orders: upsert::current(scope.input_from(&mut orders), "orders"),
                customers: upsert::current(scope.input_from(&mut customers), "customers"),
                products: upsert::current(scope.input_from(&mut products), "products"),
                rates: upsert::current(scope.input_from(&mut rates), "fx_rates"),
            };
            let sink = Rc::clone(&collected);
            let (probe, _) = encode(analyses(tables, &analysis))
                .inspect(
                    move |((topic, key, value), time, diff): &(EncodedRow, u64, Diff)| {
                        let mut out = sink.borrow_mut();
                        out.change_count += 1;
                        if collect {
                            out.changes.push(OutputChange {
                                topic: topic.name(),
                                key: key.clone(),
                                value: value.clone(),
                                time: *time,
                                diff: *diff,
                            });
                        }
                    },
                )
                .probe();
            probe
        });
        for (time, step) in steps.iter().enumerate() {
            let started = Instant::now();
            let time = time as u64;
            for change in step.iter().filter(|c| owner(c, peers) == index) {
                match change.clone() {
                    Change::Order(id, order) => orders.send((id, order, time)),
                    Change::Customer(id, customer) => customers.send((id, customer, time)),
                    Change::Product(id, product) => products.send((id, product, time)),
                    Change::Rate(currency, rate) => rates.send((currency, rate, time)),
                    // Stock counts feed no analysis of this runner yet.
                    Change::Stock(..) => {}
                }
            }
            let next = time + 1;
            orders.advance_to(next);
            customers.advance_to(next);
            products.advance_to(next);
            rates.advance_to(next);
            worker.step_while(|| probe.less_than(&next));
            collected
                .borrow_mut()
                .step_durations
                .push(started.elapsed());
        }
        drop((orders, customers, products, rates));
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
