//! Consumer lag: per input topic, the records on the broker past the input offsets that the last
//! committed progress record covers (what `kafka-consumer-groups --describe` calls lag, with the
//! progress record in the role of the committed offsets).
//!
//! ```text
//!  writer: commit ─> metrics.committed_inputs ─┐
//!  lag thread, every LAG_EVERY: end offsets ───┴─> salesflow_consumer_lag_records{topic}
//! ```
//! Measured on a thread of its own with its own consumer, so the broker round trips never slow
//! reading or writing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::Consumer;
use tracing::warn;

use crate::kafka::Kafka;
use crate::metrics::Metrics;

/// How often lag is measured: often enough for a dashboard, rare enough to cost the broker little.
const LAG_EVERY: Duration = Duration::from_secs(2);

/// Measures the lag of `partitions` (topic, partition) until `stop` is set.
pub fn watch(
    kafka: &Kafka,
    group: &str,
    partitions: Vec<(String, i32)>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let consumer = kafka.consumer(group)?;
    std::thread::Builder::new()
        .name("salesflow-lag".to_string())
        .spawn(move || {
            let mut warned = false;
            while !stop.load(Ordering::Relaxed) {
                // A topic one of whose partitions did not answer keeps its last lag.
                let mut lags: BTreeMap<&str, Option<i64>> = BTreeMap::new();
                for (topic, partition) in &partitions {
                    match consumer.fetch_watermarks(topic, *partition, LAG_EVERY) {
                        Ok((_, end)) => {
                            let committed = metrics.committed_input(topic, *partition);
                            let lag = lags.entry(topic).or_insert(Some(0));
                            *lag = lag.map(|l| l + (end - committed).max(0));
                        }
                        // The broker being away is reported by the reader and the writer; one
                        // line here is enough, and the last lag stays shown.
                        Err(error) => {
                            if !warned {
                                warn!(%error, "cannot measure consumer lag; retrying");
                                warned = true;
                            }
                            lags.insert(topic, None);
                        }
                    }
                }
                for (topic, lag) in lags {
                    if let Some(lag) = lag {
                        metrics.set_lag(topic, lag);
                    }
                }
                std::thread::sleep(LAG_EVERY);
            }
        })?;
    Ok(())
}
