//! Latency under a steady input rate: order changes are produced at `rate` per second, and every
//! `PROBE_EVERY`-th one is a probe, an order of a customer nobody else has. The probe's row
//! appears on the engine's `sales_by_customer` topic exactly when the engine has committed the
//! probe's effect, so its latency is the moment a `read_committed` consumer sees that row minus
//! the moment the probe was handed to the producer.
//!
//! ```text
//!  paced producer ──orders + probes──> input topics ──engine──> sales_by_customer
//!        └── sent at t0 (per probe)                                  └── seen at t1 (watcher)
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::codecs::input::encode;
use crate::kafka::{Kafka, end_offsets};
use crate::model::{Change, CustomerId, OrderId};

/// One change in this many is a probe (1%).
pub const PROBE_EVERY: usize = 100;
/// What makes a customer id a probe's.
const PROBE: &str = "bench-probe-";

/// Latency percentiles of the probes that were seen, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub probes: usize,
    pub seen: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Order changes per second the producer achieved.
    pub achieved_rate: f64,
}

/// A probe order: a copy of a real order, placed by a customer of its own.
pub fn probe(template: &Change, n: usize) -> Option<Change> {
    let Change::Order(_, Some(order)) = template else {
        return None;
    };
    let mut order = order.clone();
    order.customer_id = CustomerId::new(format!("{PROBE}{n}"));
    Some(Change::Order(
        OrderId::new(format!("{PROBE}{n}")),
        Some(order),
    ))
}

/// Watches a `sales_by_customer` topic for probe rows, from its start, until dropped.
pub struct Watcher {
    seen: Arc<Mutex<HashMap<usize, Instant>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Watcher {
    pub fn start(kafka: &Kafka, topic: &str, stop: &AtomicBool) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", "salesflow-bench-watcher")
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("fetch.wait.max.ms", "10")
            .create()
            .context("while creating the latency watcher")?;
        let partitions = end_offsets(&consumer, &kafka.bootstrap, topic, stop)?
            .with_context(|| format!("{topic} does not exist"))?;
        let mut assignment = TopicPartitionList::new();
        for p in partitions {
            assignment.add_partition_offset(topic, p.partition, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen_by_thread, stop_thread) = (Arc::clone(&seen), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stop_thread.load(Ordering::Relaxed) {
                let Some(message) = consumer.poll(Duration::from_millis(20)) else {
                    continue;
                };
                let message = message.context("while watching for probes")?;
                let at = Instant::now();
                if let Some(n) = message.key().and_then(probe_number) {
                    let mut seen = seen_by_thread.lock().unwrap_or_else(|p| p.into_inner());
                    seen.entry(n).or_insert(at);
                }
            }
            Ok(())
        });
        Ok(Watcher {
            seen,
            stop,
            thread: Some(thread),
        })
    }

    /// The probes seen so far, with when.
    pub fn seen(&self) -> HashMap<usize, Instant> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until every probe in `sent` was seen, or `timeout` passes.
    pub fn wait_for(&self, sent: &HashMap<usize, Instant>, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let seen = self.seen();
            if sent.keys().all(|n| seen.contains_key(n)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the latency watcher panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The probe number in a `sales_by_customer` key such as `{"customer_id":"bench-probe-7"}`.
fn probe_number(key: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(key).ok()?;
    let digits = &text[text.find(PROBE)? + PROBE.len()..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Produces `changes` as fast as the broker takes them, and waits for every acknowledgement.
pub fn produce_all(kafka: &Kafka, topic_prefix: &str, changes: &[Change]) -> anyhow::Result<()> {
    let producer: BaseProducer = kafka
        .client_config()
        .set("linger.ms", "20")
        .create()
        .context("while creating the load producer")?;
    for change in changes {
        send(&producer, topic_prefix, change)?;
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// Produces probe 0 alone: seeing it means the engine has read what came before it.
pub fn warm_up(kafka: &Kafka, topic_prefix: &str, changes: &[Change]) -> anyhow::Result<()> {
    let producer: BaseProducer = kafka
        .client_config()
        .create()
        .context("while creating the warm-up producer")?;
    let probe = template(changes).and_then(|t| probe(t, 0).context("no order to copy"))?;
    send(&producer, topic_prefix, &probe)?;
    producer.flush(Duration::from_secs(30))?;
    Ok(())
}

fn template(changes: &[Change]) -> anyhow::Result<&Change> {
    changes
        .iter()
        .find(|c| matches!(c, Change::Order(_, Some(_))))
        .context("the workload has no order to copy for probes")
}

/// Produces `changes` at `rate` per second, a probe after every `PROBE_EVERY - 1` of them;
/// returns when each probe was handed to the producer, and the rate achieved.
pub fn produce_paced(
    kafka: &Kafka,
    topic_prefix: &str,
    changes: &[Change],
    rate: u64,
    stop: &AtomicBool,
) -> anyhow::Result<(HashMap<usize, Instant>, f64)> {
    let producer: BaseProducer = kafka
        .client_config()
        // Latency first: small batches leave at once.
        .set("linger.ms", "1")
        .set("enable.idempotence", "true")
        .create()
        .context("while creating the paced producer")?;
    let template = template(changes)?;
    let started = Instant::now();
    let mut sent_probes = HashMap::new();
    let mut sent = 0usize;
    let mut records = changes.iter();
    while !stop.load(Ordering::Relaxed) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as usize;
        while sent < due {
            let change = if sent % PROBE_EVERY == PROBE_EVERY - 1 {
                // Probe 0 is the warm-up.
                let n = sent / PROBE_EVERY + 1;
                sent_probes.insert(n, Instant::now());
                probe(template, n)
            } else {
                records.next().cloned()
            };
            let Some(change) = change else {
                producer.flush(Duration::from_secs(30))?;
                let achieved = sent as f64 / started.elapsed().as_secs_f64();
                return Ok((sent_probes, achieved));
            };
            send(&producer, topic_prefix, &change)?;
            sent += 1;
        }
        producer.poll(Duration::from_millis(1));
    }
    anyhow::bail!("stopped while producing")
}

fn send(producer: &BaseProducer, prefix: &str, change: &Change) -> anyhow::Result<()> {
    let (topic, key, value) = encode(change);
    let topic = format!("{prefix}{}", topic.default_name());
    let mut record: BaseRecord<'_, str, str> = BaseRecord::to(&topic).key(&key);
    record.payload = value.as_deref();
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                record = returned;
                producer.poll(Duration::from_millis(1));
            }
            Err((error, _)) => return Err(error).context(format!("while producing to {topic}")),
        }
    }
}

/// Percentiles of the probes seen; probes never seen count in `probes` but not in the figures.
pub fn percentiles(
    sent: &HashMap<usize, Instant>,
    seen: &HashMap<usize, Instant>,
    achieved_rate: f64,
) -> Latency {
    let mut millis: Vec<f64> = sent
        .iter()
        .filter_map(|(n, t0)| Some(seen.get(n)?.saturating_duration_since(*t0)))
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if millis.is_empty() {
            return 0.0;
        }
        millis[((millis.len() as f64 * q).ceil() as usize).clamp(1, millis.len()) - 1]
    };
    Latency {
        probes: sent.len(),
        seen: millis.len(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: millis.last().copied().unwrap_or(0.0),
        achieved_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_numbers_are_read_from_keys_and_nothing_else_is_a_probe() {
        assert_eq!(
            probe_number(br#"{"customer_id":"bench-probe-17"}"#),
            Some(17)
        );
        assert_eq!(probe_number(br#"{"customer_id":"c-17"}"#), None);
    }

    #[test]
    fn percentiles_use_nearest_rank_and_skip_unseen_probes() {
        let t0 = Instant::now();
        let sent: HashMap<usize, Instant> = (0..101).map(|n| (n, t0)).collect();
        let seen: HashMap<usize, Instant> = (0..100)
            .map(|n| (n, t0 + Duration::from_millis(n as u64 + 1)))
            .collect();
        let latency = percentiles(&sent, &seen, 1.0);
        assert_eq!((latency.probes, latency.seen), (101, 100));
        assert_eq!(latency.p50_ms.round(), 50.0);
        assert_eq!(latency.p99_ms.round(), 99.0);
        assert_eq!(latency.max_ms.round(), 100.0);
    }
}
