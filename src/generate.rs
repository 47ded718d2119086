//! `salesflow generate`: a seeded workload of customers, products, rates and order changes,
//! produced into the input topics.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tracing::info;

use crate::codecs::input::encode;
use crate::kafka::{Kafka, TopicSpec, ensure_topics};
use crate::model::InputTopic;
use crate::workload::{Mix, WorkloadConfig, workload};

/// What to generate and where.
#[derive(Clone, Debug)]
pub struct GenerateConfig {
    pub kafka: Kafka,
    pub topic_prefix: String,
    pub partitions: i32,
    pub workload: WorkloadConfig,
}

/// How much was written, and how fast.
#[derive(Clone, Copy, Debug)]
pub struct Generated {
    pub records: u64,
    pub elapsed: Duration,
}

/// Order changes per step of the workload: the unit in which the mix is drawn.
pub const STEP: usize = 10_000;

/// A workload of `count` order and dimension changes after loading the dimensions.
pub fn workload_config(
    seed: u64,
    count: usize,
    customers: usize,
    products: usize,
) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        customers,
        products,
        initial_orders: 0,
        step_size: STEP.min(count.max(1)),
        steps: count.div_ceil(STEP.min(count.max(1))),
        mix: Mix::default(),
    }
}

/// Produces the workload into the input topics (made, compacted, if missing).
pub fn generate(config: &GenerateConfig, stop: &AtomicBool) -> anyhow::Result<Generated> {
    let topics: Vec<TopicSpec> = InputTopic::ALL
        .iter()
        .map(|t| TopicSpec {
            name: format!("{}{}", config.topic_prefix, t.default_name()),
            partitions: config.partitions,
            compacted: true,
        })
        .collect();
    ensure_topics(&config.kafka, &topics, stop).context("while creating the input topics")?;
    let producer: BaseProducer = config
        .kafka
        .client_config()
        // Throughput first: large batches, lz4, and a deep local queue.
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "1000000")
        .set("enable.idempotence", "true")
        .create()
        .context("while creating the producer")?;
    let w = workload(&config.workload);
    let started = Instant::now();
    let mut records = 0u64;
    for change in w.load.iter().chain(&w.changes).flatten() {
        let (topic, key, value) = encode(change);
        let topic = &topics[InputTopic::ALL
            .iter()
            .position(|t| *t == topic)
            .unwrap_or(0)]
        .name;
        let mut record: BaseRecord<'_, str, str> = BaseRecord::to(topic).key(&key);
        record.payload = value.as_deref();
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => {
                    return Err(error).context(format!("while producing to {topic}"));
                }
            }
        }
        records += 1;
        if records.is_multiple_of(1_000_000) {
            info!(records, "produced");
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .context("while flushing the produced records")?;
    Ok(Generated {
        records,
        elapsed: started.elapsed(),
    })
}
