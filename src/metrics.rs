//! The job's own health: every Prometheus metric, named here, and whether this process is ready
//! (every worker has read its inputs up to their ends at start). `crate::http` serves them.
//!
//! `prometheus-client` writes the text format.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::arrangement_sizes::TraceSize;

type TopicLabel = Vec<(&'static str, String)>;
/// An arrangement's operator name, and its id, which tells apart operators of the same name.
type ArrangementLabel = Vec<(&'static str, String)>;

/// Every metric the job keeps, shared by its workers.
pub struct Metrics {
    registry: Registry,
    pub consumed: Family<TopicLabel, Counter>,
    pub applied: Family<TopicLabel, Counter>,
    pub dead_lettered: Family<TopicLabel, Counter>,
    pub output_changes: Family<TopicLabel, Counter>,
    /// Seconds from the end of a logical time (wall clock) until its output is acknowledged.
    pub epoch_latency: Histogram,
    /// Seconds to write and commit one batch of instants with its progress record.
    pub transaction_seconds: Histogram,
    /// The last logical time (ms) whose progress record was written.
    pub last_progress: Gauge,
    /// Records per input topic past the offsets the last progress record covers.
    pub consumer_lag: Family<TopicLabel, Gauge>,
    /// Updates and batches per arrangement, summed over this process's workers when rendered.
    arrangement_records: Family<ArrangementLabel, Gauge>,
    arrangement_batches: Family<ArrangementLabel, Gauge>,
    /// What each (operator id, worker) holds, as its logger last saw it.
    arrangements: Mutex<BTreeMap<(usize, usize), TraceSize>>,
    /// Operator names by id; every worker builds the same dataflow, with the same ids.
    operator_names: Mutex<HashMap<usize, String>>,
    /// Input records read over every topic, for the dashboard's records/s.
    consumed_all: AtomicU64,
    /// The input offsets the last committed progress record covers, per (topic, partition).
    committed_inputs: Mutex<BTreeMap<(String, i32), i64>>,
    /// The last lag measured per input topic, for the dashboard's total.
    lags: Mutex<BTreeMap<String, i64>>,
    workers: usize,
    restored: AtomicUsize,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(workers: usize) -> Arc<Self> {
        let mut registry = Registry::with_prefix("salesflow");
        let consumed = Family::default();
        let applied = Family::default();
        let dead_lettered = Family::default();
        let output_changes = Family::default();
        let epoch_latency =
            Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        let transaction_seconds = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        let last_progress = Gauge::default();
        let consumer_lag = Family::default();
        let arrangement_records = Family::default();
        let arrangement_batches = Family::default();
        registry.register(
            "records_consumed",
            "Input records read, per topic",
            consumed.clone(),
        );
        registry.register(
            "records_applied",
            "Input records decoded and applied, per topic",
            applied.clone(),
        );
        registry.register(
            "records_dead_lettered",
            "Input records sent to the dead-letter topic, per topic",
            dead_lettered.clone(),
        );
        registry.register(
            "output_changes",
            "Change messages written, per output topic",
            output_changes.clone(),
        );
        registry.register(
            "epoch_latency_seconds",
            "From the end of a logical time to the broker acknowledging its output",
            epoch_latency.clone(),
        );
        registry.register(
            "transaction_seconds",
            "Writing and committing one batch of instants with its progress record",
            transaction_seconds.clone(),
        );
        registry.register(
            "last_progress_time_ms",
            "The last logical time written to the progress topic",
            last_progress.clone(),
        );
        registry.register(
            "consumer_lag_records",
            "Input records past the offsets the last progress record covers, per topic",
            consumer_lag.clone(),
        );
        registry.register(
            "arrangement_records",
            "Updates an arrangement holds, over this process's workers",
            arrangement_records.clone(),
        );
        registry.register(
            "arrangement_batches",
            "Batches an arrangement holds, over this process's workers",
            arrangement_batches.clone(),
        );
        Arc::new(Metrics {
            registry,
            consumed,
            applied,
            dead_lettered,
            output_changes,
            epoch_latency,
            transaction_seconds,
            last_progress,
            consumer_lag,
            arrangement_records,
            arrangement_batches,
            arrangements: Mutex::new(BTreeMap::new()),
            operator_names: Mutex::new(HashMap::new()),
            consumed_all: AtomicU64::new(0),
            committed_inputs: Mutex::new(BTreeMap::new()),
            lags: Mutex::new(BTreeMap::new()),
            workers,
            restored: AtomicUsize::new(0),
        })
    }

    pub fn topic(name: &str) -> TopicLabel {
        vec![("topic", name.to_string())]
    }

    /// Counts records read from one input topic (full name).
    pub fn count_input(&self, topic: &str, consumed: u64, applied: u64, dead_lettered: u64) {
        let label = Metrics::topic(topic);
        self.consumed.get_or_create(&label).inc_by(consumed);
        self.applied.get_or_create(&label).inc_by(applied);
        self.dead_lettered
            .get_or_create(&label)
            .inc_by(dead_lettered);
        self.consumed_all.fetch_add(consumed, Ordering::Relaxed);
    }

    /// Input records read by this process so far, over every topic.
    pub fn consumed_all(&self) -> u64 {
        self.consumed_all.load(Ordering::Relaxed)
    }

    /// The input offsets a progress record just committed covers.
    pub fn committed_inputs(&self, inputs: &crate::progress::Offsets) {
        let mut committed = self
            .committed_inputs
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (topic, partitions) in inputs {
            for (partition, next) in partitions {
                committed.insert((topic.clone(), *partition), *next);
            }
        }
    }

    /// The next input offset the last committed progress covers (0: none yet).
    pub fn committed_input(&self, topic: &str, partition: i32) -> i64 {
        self.committed_inputs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(topic.to_string(), partition))
            .copied()
            .unwrap_or(0)
    }

    /// Records the lag of one input topic: records past the committed progress.
    pub fn set_lag(&self, topic: &str, lag: i64) {
        self.consumer_lag
            .get_or_create(&Metrics::topic(topic))
            .set(lag);
        self.lags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_string(), lag);
    }

    /// The last measured lag over every input topic.
    pub fn total_lag(&self) -> i64 {
        self.lags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }

    /// One worker of this process has read its inputs up to their ends at start.
    pub fn worker_restored(&self) {
        self.restored.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.restored.load(Ordering::Relaxed) >= self.workers
    }

    /// What one worker's arrangement `operator` holds now.
    pub fn set_arrangement(&self, worker: usize, operator: usize, size: TraceSize) {
        self.arrangements
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((operator, worker), size);
    }

    /// The name of operator `id`, as its dataflow was built.
    pub fn name_operator(&self, id: usize, name: &str) {
        self.operator_names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, name.to_string());
    }

    /// Sums each arrangement over the workers into its gauges.
    fn render_arrangements(&self) {
        let arrangements = self.arrangements.lock().unwrap_or_else(|p| p.into_inner());
        let names = self
            .operator_names
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut sums: BTreeMap<usize, TraceSize> = BTreeMap::new();
        for ((operator, _worker), size) in arrangements.iter() {
            let sum = sums.entry(*operator).or_default();
            sum.records += size.records;
            sum.batches += size.batches;
        }
        for (operator, size) in sums {
            // A size may be logged before its operator's name; it is shown once both are.
            let Some(name) = names.get(&operator) else {
                continue;
            };
            let label = vec![("operator", name.clone()), ("id", operator.to_string())];
            self.arrangement_records
                .get_or_create(&label)
                .set(size.records);
            self.arrangement_batches
                .get_or_create(&label)
                .set(size.batches);
        }
    }

    /// Every metric in the OpenMetrics text format (what Prometheus asks for first).
    pub fn openmetrics(&self) -> String {
        self.render_arrangements();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Every metric in the Prometheus text format 0.0.4, for clients that do not ask for
    /// OpenMetrics.
    pub fn prometheus(&self) -> String {
        openmetrics_to_prometheus(&self.openmetrics())
    }
}

/// The two formats differ where it matters here in how a counter is named: OpenMetrics names the
/// family `x` and its sample `x_total`, Prometheus 0.0.4 names both `x_total`. Unit lines and the
/// end marker exist only in OpenMetrics.
fn openmetrics_to_prometheus(text: &str) -> String {
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|tag| {
            let rest = line.strip_prefix(tag)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{tag}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_total_in_the_prometheus_format() {
        let metrics = Metrics::new(1);
        metrics.count_input("orders", 3, 2, 1);
        metrics.set_lag("orders", 7);
        let text = metrics.prometheus();
        assert!(text.contains("# TYPE salesflow_records_consumed_total counter\n"));
        assert!(text.contains("salesflow_records_consumed_total{topic=\"orders\"} 3\n"));
        assert!(text.contains("# TYPE salesflow_consumer_lag_records gauge\n"));
        assert!(text.contains("salesflow_consumer_lag_records{topic=\"orders\"} 7\n"));
        assert!(!text.contains("# EOF"));
        assert!(metrics.openmetrics().ends_with("# EOF\n"));
        assert_eq!(metrics.consumed_all(), 3);
        assert_eq!(metrics.total_lag(), 7);
    }
}
