//! The progress topic: each record binds a logical time to the input and output offsets it
//! covers, so a restart knows exactly what has been read and written.
//!
//! `{"time": t, "job": J, "inputs": {topic: {partition: next offset}}, "outputs": {...}}`, keyed by
//! the job name on a compacted topic: the latest record is the job's resume point. A record is
//! written in the same transaction as the output it names, so it binds exactly the input that
//! the committed output was computed from.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};

use crate::fold::read_to_end;
use crate::inputs::Time;
use crate::kafka::{Kafka, wait_for_open_transactions};

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
    wait_for_open_transactions(kafka, &[topic], stop, None)?;
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
