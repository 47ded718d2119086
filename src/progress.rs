//! The progress topic: each record binds a logical time to the input and output offsets it
//! covers, so a restart knows exactly what has been read and written.
//!
//! `{"time": t, "job": J, "inputs": {topic: {partition: next offset}}, "outputs": {...}}`, keyed by
//! the job name on a compacted topic: the latest record is the job's resume point.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};

use crate::inputs::Time;
use crate::kafka::{Kafka, KafkaSetupError};

/// Next offset per partition, per topic.
pub type Offsets = BTreeMap<String, BTreeMap<i32, i64>>;

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

/// Why the last progress could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("reading progress topic {topic} failed: {source}")]
    Read {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error(
        "progress topic {topic} holds a record for job {job} that is not a progress record: {source}"
    )]
    Corrupt {
        topic: String,
        job: String,
        source: serde_json::Error,
    },
}

/// The latest progress of `job`, or `None` for a job that never wrote any.
pub fn last_progress(
    kafka: &Kafka,
    topic: &str,
    job: &str,
    ends: &[(i32, i64)],
) -> Result<Option<Progress>, ProgressError> {
    let consumer = kafka.consumer(&format!("{job}-progress"))?;
    let mut list = TopicPartitionList::new();
    for (partition, _) in ends {
        list.add_partition_offset(topic, *partition, Offset::Beginning)
            .map_err(KafkaSetupError::Client)?;
    }
    consumer.assign(&list).map_err(KafkaSetupError::Client)?;
    let mut remaining: BTreeMap<i32, i64> =
        ends.iter().filter(|(_, end)| *end > 0).copied().collect();
    let mut latest = None;
    while !remaining.is_empty() {
        let Some(result) = consumer.poll(Duration::from_secs(1)) else {
            // Transaction markers end a partition without a record: trust the position then.
            let positions = consumer.position().map_err(|source| ProgressError::Read {
                topic: topic.into(),
                source,
            })?;
            remaining.retain(|partition, end| {
                !matches!(positions.find_partition(topic, *partition).map(|e| e.offset()), Some(Offset::Offset(o)) if o >= *end)
            });
            continue;
        };
        let message = result.map_err(|source| ProgressError::Read {
            topic: topic.into(),
            source,
        })?;
        if message.offset() + 1 >= remaining.get(&message.partition()).copied().unwrap_or(0) {
            remaining.remove(&message.partition());
        }
        if message.key() != Some(job.as_bytes()) {
            continue;
        }
        latest =
            match message.payload() {
                Some(payload) => Some(serde_json::from_slice(payload).map_err(|source| {
                    ProgressError::Corrupt {
                        topic: topic.into(),
                        job: job.into(),
                        source,
                    }
                })?),
                None => None,
            };
    }
    Ok(latest)
}
