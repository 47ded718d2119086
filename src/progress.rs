//! The progress topic: each record binds a logical time to the input and output offsets it
//! covers, so a restart knows exactly what has been read and written.
//!
//! `{"time": t, "job": J, "inputs": {topic: {partition: next offset}}, "outputs": {...}}`, keyed by
//! the job name on a compacted topic: the latest record is the job's resume point.

use std::collections::BTreeMap;

use anyhow::Context;
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};

use crate::fold::read_to_end;
use crate::inputs::Time;
use crate::kafka::Kafka;

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

/// The latest progress of `job` on `topic`, or `None` for a job that never wrote any.
pub fn last_progress(kafka: &Kafka, topic: &str, job: &str) -> anyhow::Result<Option<Progress>> {
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
