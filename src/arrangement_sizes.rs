//! How many updates and batches each arrangement of a worker holds, for `/metrics`.
//!
//! Differential logs every batch a trace gains, every merge of two batches into one and every
//! batch a dropped trace lets go, per operator id; those events balance, so their running sum is
//! what the trace holds now. Timely logs each operator's name once, when its dataflow is built,
//! which turns ids into the names the analyses give their arrangements. Both logs are flushed
//! in no fixed order, so names are joined to sizes only when the metrics are rendered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use timely::logging::{TimelyEvent, TimelyEventBuilder};

use crate::metrics::Metrics;

/// What one trace holds now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceSize {
    pub records: i64,
    pub batches: i64,
}

impl TraceSize {
    /// Folds one differential event about this trace in.
    fn apply(&mut self, event: &DifferentialEvent) {
        match event {
            DifferentialEvent::Batch(batch) => {
                self.records += batch.length as i64;
                self.batches += 1;
            }
            // A merge replaces its two batches with one; its start changes nothing yet.
            DifferentialEvent::Merge(merge) => {
                if let Some(merged) = merge.complete {
                    self.records += merged as i64 - merge.length1 as i64 - merge.length2 as i64;
                    self.batches -= 1;
                }
            }
            DifferentialEvent::Drop(drop) => {
                self.records -= drop.length as i64;
                self.batches -= 1;
            }
            _ => {}
        }
    }
}

fn operator_of(event: &DifferentialEvent) -> Option<usize> {
    match event {
        DifferentialEvent::Batch(e) => Some(e.operator),
        DifferentialEvent::Merge(e) => Some(e.operator),
        DifferentialEvent::Drop(e) => Some(e.operator),
        _ => None,
    }
}

/// Starts counting the arrangements of the dataflows `worker` builds from now on, into `metrics`.
///
/// Call it before building them: an operator looks its loggers up when it is built.
pub fn watch(worker: &mut timely::worker::Worker, metrics: &Arc<Metrics>) {
    let Some(mut register) = worker.log_register() else {
        return;
    };
    let index = worker.index();
    let namer = Arc::clone(metrics);
    // With a timely logger every operator also logs its scheduling; that stays in a buffer
    // flushed here and ignored, the price of knowing the names.
    register.insert::<TimelyEventBuilder, _>("timely", move |_, events| {
        for (_, event) in events.iter().flatten() {
            if let TimelyEvent::Operates(operates) = event {
                namer.name_operator(operates.id, &operates.name);
            }
        }
    });
    let metrics = Arc::clone(metrics);
    let mut sizes: BTreeMap<usize, TraceSize> = BTreeMap::new();
    register.insert::<DifferentialEventBuilder, _>("differential/arrange", move |_, events| {
        let mut changed = BTreeSet::new();
        for (_, event) in events.iter().flatten() {
            if let Some(operator) = operator_of(event) {
                sizes.entry(operator).or_default().apply(event);
                changed.insert(operator);
            }
        }
        for operator in changed {
            metrics.set_arrangement(index, operator, sizes[&operator].clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use differential_dataflow::input::Input;
    use differential_dataflow::logging::{BatchEvent, DropEvent, MergeEvent};

    #[test]
    fn batches_merges_and_drops_balance() {
        let mut size = TraceSize::default();
        // The start and the end of merging the two batches below.
        let merge_of_both = |complete| {
            MergeEvent {
                operator: 1,
                scale: 0,
                length1: 5,
                length2: 3,
                complete,
            }
            .into()
        };
        let events: [DifferentialEvent; 4] = [
            BatchEvent {
                operator: 1,
                length: 5,
            }
            .into(),
            BatchEvent {
                operator: 1,
                length: 3,
            }
            .into(),
            merge_of_both(None),
            // Two updates cancelled out in the merge.
            merge_of_both(Some(6)),
        ];
        for event in &events {
            size.apply(event);
        }
        assert_eq!(
            size,
            TraceSize {
                records: 6,
                batches: 1
            }
        );
        size.apply(
            &DropEvent {
                operator: 1,
                length: 6,
            }
            .into(),
        );
        assert_eq!(size, TraceSize::default());
    }

    #[test]
    fn a_running_arrangement_reports_its_name_and_updates() {
        let metrics = Metrics::new(1);
        let shared = Arc::clone(&metrics);
        let running = timely::execute_directly(move |worker| {
            watch(worker, &shared);
            // The trace is kept: an arrangement nobody reads keeps no batches.
            let (mut input, _trace) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, pairs) = scope.new_collection::<(u64, u64), isize>();
                (input, pairs.arrange_by_key_named("pairs by key").trace)
            });
            for key in 0..10u64 {
                input.insert((key, key * 2));
            }
            input.advance_to(1);
            input.flush();
            // The batch is sealed once the frontier passes time 0, some steps from now.
            for _ in 0..1000 {
                worker.step();
                if shared
                    .openmetrics()
                    .contains("{operator=\"pairs by key\",id=\"2\"} 10\n")
                {
                    break;
                }
            }
            shared.openmetrics()
        });
        let sizes = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("salesflow_arrangement_"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            sizes(&running),
            [
                "salesflow_arrangement_records{operator=\"pairs by key\",id=\"2\"} 10",
                "salesflow_arrangement_batches{operator=\"pairs by key\",id=\"2\"} 1",
            ],
            "{running}"
        );
        // The worker is gone, and its trace with it.
        assert_eq!(
            sizes(&metrics.openmetrics()),
            [
                "salesflow_arrangement_records{operator=\"pairs by key\",id=\"2\"} 0",
                "salesflow_arrangement_batches{operator=\"pairs by key\",id=\"2\"} 0",
            ]
        );
    }
}
