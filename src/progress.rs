//! The progress topic: each record binds a logical time to the input and output offsets it
//! covers, so a restart knows exactly what has been read and written.
//!
//! `{"time": t, "job": J, "inputs": {topic: {partition: next offset}}, "outputs": {...}}`, keyed by
//! the job name on a compacted topic: the latest record is the job's resume point. A record is
//! written in the same transaction as the output it names, so it binds exactly the input that
//! the committed output was computed from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::fold::read_to_end;
use crate::inputs::Time;
use crate::kafka::{Kafka, KafkaSetupError};

/// Next offset per partition, per topic.
pub type Offsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// How far one input partition has been read: everything before `next_offset`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InputPosition {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
}

/// One progress record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub time: Time,
    pub job: String,
    pub inputs: Offsets,
    pub outputs: Offsets,
}

impl Progress {
    /// The next input offset of a partition bound to `time` (0: nothing read yet).
    pub fn input_offset(&self, topic: &str, partition: i32) -> i64 {
        self.inputs
            .get(topic)
            .and_then(|p| p.get(&partition))
            .copied()
            .unwrap_or(0)
    }
}

/// The latest committed progress of `job` on `topic`, or `None` for a job that never wrote any.
///
/// A transaction left open on the topic by an instance that died may still commit (if it had
/// asked to) or abort; its outcome decides the resume point, so this waits until it has ended.
pub fn last_progress(
    kafka: &Kafka,
    topic: &str,
    job: &str,
    stop: &AtomicBool,
) -> anyhow::Result<Option<Progress>> {
    wait_for_open_transactions(kafka, topic, job, stop)?;
    let mut latest = None;
    read_to_end(kafka, topic, |message| {
        if message.key() == Some(job.as_bytes()) {
            latest = match message.payload() {
                Some(value) => Some(serde_json::from_slice(value).with_context(|| {
                    format!("{topic} holds a record for job {job} that is not a progress record")
                })?),
                None => None,
            };
        }
        Ok(())
    })?;
    Ok(latest)
}

/// Returns once no transaction is open on `topic`: its last stable offset (what a
/// `read_committed` consumer may read up to) has reached its end.
fn wait_for_open_transactions(
    kafka: &Kafka,
    topic: &str,
    job: &str,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let committed = kafka.consumer(job)?;
    let everything: BaseConsumer = kafka
        .client_config()
        .set("isolation.level", "read_uncommitted")
        .create()
        .map_err(KafkaSetupError::Client)?;
    let timeout = Duration::from_secs(10);
    let partitions: Vec<i32> = committed
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("while reading the partitions of {topic}"))?
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let started = Instant::now();
    let mut logged = Duration::ZERO;
    loop {
        let mut open = false;
        for &partition in &partitions {
            let (_, stable) = committed.fetch_watermarks(topic, partition, timeout)?;
            let (_, end) = everything.fetch_watermarks(topic, partition, timeout)?;
            open |= stable < end;
        }
        if !open {
            return Ok(());
        }
        anyhow::ensure!(!stop.load(Ordering::Relaxed), KafkaSetupError::Stopped);
        if started.elapsed() >= logged {
            info!(
                topic,
                "a transaction of an earlier instance is still open; waiting for it to end (at most transaction.timeout.ms)"
            );
            logged += Duration::from_secs(10);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
