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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
use crate::metrics::Metrics;
use crate::model::Diff;
use crate::outputs::{EncodedRow, OutputTopic};
use crate::progress::Progress;
use crate::repair::{PastProgress, key_hash, repairs};

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
    /// What the previous run wrote past `resume`, to be taken back at the resume time.
    pub written_after_resume: Arc<PastProgress>,
    pub metrics: Arc<Metrics>,
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

/// The highest offset written per (topic, partition).
type Written = HashMap<(String, i32), i64>;

/// The delivery reports of one batch of messages (one time's output of one worker).
#[derive(Default)]
struct Batch {
    acknowledged: u64,
    written: Written,
}

/// Delivery reports per batch, and the first failure.
#[derive(Default)]
struct Deliveries {
    batches: Mutex<HashMap<usize, Batch>>,
    failure: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    /// The batch the message belongs to.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: usize) {
        match result {
            Ok(message) => {
                let mut batches = self
                    .batches
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                let batch = batches.entry(batch).or_default();
                batch.acknowledged += 1;
                let offset = batch
                    .written
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
            // Batch a time's rows together; a time is acknowledged as a whole anyway.
            .set("linger.ms", "5")
            .create_with_context(Deliveries::default())?;
        Ok(Writer { producer })
    }

    /// Queues one message of `batch`; delivery is reported later (see `acknowledged`).
    fn send(
        &self,
        batch: usize,
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
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, batch).headers(headers);
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

    /// Waits until every message sent so far is acknowledged.
    fn flush(&self) -> Result<(), String> {
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
        self.failure()
    }

    fn failure(&self) -> Result<(), String> {
        match self
            .producer
            .context()
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// The offsets `batch` wrote, once all of its `sent` messages are acknowledged.
    fn acknowledged(&self, batch: usize, sent: u64) -> Result<Option<Written>, String> {
        self.producer.poll(Duration::ZERO);
        self.failure()?;
        let mut batches = self
            .producer
            .context()
            .batches
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if batches.get(&batch).map_or(0, |b| b.acknowledged) < sent {
            return Ok(None);
        }
        Ok(Some(
            batches
                .remove(&batch)
                .map(|b| b.written)
                .unwrap_or_default(),
        ))
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
                            0,
                            &progress_config.progress_topic,
                            Some(progress_config.job.as_bytes()),
                            Some(value.as_bytes()),
                            time,
                        )
                        .map_err(|e| format!("writing progress failed: {e}"))?;
                        w.flush()
                    });
                if result.is_ok() {
                    progress_config.metrics.last_progress.set(time as i64);
                }
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
        Exchange::new(|((topic, key, _), _, _): &(EncodedRow, Time, Diff)| key_hash(topic, key));
    let scope = rows.inner.scope();
    let peers = scope.peers();
    rows.inner
        .unary_frontier(by_key, "write rows", move |_, info| {
            let activator = scope.activator_for(info.address);
            let mut writer: Option<Result<Writer, KafkaError>> = None;
            // Held at the least time that still has rows buffered.
            let mut held: Option<Capability<Time>> = None;
            let mut pending: BTreeMap<Time, Vec<(EncodedRow, Diff)>> = BTreeMap::new();
            // Times written but not yet acknowledged, in time order: (time, batch, messages sent).
            // Each holds its time open, so progress passes it only once the broker has it all.
            let mut in_flight: VecDeque<(Capability<Time>, usize, u64)> = VecDeque::new();
            let mut next_batch = 0;
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
                let writer = match writer.get_or_insert_with(|| Writer::new(&config.kafka)) {
                    Ok(writer) => writer,
                    Err(error) => {
                        set_fault(
                            &fault,
                            format!("worker {worker}: cannot create the output producer: {error}"),
                        );
                        return;
                    }
                };
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (time, mut changes) = entry.remove_entry();
                    consolidate(&mut changes);
                    let replayed = config.resume.as_ref().is_some_and(|r| time <= r.time);
                    let cap = held
                        .as_ref()
                        .expect("buffered rows hold a capability")
                        .delayed(&time);
                    let result = if replayed {
                        // The replay rebuilt the state as of the last progress: not news, except
                        // where the previous run wrote past it.
                        let messages = repairs(
                            &config.written_after_resume,
                            config.envelope,
                            worker,
                            peers,
                            &changes,
                            time,
                        );
                        write_messages(writer, next_batch, &config, time, &messages)
                    } else {
                        write_time(writer, next_batch, &config, time, &changes)
                    };
                    match result {
                        Ok(sent) => in_flight.push_back((cap, next_batch, sent)),
                        Err(message) => {
                            // The time stays open for good: progress must never pass output that
                            // did not reach the broker. The job stops, and a restart replays it.
                            set_fault(&fault, format!("worker {worker}: {message}"));
                            in_flight.push_back((cap, next_batch, u64::MAX));
                        }
                    }
                    next_batch += 1;
                }
                match (pending.keys().next(), held.as_mut()) {
                    (Some(next), Some(h)) => h.downgrade(next),
                    _ => held = None,
                }
                while let Some((cap, batch, sent)) = in_flight.front() {
                    match writer.acknowledged(*batch, *sent) {
                        Ok(Some(written)) => {
                            let age_ms = now_ms().saturating_sub(*cap.time());
                            config.metrics.epoch_latency.observe(age_ms as f64 / 1e3);
                            let positions =
                                written.into_iter().map(|((topic, partition), offset)| {
                                    Position::Output {
                                        topic,
                                        partition,
                                        next_offset: offset + 1,
                                    }
                                });
                            output.session(cap).give_iterator(positions);
                            in_flight.pop_front();
                        }
                        Ok(None) => break,
                        Err(message) => {
                            set_fault(&fault, format!("worker {worker}: {message}"));
                            break;
                        }
                    }
                }
                if !in_flight.is_empty() {
                    // Delivery reports arrive without any input: look again shortly.
                    activator.activate_after(Duration::from_millis(1));
                }
            }
        })
}

/// Queues one complete time's consolidated changes as `batch`; returns how many messages it sent.
fn write_time(
    writer: &Writer,
    batch: usize,
    config: &SinkConfig,
    time: Time,
    changes: &[(EncodedRow, Diff)],
) -> Result<u64, String> {
    let mut sent = 0;
    let mut index = 0;
    let mut per_topic: HashMap<&str, u64> = HashMap::new();
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
                        batch,
                        topic_name,
                        Some(key.as_bytes()),
                        Some(value.as_bytes()),
                        time,
                    )
                    .map_err(|e| format!("writing to {topic_name} failed: {e}"))?;
                sent += 1;
            }
            continue;
        }
        let change = key_change(group).ok_or_else(|| {
            format!("{}: key {key} changed {} times at time {time}; an analysis emitted an invalid update", topic.name(), group.len())
        })?;
        for value in encode(config.envelope, &change, time) {
            writer
                .send(
                    batch,
                    topic_name,
                    Some(key.as_bytes()),
                    value.as_deref().map(str::as_bytes),
                    time,
                )
                .map_err(|e| format!("writing to {topic_name} failed: {e}"))?;
            sent += 1;
            *per_topic.entry(topic_name).or_default() += 1;
        }
    }
    for (topic, count) in per_topic {
        config
            .metrics
            .output_changes
            .get_or_create(&Metrics::topic(topic))
            .inc_by(count);
    }
    Ok(sent)
}

/// Queues ready-made messages `(topic, key, value)` as `batch`; returns how many it sent.
fn write_messages(
    writer: &Writer,
    batch: usize,
    config: &SinkConfig,
    time: Time,
    messages: &[(OutputTopic, String, Option<String>)],
) -> Result<u64, String> {
    for (topic, key, value) in messages {
        let topic_name = config
            .topics
            .get(topic)
            .ok_or_else(|| format!("no topic name for {}", topic.name()))?;
        writer
            .send(
                batch,
                topic_name,
                Some(key.as_bytes()),
                value.as_deref().map(str::as_bytes),
                time,
            )
            .map_err(|e| format!("writing to {topic_name} failed: {e}"))?;
    }
    Ok(messages.len() as u64)
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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
