//! The only producer: one thread that writes complete logical times of output, each batch of them
//! together with the progress record that names them, in one Kafka transaction.
//!
//! ```text
//!  worker 0 (sink) ──Epoch{time, messages, input positions}──> writer thread
//!       begin ─ output messages ─ flush (their offsets) ─ progress record ─ commit
//!  worker 0 <──────────────────── committed time ───────────────────────────┘
//! ```
//! With `--delivery exactly-once` (the default) a `read_committed` consumer sees every change of
//! an instant at once or none of them, and output past the last progress record never becomes
//! visible: a crash leaves an open transaction that the next instance aborts when it registers the
//! same transactional id, which also fences the older instance if it still runs. With
//! `at-least-once` an idempotent producer writes the same messages and the progress record
//! follows their acknowledgement; a restart then takes back what was written past it (`repair`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::config::Delivery;
use crate::dashboard::Dashboard;
use crate::inputs::Time;
use crate::kafka::Kafka;
use crate::metrics::Metrics;
use crate::model::OutputTopic;
use crate::progress::{InputPosition, Progress};

/// The header that carries each change's logical time, in decimal milliseconds.
pub const TIME_HEADER: &str = "salesflow-time";

/// A batch holds at most this many messages, so a long backlog still commits every few seconds.
const MAX_BATCH_MESSAGES: usize = 250_000;

/// An abortable transaction is redone this many times before the job gives up on it.
const MAX_ATTEMPTS: u32 = 5;

/// How long one wait on the broker lasts before it is logged and retried. Between waits a stop
/// is noticed, so a job whose broker is down still exits well within Kubernetes' 30 s between
/// SIGTERM and SIGKILL.
const WAIT: Duration = Duration::from_secs(5);

/// One output message: a key's change in the run's envelope, or a dead letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Message {
    pub topic: OutputTopic,
    pub key: String,
    /// `None` is a tombstone.
    pub value: Option<String>,
}

/// Everything one complete logical time writes, and the input it covers.
#[derive(Clone, Debug, Default)]
pub struct Epoch {
    pub time: Time,
    pub messages: Vec<Message>,
    pub inputs: Vec<InputPosition>,
}

/// Why the output could not be written; each is the end of this run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create the output producer: {0}")]
    Producer(#[source] KafkaError),
    #[error(
        "another instance of job {job} registered the transactional id {transactional_id} and took over the output; this instance stops (run one instance per job)"
    )]
    Fenced {
        job: String,
        transactional_id: String,
    },
    #[error("the output producer failed for good while {doing}: {reason}")]
    Fatal { doing: &'static str, reason: String },
    #[error("writing output failed {MAX_ATTEMPTS} times in a row; last: {0}")]
    GaveUp(String),
    #[error(
        "stopped while the broker was unreachable; the unwritten instants are recomputed at restart"
    )]
    Stopped,
    #[error("cannot start the output writer thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Where and how the writer writes.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    pub kafka: Kafka,
    pub job: String,
    /// Stable across restarts, so a new instance fences the old one.
    pub transactional_id: String,
    pub delivery: Delivery,
    /// Prefixed name of every output topic, dead letters included.
    pub topics: HashMap<OutputTopic, String>,
    pub progress_topic: String,
    pub metrics: Arc<Metrics>,
    /// Shown on `--http-addr`: each batch is published to it once committed.
    pub dashboard: Option<Arc<Dashboard>>,
}

/// What the delivery reports of the current batch said.
#[derive(Default)]
struct Acknowledged {
    /// The highest offset written per (topic, partition).
    written: HashMap<(String, i32), i64>,
    failure: Option<String>,
}

#[derive(Default)]
struct Deliveries(Mutex<Acknowledged>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut acknowledged = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(message) => {
                let offset = acknowledged
                    .written
                    .entry((message.topic().to_string(), message.partition()))
                    .or_insert(-1);
                *offset = (*offset).max(message.offset());
            }
            Err((error, message)) => {
                acknowledged.failure.get_or_insert_with(|| {
                    format!("writing to {} failed: {error}", message.topic())
                });
            }
        }
    }
}

/// How an attempt at a batch failed.
enum Failure {
    /// Abort the transaction and write the batch again.
    Retry(String),
    /// The run cannot go on.
    Fatal(SinkError),
}

/// The producer, and the progress written so far.
pub struct Writer {
    producer: BaseProducer<Deliveries>,
    config: WriterConfig,
    progress: Progress,
}

impl Writer {
    /// Creates the producer. Exactly-once registers the transactional id first: that fences any
    /// older instance of the job and ends its open transaction, so the last committed progress is
    /// final once this returns. A broker that is down is waited for.
    pub fn connect(config: WriterConfig, stop: &AtomicBool) -> Result<Self, SinkError> {
        let mut client = config.kafka.client_config();
        // Retries never duplicate or reorder a partition's messages.
        client.set("enable.idempotence", "true");
        // The Java client's partitioner, so Kafka Streams and Flink place a key where we do.
        client.set("partitioner", "murmur2_random");
        // Batch a time's rows together; a time is written as a whole anyway.
        client.set("linger.ms", "5");
        if config.delivery == Delivery::ExactlyOnce {
            client.set("transactional.id", &config.transactional_id);
            // How long a transaction left open by a killed instance holds back read_committed
            // consumers, unless a new instance starts first and aborts it at once.
            client.set("transaction.timeout.ms", "60000");
            // Connect to every broker at once rather than when first needed: the transaction
            // coordinator is looked up through one (see `connect` below).
            if client.get("enable.sparse.connections").is_none() {
                client.set("enable.sparse.connections", "false");
            }
        }
        let producer: BaseProducer<Deliveries> = client
            .create_with_context(Deliveries::default())
            .map_err(SinkError::Producer)?;
        let writer = Writer {
            producer,
            progress: Progress {
                job: config.job.clone(),
                ..Progress::default()
            },
            config,
        };
        if writer.config.delivery == Delivery::ExactlyOnce {
            // librdkafka looks the coordinator up through a broker it learned from metadata; one
            // not connected yet makes `init_transactions` retry only after 500 ms. Asking for
            // metadata first connects it. Only a warm-up: `init_transactions` reports a broker
            // that does not answer.
            let progress_topic = Some(writer.config.progress_topic.as_str());
            if let Err(error) = writer
                .producer
                .client()
                .fetch_metadata(progress_topic, WAIT)
            {
                debug!(%error, "metadata before registering the transactional id");
            }
            writer.retry_while_unreachable("registering the transactional id", stop, |p| {
                p.init_transactions(WAIT)
            })?;
            info!(
                transactional_id = writer.config.transactional_id,
                "output is written in transactions; any older instance of this job is fenced"
            );
        }
        Ok(writer)
    }

    /// Starts the thread that writes epochs sent to it, from the progress a restart resumes at.
    pub fn spawn(
        mut self,
        resume: Option<Progress>,
        stop: Arc<AtomicBool>,
        fault: crate::sink::Fault,
    ) -> Result<WriterThread, SinkError> {
        if let Some(progress) = resume {
            self.config.metrics.committed_inputs(&progress.inputs);
            self.progress = progress;
        }
        let (epochs, incoming) = channel::<Epoch>();
        let (done, committed) = channel::<Time>();
        let handle = std::thread::Builder::new()
            .name("salesflow-writer".to_string())
            .spawn(move || {
                while let Ok(first) = incoming.recv() {
                    let mut batch = vec![first];
                    let mut size = batch[0].messages.len();
                    while size < MAX_BATCH_MESSAGES {
                        let Ok(next) = incoming.try_recv() else {
                            break;
                        };
                        size += next.messages.len();
                        batch.push(next);
                    }
                    match self.write(&batch, &stop) {
                        Ok(()) => {
                            let time = batch.last().map_or(0, |e| e.time);
                            if done.send(time).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            crate::sink::set_fault(&fault, error.to_string());
                            return;
                        }
                    }
                }
            })
            .map_err(SinkError::Thread)?;
        Ok(WriterThread {
            epochs,
            committed,
            handle,
        })
    }

    /// Writes one batch of epochs and, after the last one, its progress record: in one
    /// transaction, redone from the start when the broker asks for an abort.
    fn write(&mut self, batch: &[Epoch], stop: &AtomicBool) -> Result<(), SinkError> {
        let started = Instant::now();
        let mut attempt = 0;
        let progress = loop {
            match self.attempt(batch, stop) {
                Ok(progress) => break progress,
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry(reason)) => {
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(SinkError::GaveUp(reason));
                    }
                    warn!(%reason, attempt, "output transaction failed; aborting and writing it again");
                    self.abort(stop)?;
                    std::thread::sleep(Duration::from_millis(200 << attempt));
                }
            }
        };
        let metrics = &self.config.metrics;
        metrics
            .transaction_seconds
            .observe(started.elapsed().as_secs_f64());
        let now = now_ms();
        let mut per_topic: HashMap<OutputTopic, u64> = HashMap::new();
        for epoch in batch {
            metrics
                .epoch_latency
                .observe(now.saturating_sub(epoch.time) as f64 / 1e3);
            for message in &epoch.messages {
                *per_topic.entry(message.topic).or_default() += 1;
            }
        }
        for (topic, count) in per_topic {
            if let Some(name) = self.config.topics.get(&topic) {
                metrics
                    .output_changes
                    .get_or_create(&Metrics::topic(name))
                    .inc_by(count);
            }
        }
        if progress.time > self.progress.time {
            metrics.last_progress.set(progress.time as i64);
        }
        metrics.committed_inputs(&progress.inputs);
        // Only now, with the batch committed, may anyone see its instants.
        if let Some(dashboard) = &self.config.dashboard {
            dashboard.publish(batch);
        }
        self.progress = progress;
        Ok(())
    }

    /// One try at a batch; returns the progress it committed.
    fn attempt(&self, batch: &[Epoch], stop: &AtomicBool) -> Result<Progress, Failure> {
        let transactional = self.config.delivery == Delivery::ExactlyOnce;
        if transactional {
            self.producer
                .begin_transaction()
                .map_err(|e| self.failure("beginning a transaction", e))?;
        }
        *self
            .producer
            .context()
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Acknowledged::default();
        for epoch in batch {
            for message in &epoch.messages {
                let topic = self.config.topics.get(&message.topic).ok_or_else(|| {
                    Failure::Fatal(SinkError::Fatal {
                        doing: "writing output",
                        reason: format!("no topic name for {}", message.topic.name()),
                    })
                })?;
                self.send(topic, &message.key, message.value.as_deref(), epoch.time)?;
            }
        }
        // The progress record names the offsets of this batch's messages, so they must be
        // acknowledged before it is written.
        let written = self.acknowledged(stop)?;
        let mut progress = self.progress.clone();
        for ((topic, partition), offset) in written {
            let next = progress.outputs.entry(topic).or_default();
            let slot = next.entry(partition).or_insert(0);
            *slot = (*slot).max(offset + 1);
        }
        for epoch in batch {
            for position in &epoch.inputs {
                let next = progress.inputs.entry(position.topic.clone()).or_default();
                let slot = next.entry(position.partition).or_insert(0);
                *slot = (*slot).max(position.next_offset);
            }
        }
        // Times up to the resume point are already recorded (a restart only repairs there).
        let last = batch.last().map_or(0, |e| e.time);
        if last > progress.time {
            progress.time = last;
            let value = serde_json::to_string(&progress).map_err(|e| {
                Failure::Fatal(SinkError::Fatal {
                    doing: "encoding progress",
                    reason: e.to_string(),
                })
            })?;
            self.send(
                &self.config.progress_topic,
                &self.config.job,
                Some(&value),
                last,
            )?;
        }
        if transactional {
            self.commit(stop)?;
        } else {
            self.acknowledged(stop)?;
        }
        Ok(progress)
    }

    /// Queues one message; a full local queue is drained by delivery reports, then retried.
    fn send(&self, topic: &str, key: &str, value: Option<&str>, time: Time) -> Result<(), Failure> {
        let time_text = time.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: TIME_HEADER,
            value: Some(&time_text),
        });
        let mut record: BaseRecord<'_, str, str, ()> =
            BaseRecord::to(topic).key(key).headers(headers);
        record.payload = value;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(self.failure("writing output", error)),
            }
        }
    }

    /// Waits until every message sent so far is acknowledged; returns the offsets written.
    fn acknowledged(&self, stop: &AtomicBool) -> Result<HashMap<(String, i32), i64>, Failure> {
        // librdkafka retries delivery itself while the broker is down; this only waits.
        self.retry_while_unreachable("waiting for output acknowledgements", stop, |p| {
            p.flush(WAIT)
        })
        .map_err(Failure::Fatal)?;
        let acknowledged = std::mem::take(
            &mut *self
                .producer
                .context()
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        match acknowledged.failure {
            Some(reason) if self.config.delivery == Delivery::ExactlyOnce => {
                Err(match self.fatal() {
                    Some(error) => Failure::Fatal(error),
                    None => Failure::Retry(reason),
                })
            }
            // Without a transaction a lost message cannot be taken back: stop, and let the
            // restart replay and repair.
            Some(reason) => Err(Failure::Fatal(SinkError::Fatal {
                doing: "writing output",
                reason,
            })),
            None => Ok(acknowledged.written),
        }
    }

    fn commit(&self, stop: &AtomicBool) -> Result<(), Failure> {
        loop {
            match self.producer.commit_transaction(WAIT) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(e)) if e.is_retriable() => {
                    if stop.load(Ordering::Relaxed) {
                        return Err(Failure::Fatal(SinkError::Stopped));
                    }
                    warn!(error = %e, "committing output is taking long (is the broker up?); retrying");
                }
                // The flush inside the commit timed out: the broker is slow or down.
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {
                    if stop.load(Ordering::Relaxed) {
                        return Err(Failure::Fatal(SinkError::Stopped));
                    }
                    warn!("output not yet acknowledged (is the broker up?); still waiting");
                }
                Err(error) => return Err(self.failure("committing a transaction", error)),
            }
        }
    }

    fn abort(&self, stop: &AtomicBool) -> Result<(), SinkError> {
        self.retry_while_unreachable("aborting a transaction", stop, |p| {
            p.abort_transaction(WAIT)
        })
    }

    /// Runs `call` until it succeeds, retrying while the error is a timeout or retriable.
    fn retry_while_unreachable(
        &self,
        doing: &'static str,
        stop: &AtomicBool,
        call: impl Fn(&BaseProducer<Deliveries>) -> Result<(), KafkaError>,
    ) -> Result<(), SinkError> {
        loop {
            match call(&self.producer) {
                Ok(()) => return Ok(()),
                Err(error) if is_wait(&error) && self.fatal().is_none() => {
                    if stop.load(Ordering::Relaxed) {
                        return Err(SinkError::Stopped);
                    }
                    warn!(%error, brokers = self.config.kafka.bootstrap, "broker not answering while {doing}; retrying");
                }
                Err(error) => {
                    return Err(self.fatal().unwrap_or(SinkError::Fatal {
                        doing,
                        reason: error.to_string(),
                    }));
                }
            }
        }
    }

    /// Sorts an error of a transactional call into redo or give up.
    fn failure(&self, doing: &'static str, error: KafkaError) -> Failure {
        if let Some(fatal) = self.fatal() {
            return Failure::Fatal(fatal);
        }
        match &error {
            KafkaError::Transaction(e) if e.txn_requires_abort() => {
                Failure::Retry(format!("{doing}: {e}"))
            }
            _ => Failure::Fatal(SinkError::Fatal {
                doing,
                reason: error.to_string(),
            }),
        }
    }

    /// The producer's fatal error, if it has one; fencing is named as such.
    fn fatal(&self) -> Option<SinkError> {
        let (code, reason) = self.producer.client().fatal_error()?;
        Some(match code {
            RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch => SinkError::Fenced {
                job: self.config.job.clone(),
                transactional_id: self.config.transactional_id.clone(),
            },
            _ => SinkError::Fatal {
                doing: "writing output",
                reason,
            },
        })
    }
}

/// Errors that mean "not yet": the broker is slow or down, and librdkafka keeps trying.
fn is_wait(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(e) => e.is_retriable(),
        KafkaError::Flush(code) => *code == RDKafkaErrorCode::OperationTimedOut,
        other => matches!(
            other.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::OperationTimedOut
                    | RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::BrokerTransportFailure
                    | RDKafkaErrorCode::CoordinatorNotAvailable
                    | RDKafkaErrorCode::NotCoordinator
            )
        ),
    }
}

/// The running writer: epochs go in, committed times come back.
pub struct WriterThread {
    pub epochs: Sender<Epoch>,
    pub committed: Receiver<Time>,
    pub handle: JoinHandle<()>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
