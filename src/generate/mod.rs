//! `salesflow generate`: the seeded workload of [`records`] produced into the input topics, as
//! fast as the broker takes it or paced to a rate.
//!
//! ```text
//!   Records (seeded) ──key, value bytes──> BaseProducer (large uncompressed batches) ──> topics
//!        │                                      └─ delivery reports ──> Deliveries (failures)
//!        └─ paced to --rate; a shared counter ──> Meter (bar or log lines)
//! ```
//!
//! Without a broker address an embedded broker starts for this command alone: the records are
//! gone when it exits, which makes it a measurement of the generator and the client.

pub mod bad;
pub mod json;
pub mod records;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use tracing::{info, warn};

use crate::config::{ConfigError, WorkloadArgs};
use crate::kafka::{Embedded, Kafka, TopicSpec, ensure_topics};
use crate::meter::Meter;
use crate::model::InputTopic;
pub use records::{Record, Records, Shares, WorkloadSpec};

/// What to generate and where.
#[derive(Clone, Debug)]
pub struct GenerateConfig {
    /// `None`: an embedded broker that lives as long as this command.
    pub kafka: Option<Kafka>,
    pub topic_prefix: String,
    /// Partitions of input topics that do not exist yet.
    pub partitions: i32,
    /// Records per second after the load; `None`: as fast as the broker takes them.
    pub rate: Option<f64>,
    pub workload: WorkloadSpec,
    /// A progress bar or progress log lines; off where something else owns the screen.
    pub show_progress: bool,
}

/// How much was written, and how fast.
#[derive(Clone, Copy, Debug)]
pub struct Generated {
    pub records: u64,
    /// Records of the `orders` topic among them (new orders, corrections, deletes, bad ones).
    pub orders: u64,
    pub elapsed: Duration,
    /// Records after the load, and the time from the end of the load to the last
    /// acknowledgement: the rate `--rate` paces.
    pub changes: u64,
    pub changes_elapsed: Duration,
    /// Too-large bad records the broker refused (its `max.message.bytes` is below them).
    pub refused_as_too_large: u64,
}

impl Generated {
    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The rate achieved after the load (what `--rate` asks for).
    pub fn changes_per_second(&self) -> f64 {
        self.changes as f64 / self.changes_elapsed.as_secs_f64().max(1e-9)
    }
}

/// The workload flags, validated: what `generate`, `demo` and `bench` feed the generator.
pub fn workload_config(args: &WorkloadArgs) -> Result<WorkloadSpec, ConfigError> {
    WorkloadSpec::try_from(args)
}

/// Produces the workload into the input topics (made, compacted, if missing) and waits until
/// the broker has acknowledged every record.
pub fn generate(config: &GenerateConfig, stop: &AtomicBool) -> anyhow::Result<Generated> {
    let topics: Vec<TopicSpec> = InputTopic::ALL
        .iter()
        .map(|t| TopicSpec {
            name: format!("{}{}", config.topic_prefix, t.default_name()),
            partitions: config.partitions,
            compacted: true,
        })
        .collect();
    // The embedded broker is not Send: it lives on this thread until producing is done.
    let (kafka, _embedded) = match &config.kafka {
        Some(kafka) => {
            ensure_topics(kafka, &topics, stop).context("while creating the input topics")?;
            (kafka.clone(), None)
        }
        None => {
            let broker = Embedded::start().context("while starting the embedded broker")?;
            for topic in &topics {
                broker.create_topic(topic)?;
            }
            info!(
                brokers = broker.bootstrap(),
                "no --brokers: producing into an embedded broker that stops with this command"
            );
            let kafka = Kafka {
                bootstrap: broker.bootstrap(),
                properties: Vec::new(),
            };
            (kafka, Some(broker))
        }
    };
    produce(&kafka, config, &topics, stop)
}

/// Failed deliveries, counted by librdkafka's delivery callback.
#[derive(Default)]
struct Deliveries {
    too_large: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let Err((error, message)) = result else {
            return;
        };
        use rdkafka::message::Message;
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) {
            self.too_large.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert_with(|| format!("{error} (topic {})", message.topic()));
        }
    }
}

/// Sends between updates of the meter, checks of the stop flag and serving delivery reports.
const CHUNK: u64 = 512;

fn produce(
    kafka: &Kafka,
    config: &GenerateConfig,
    topics: &[TopicSpec],
    stop: &AtomicBool,
) -> anyhow::Result<Generated> {
    let max_record = config.workload.max_record_bytes;
    let producer: BaseProducer<Deliveries> = kafka
        .client_config()
        // Throughput first: the records are small and many, so batches are large and filled for
        // up to 50 ms; compression costs more CPU than loopback or a LAN saves.
        .set("linger.ms", "50")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("compression.type", "none")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "1048576")
        // Room for the too-large bad record, so that the broker, like in production, refuses it.
        .set(
            "message.max.bytes",
            (max_record + 64 * 1024).max(1_000_000).to_string(),
        )
        // Only failures are reported back: a callback per delivered record costs as much as
        // encoding it.
        .set("delivery.report.only.error", "true")
        // Records of one key stay in order across retries: a correction never precedes its order.
        .set("enable.idempotence", "true")
        .create_with_context(Deliveries::default())
        .context("while creating the producer")?;
    let mut stream = Records::new(&config.workload);
    let done = Arc::new(AtomicU64::new(0));
    let meter = config
        .show_progress
        .then(|| Meter::start("records", stream.total(), Arc::clone(&done)));
    let started = Instant::now();
    let load = stream.load_len();
    // When the load was written: the changes after it are paced, and reported on their own.
    let mut load_done: Option<Instant> = None;
    let mut record = Record::default();
    let (mut records, mut orders) = (0u64, 0u64);
    while stream.next_into(&mut record) {
        let topic = record.topic.unwrap_or(InputTopic::Orders);
        let name = &topics[topic as usize].name;
        let mut message: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(name).key(&record.key[..]);
        message.payload = record.value();
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    message = returned;
                    producer.poll(Duration::from_millis(5));
                }
                Err((error, _)) => {
                    return Err(error).context(format!("while producing to {name}"));
                }
            }
        }
        records += 1;
        orders += u64::from(topic == InputTopic::Orders);
        if records == load {
            load_done = Some(Instant::now());
        }
        // Paced record by record, so a modest rate flows evenly instead of in bursts.
        if let (Some(rate), Some(since)) = (config.rate, load_done) {
            pace(&producer, since, records - load, rate, stop);
        }
        if records.is_multiple_of(CHUNK) {
            done.fetch_add(CHUNK, Ordering::Relaxed);
            if stop.load(Ordering::Relaxed) {
                break;
            }
            producer.poll(Duration::ZERO);
        }
    }
    done.store(records, Ordering::Relaxed);
    flush(&producer, stop)?;
    let elapsed = started.elapsed();
    let changes_elapsed = load_done.map_or(Duration::ZERO, |at| at.elapsed());
    drop(meter);
    let deliveries = producer.context();
    let failed = deliveries.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first = deliveries
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_default();
        anyhow::bail!("{failed} records were not delivered; the first: {first}");
    }
    let refused_as_too_large = deliveries.too_large.load(Ordering::Relaxed);
    if refused_as_too_large > 0 {
        warn!(
            refused_as_too_large,
            "the broker refused the too-large bad records (raise the orders topic's max.message.bytes to deliver them)"
        );
    }
    Ok(Generated {
        records,
        orders,
        elapsed,
        changes: records.saturating_sub(load),
        changes_elapsed,
        refused_as_too_large,
    })
}

/// Waits, serving delivery reports, until `sent` records are due at `rate` per second.
fn pace(
    producer: &BaseProducer<Deliveries>,
    since: Instant,
    sent: u64,
    rate: f64,
    stop: &AtomicBool,
) {
    let due = since + Duration::from_secs_f64(sent as f64 / rate);
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= due {
            return;
        }
        producer.poll((due - now).min(Duration::from_millis(100)));
    }
}

/// Waits until every record is acknowledged; a stop request cuts the wait to a few seconds.
fn flush(producer: &BaseProducer<Deliveries>, stop: &AtomicBool) -> anyhow::Result<()> {
    let started = Instant::now();
    let patience = |stop: &AtomicBool| match stop.load(Ordering::Relaxed) {
        true => Duration::from_secs(5),
        false => Duration::from_secs(300),
    };
    while producer.in_flight_count() > 0 {
        anyhow::ensure!(
            started.elapsed() < patience(stop),
            "{} records were still unacknowledged after {} s",
            producer.in_flight_count(),
            patience(stop).as_secs()
        );
        producer.poll(Duration::from_millis(100));
    }
    Ok(())
}
