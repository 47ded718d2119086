//! The only producer: writes each complete logical time of output rows to their topics, then, once
//! every worker has written a time, one progress record naming it.
//!
//! ```text
//!   encoded rows ──(per worker, time complete)──> envelope ─> output topics ─> flush
//!        └─ written offsets @t ─┐
//!   input positions @t ─────────┴─exchange to worker 0─> (frontier passed t) ─> salesflow_progress
//! ```
//! A time's progress record is written only after its rows are acknowledged by the broker on
//! every worker, because the progress operator's input frontier passes `t` only then.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use differential_dataflow::Hashable;
use differential_dataflow::VecCollection;
use differential_dataflow::consolidation::consolidate;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Concat, Operator};
use tracing::{debug, error};

use crate::codecs::envelope::{KeyChange, encode};
use crate::config::Envelope;
use crate::inputs::Time;
use crate::kafka::Kafka;
use crate::model::Diff;
use crate::outputs::{EncodedRow, OutputTopic};
use crate::progress::Progress;

/// The header that carries each change's logical time, in decimal milliseconds.
pub const TIME_HEADER: &str = "salesflow-time";

/// Where and how the sink writes.
#[derive(Clone, Debug)]
pub struct SinkConfig {
    pub kafka: Kafka,
    pub job: String,
    pub envelope: Envelope,
    /// Prefixed topic name of every output, dead letters included.
    pub topics: HashMap<OutputTopic, String>,
    pub progress_topic: String,
    /// The progress a restarted job resumes from: times up to it are already written.
    pub resume: Option<Progress>,
}

/// A fault the job cannot carry on after; the runtime stops and exits 1 when one is set.
pub type Fault = Arc<Mutex<Option<String>>>;

/// A position to report in the progress record: the next offset of a partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Position {
    /// Of an output topic: everything before it has been written.
    Output {
        topic: String,
        partition: i32,
        next_offset: i64,
    },
    /// Of an input topic: everything before it has been read.
    Input {
        topic: String,
        partition: i32,
        next_offset: i64,
    },
}

/// A (topic, partition) and the highest offset written to it.
type Written = ((String, i32), i64);

/// Delivery reports: the highest offset written per partition, and the first failure.
#[derive(Default)]
struct Deliveries {
    written: Mutex<HashMap<(String, i32), i64>>,
    failure: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                let mut written = self
                    .written
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                let offset = written
                    .entry((message.topic().to_string(), message.partition()))
                    .or_insert(-1);
                *offset = (*offset).max(message.offset());
            }
            Err((error, message)) => {
                let mut failure = self
                    .failure
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                failure.get_or_insert_with(|| {
                    format!("writing to {} failed: {error}", message.topic())
                });
            }
        }
    }
}

/// A producer and its delivery reports.
struct Writer {
    producer: BaseProducer<Deliveries>,
}

impl Writer {
    fn new(kafka: &Kafka) -> Result<Self, KafkaError> {
        let producer = kafka
            .client_config()
            // Retries never duplicate or reorder a partition's messages.
            .set("enable.idempotence", "true")
            // The Java client's partitioner, so Kafka Streams and Flink place a key where we do.
            .set("partitioner", "murmur2_random")
            // Batch a time's rows together; a time is flushed as a whole anyway.
            .set("linger.ms", "5")
            .create_with_context(Deliveries::default())?;
        Ok(Writer { producer })
    }

    fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        time: Time,
    ) -> Result<(), KafkaError> {
        let time_text = time.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: TIME_HEADER,
            value: Some(&time_text),
        });
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).headers(headers);
        record.key = key;
        record.payload = value;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                // The local queue is full: let deliveries drain it, then try the same record again.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Waits until every message sent so far is acknowledged; returns the offsets written since
    /// the last flush.
    fn flush(&self) -> Result<Vec<Written>, String> {
        // A broker that is down is waited for: librdkafka retries until delivery.timeout.ms.
        loop {
            match self.producer.flush(Duration::from_secs(30)) {
                Ok(()) => break,
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {
                    debug!("flush still waiting for acknowledgements");
                }
                Err(error) => return Err(format!("flushing output failed: {error}")),
            }
        }
        let context = self.producer.context();
        if let Some(failure) = context
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(failure);
        }
        let mut written = context.written.lock().unwrap_or_else(|p| p.into_inner());
        Ok(written.drain().collect())
    }
}

/// Writes every output row and dead letter, and then progress.
pub fn sink<'s>(
    rows: VecCollection<'s, Time, EncodedRow>,
    input_positions: StreamVec<'s, Time, Position>,
    config: SinkConfig,
    fault: Fault,
) {
    let worker = rows.inner.scope().index();
    let config = Arc::new(config);
    let written = write_rows(rows, Arc::clone(&config), Arc::clone(&fault), worker);
    let progress_config = Arc::clone(&config);
    let mut writer = None;
    let mut pending: BTreeMap<Time, Vec<Position>> = BTreeMap::new();
    let mut progress = progress_config.resume.clone().unwrap_or_else(|| Progress {
        job: progress_config.job.clone(),
        ..Progress::default()
    });
    let resumed_at = progress_config.resume.as_ref().map(|p| p.time);
    written.concat(input_positions).sink(
        Exchange::new(|_: &Position| 0),
        "write progress",
        move |(input, frontier)| {
            input.for_each(|cap, data| {
                let time = *cap.least().expect("a message has a time");
                pending.entry(time).or_default().append(data);
            });
            let mut completed = None;
            while let Some(entry) = pending.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (time, list) = entry.remove_entry();
                for position in list {
                    let (offsets, topic, partition, next) = match position {
                        Position::Output {
                            topic,
                            partition,
                            next_offset,
                        } => (&mut progress.outputs, topic, partition, next_offset),
                        Position::Input {
                            topic,
                            partition,
                            next_offset,
                        } => (&mut progress.inputs, topic, partition, next_offset),
                    };
                    let slot = offsets
                        .entry(topic)
                        .or_default()
                        .entry(partition)
                        .or_insert(next);
                    *slot = (*slot).max(next);
                }
                completed = Some(time);
            }
            // Times up to the resume point are already recorded; only later ones are news.
            if let Some(time) = completed.filter(|t| resumed_at.is_none_or(|r| *t > r)) {
                progress.time = time;
                let writer = writer.get_or_insert_with(|| Writer::new(&progress_config.kafka));
                let result = writer
                    .as_ref()
                    .map_err(|e| format!("cannot create the progress producer: {e}"))
                    .and_then(|w| {
                        let value = serde_json::to_string(&progress).map_err(|e| e.to_string())?;
                        w.send(
                            &progress_config.progress_topic,
                            Some(progress_config.job.as_bytes()),
                            Some(value.as_bytes()),
                            time,
                        )
                        .map_err(|e| format!("writing progress failed: {e}"))?;
                        w.flush().map(|_| ())
                    });
                if let Err(message) = result {
                    set_fault(&fault, message);
                }
            }
        },
    );
}

fn set_fault(fault: &Fault, message: String) {
    error!(%message, "the sink cannot continue");
    fault
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert(message);
}

/// Per worker: buffers rows until their time is complete, writes them, flushes, and reports the
/// offsets written at that time.
fn write_rows<'s>(
    rows: VecCollection<'s, Time, EncodedRow>,
    config: Arc<SinkConfig>,
    fault: Fault,
    worker: usize,
) -> StreamVec<'s, Time, Position> {
    // Every change of one (topic, key) must meet in one sink: the analyses may emit a key's
    // retraction and its new row on different workers, and only together do they say what the
    // key's message is. One writer per key also keeps the key's messages in time order.
    let by_key =
        Exchange::new(|((topic, key, _), _, _): &(EncodedRow, Time, Diff)| (topic, key).hashed());
    rows.inner
        .unary_frontier(by_key, "write rows", move |_, _| {
            let mut writer: Option<Result<Writer, KafkaError>> = None;
            let mut held: Option<Capability<Time>> = None;
            let mut pending: BTreeMap<Time, Vec<(EncodedRow, Diff)>> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    let cap = cap.retain_least(0).expect("a message has a time");
                    if held.as_ref().is_none_or(|h| cap.time() < h.time()) {
                        held = Some(cap);
                    }
                    for (row, time, diff) in data.drain(..) {
                        pending.entry(time).or_default().push((row, diff));
                    }
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (time, mut changes) = entry.remove_entry();
                    if config.resume.as_ref().is_some_and(|r| time <= r.time) {
                        // Written before the restart: the replay rebuilt this state, it is not news.
                        continue;
                    }
                    consolidate(&mut changes);
                    let writer = writer.get_or_insert_with(|| Writer::new(&config.kafka));
                    let result = match writer {
                        Ok(writer) => write_time(writer, &config, time, &changes),
                        Err(error) => Err(format!("cannot create the output producer: {error}")),
                    };
                    match result {
                        Ok(positions) => {
                            let cap = held
                                .as_ref()
                                .expect("buffered rows hold a capability")
                                .delayed(&time);
                            output.session(&cap).give_iterator(positions.into_iter());
                        }
                        Err(message) => set_fault(&fault, format!("worker {worker}: {message}")),
                    }
                }
                if pending.is_empty() {
                    held = None;
                }
            }
        })
}

/// Writes one complete time's consolidated changes; returns the output positions after it.
fn write_time(
    writer: &Writer,
    config: &SinkConfig,
    time: Time,
    changes: &[(EncodedRow, Diff)],
) -> Result<Vec<Position>, String> {
    let mut index = 0;
    while index < changes.len() {
        let ((topic, key, _), _) = &changes[index];
        let group_end = index
            + changes[index..]
                .iter()
                .take_while(|((t, k, _), _)| t == topic && k == key)
                .count();
        let group = &changes[index..group_end];
        index = group_end;
        let topic_name = config
            .topics
            .get(topic)
            .ok_or_else(|| format!("no topic name for {}", topic.name()))?;
        if *topic == OutputTopic::DeadLetters {
            for ((_, key, value), _) in group {
                writer
                    .send(
                        topic_name,
                        Some(key.as_bytes()),
                        Some(value.as_bytes()),
                        time,
                    )
                    .map_err(|e| e.to_string())?;
            }
            continue;
        }
        let change = key_change(group).ok_or_else(|| {
            format!("{}: key {key} changed {} times at time {time}; an analysis emitted an invalid update", topic.name(), group.len())
        })?;
        for value in encode(config.envelope, &change, time) {
            writer
                .send(
                    topic_name,
                    Some(key.as_bytes()),
                    value.as_deref().map(str::as_bytes),
                    time,
                )
                .map_err(|e| format!("writing to {topic_name} failed: {e}"))?;
        }
    }
    let written = writer.flush()?;
    Ok(written
        .into_iter()
        .map(|((topic, partition), offset)| Position::Output {
            topic,
            partition,
            next_offset: offset + 1,
        })
        .collect())
}

/// In value form one key changes by at most one row leaving and one arriving.
fn key_change<'a>(group: &'a [(EncodedRow, Diff)]) -> Option<KeyChange<'a>> {
    let mut change = KeyChange {
        before: None,
        after: None,
    };
    for ((_, _, value), diff) in group {
        let slot = match diff {
            -1 => &mut change.before,
            1 => &mut change.after,
            _ => return None,
        };
        if slot.replace(value.as_str()).is_some() {
            return None;
        }
    }
    Some(change)
}
