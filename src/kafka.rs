//! Kafka clients, in one place: their settings, the embedded broker, topics and metadata.
//!
//! ```text
//!   --brokers given:  clients ──────────────────────────────> that cluster
//!   no --brokers:     Embedded (librdkafka mock cluster, main thread) <── clients via its address
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use tracing::{info, warn};

use crate::config::redacted;

/// Why talking to Kafka failed in a way the job cannot wait out.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("cannot create a Kafka client: {0}")]
    Client(#[source] KafkaError),
    #[error("cannot start the embedded broker: {0}")]
    Embedded(#[source] KafkaError),
    #[error("cannot create topic {topic}: {source}")]
    CreateTopic { topic: String, source: KafkaError },
    #[error("stopped while waiting for the broker")]
    Stopped,
}

const FETCH_QUEUE_BACKOFF: &str = "fetch.queue.backoff.ms";

/// How to reach the cluster: the bootstrap address and the user's `-X` properties.
#[derive(Clone, Debug)]
pub struct Kafka {
    pub bootstrap: String,
    pub properties: Vec<(String, String)>,
}

impl Kafka {
    /// A client configuration with the bootstrap address and every `-X` property.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// The properties as a log line, secrets hidden.
    pub fn describe(&self) -> String {
        let props: Vec<String> = self
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={}", redacted(k, v)))
            .collect();
        format!("{} {}", self.bootstrap, props.join(" "))
    }

    /// A consumer that is assigned partitions explicitly and never commits: the job's position
    /// lives in its progress topic, not in consumer-group offsets.
    pub fn consumer(&self, group: &str) -> Result<BaseConsumer, KafkaSetupError> {
        self.consumer_config(group)
            .create()
            .map_err(KafkaSetupError::Client)
    }

    fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = self.client_config();
        // When its queue of fetched records is full, librdkafka waits this long before it
        // fetches again (1 s by default): a worker that empties the queue sooner would then sit
        // idle, and a restart that reads every input would spend most of its time so. `-X`
        // still sets it.
        if config.get(FETCH_QUEUE_BACKOFF).is_none() {
            config.set(FETCH_QUEUE_BACKOFF, "10");
        }
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // Only committed input counts: an aborted producer's records are never applied.
            .set("isolation.level", "read_committed");
        config
    }

    fn admin(&self) -> Result<AdminClient<DefaultClientContext>, KafkaSetupError> {
        self.client_config()
            .create()
            .map_err(KafkaSetupError::Client)
    }
}

/// The in-process broker that starts when no `--brokers` is given (librdkafka's mock cluster).
///
/// It speaks the Kafka protocol, so every client and tool can use it for as long as the process
/// runs; it keeps data in memory only, and accepts transactions without enforcing them.
pub struct Embedded {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl Embedded {
    pub fn start() -> Result<Self, KafkaSetupError> {
        let cluster = MockCluster::new(1).map_err(KafkaSetupError::Embedded)?;
        Ok(Embedded { cluster })
    }

    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// The mock cluster has no CreateTopics request, so topics are made on the cluster object.
    pub fn create_topic(&self, topic: &TopicSpec) -> Result<(), KafkaSetupError> {
        self.cluster
            .create_topic(&topic.name, topic.partitions, 1)
            .map_err(|source| KafkaSetupError::CreateTopic {
                topic: topic.name.clone(),
                source,
            })
    }
}

/// A topic the job creates when it is missing.
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// Compacted topics keep the latest value per key (upsert outputs, progress).
    pub compacted: bool,
}

/// Creates each topic that does not exist yet; existing topics are left as they are, so a job
/// whose topics were made beforehand needs no right to create topics.
pub fn ensure_topics(
    kafka: &Kafka,
    topics: &[TopicSpec],
    stop: &AtomicBool,
) -> Result<(), KafkaSetupError> {
    ensure_topics_with(kafka, topics, &[], stop)
}

/// [`ensure_topics`], with topic properties of its own for the topics it creates (such as
/// `message.timestamp.type`).
pub fn ensure_topics_with(
    kafka: &Kafka,
    topics: &[TopicSpec],
    properties: &[(&str, &str)],
    stop: &AtomicBool,
) -> Result<(), KafkaSetupError> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .create()
        .map_err(KafkaSetupError::Client)?;
    let mut missing = Vec::new();
    for topic in topics {
        if end_offsets(&consumer, &kafka.bootstrap, &topic.name, stop)?.is_none() {
            missing.push(topic);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let admin = kafka.admin()?;
    let new: Vec<NewTopic> = missing
        .iter()
        .map(|t| {
            let topic = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(-1));
            // Upsert outputs keep the latest row per key; change logs and dead letters keep all.
            let topic = if t.compacted {
                topic.set("cleanup.policy", "compact")
            } else {
                topic.set("retention.ms", "-1")
            };
            properties
                .iter()
                .fold(topic, |topic, (key, value)| topic.set(key, value))
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut backoff = Backoff::new();
    loop {
        match futures_executor::block_on(admin.create_topics(&new, &options)) {
            Ok(results) => {
                for result in results {
                    match result {
                        Ok(name) => info!(topic = name, "created topic"),
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((name, code)) => {
                            return Err(KafkaSetupError::CreateTopic {
                                topic: name,
                                source: KafkaError::AdminOp(code),
                            });
                        }
                    }
                }
                return Ok(());
            }
            Err(error) => backoff.wait("creating topics", &kafka.bootstrap, &error, stop)?,
        }
    }
}

/// The offsets a partition holds now: from `start` (records before it are deleted) to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermarks {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

/// The partitions of `topic` with their offsets now, or `None` if the topic does not exist.
/// Waits (with a log line) while the broker cannot be reached.
pub fn end_offsets(
    consumer: &BaseConsumer,
    bootstrap: &str,
    topic: &str,
    stop: &AtomicBool,
) -> Result<Option<Vec<Watermarks>>, KafkaSetupError> {
    // Short attempts, so a broker that is down is reported within seconds and retried.
    let timeout = Duration::from_secs(3);
    let mut backoff = Backoff::new();
    let partitions = loop {
        match consumer.fetch_metadata(Some(topic), timeout) {
            Ok(metadata) => {
                let Some(t) = metadata.topics().first() else {
                    break Vec::new();
                };
                match t.error() {
                    None => {
                        // In id order: the processes of a cluster assign partitions by their
                        // place in this list, and a broker may list them in any order.
                        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
                        ids.sort_unstable();
                        break ids;
                    }
                    Some(code)
                        if RDKafkaErrorCode::from(code)
                            == RDKafkaErrorCode::UnknownTopicOrPartition =>
                    {
                        return Ok(None);
                    }
                    Some(code) => {
                        let error = KafkaError::MetadataFetch(code.into());
                        backoff.wait("reading topic metadata", bootstrap, &error, stop)?
                    }
                }
            }
            Err(error) => backoff.wait("reading topic metadata", bootstrap, &error, stop)?,
        }
    };
    let mut ends = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (start, end) = loop {
            match consumer.fetch_watermarks(topic, partition, timeout) {
                Ok(offsets) => break offsets,
                Err(error) => backoff.wait("reading end offsets", bootstrap, &error, stop)?,
            }
        };
        ends.push(Watermarks {
            partition,
            start,
            end,
        });
    }
    Ok(Some(ends))
}

/// Returns once no transaction is open on `topics`: once every partition's last stable offset
/// (what a `read_committed` consumer may read up to) has reached its end. A transaction left open
/// by an instance that died may still commit or abort, and even a committed one becomes readable
/// only once the broker has written its markers, after the commit returned. Gives up with an
/// error after `give_up_after`, if set, or when `stop` is set.
pub fn wait_for_open_transactions(
    kafka: &Kafka,
    topics: &[&str],
    stop: &AtomicBool,
    give_up_after: Option<Duration>,
) -> anyhow::Result<()> {
    let consumer = |isolation: &str| -> Result<BaseConsumer, KafkaSetupError> {
        kafka
            .client_config()
            .set("isolation.level", isolation)
            .create()
            .map_err(KafkaSetupError::Client)
    };
    let (committed, everything) = (consumer("read_committed")?, consumer("read_uncommitted")?);
    let timeout = Duration::from_secs(10);
    let mut partitions = Vec::new();
    for &topic in topics {
        let metadata = committed
            .fetch_metadata(Some(topic), timeout)
            .with_context(|| format!("while reading the partitions of {topic}"))?;
        for t in metadata.topics() {
            partitions.extend(t.partitions().iter().map(|p| (topic, p.id())));
        }
    }
    let started = Instant::now();
    let mut logged = Duration::ZERO;
    loop {
        let mut open = Vec::new();
        for &(topic, partition) in &partitions {
            let (_, stable) = committed.fetch_watermarks(topic, partition, timeout)?;
            let (_, end) = everything.fetch_watermarks(topic, partition, timeout)?;
            if stable < end {
                open.push(format!(
                    "{topic}/{partition} (readable up to {stable} of {end})"
                ));
            }
        }
        if open.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(!stop.load(Ordering::Relaxed), KafkaSetupError::Stopped);
        if let Some(limit) = give_up_after {
            anyhow::ensure!(
                started.elapsed() < limit,
                "transactions still open after {} s on {}",
                limit.as_secs(),
                open.join(", ")
            );
        }
        if started.elapsed() >= logged {
            info!(
                partitions = open.join(", "),
                "a transaction is still open; waiting for it to end (at most transaction.timeout.ms)"
            );
            logged += Duration::from_secs(10);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Warns for each of `topics` that will lose records to retention: the job rebuilds its state
/// from every record of its inputs, so after that a restart must refuse to run. One request for
/// all of them, so a broker that does not describe configurations (librdkafka's mock cluster
/// behind `--brokers`) costs one short timeout; then it says nothing.
pub fn warn_if_retention_deletes(kafka: &Kafka, topics: &[String]) {
    if topics.is_empty() {
        return;
    }
    let resources: Vec<ResourceSpecifier<'_>> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let described = kafka.admin().ok().and_then(|admin| {
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(5)));
        futures_executor::block_on(admin.describe_configs(resources.iter(), &options)).ok()
    });
    for (topic, config) in topics.iter().zip(described.into_iter().flatten()) {
        let Ok(config) = config else { continue };
        let value = |name: &str| {
            config
                .get(name)
                .and_then(|e| e.value.clone())
                .unwrap_or_default()
        };
        let (policy, retention) = (value("cleanup.policy"), value("retention.ms"));
        if !policy.split(',').any(|p| p.trim() == "compact") && retention != "-1" {
            warn!(
                topic,
                cleanup_policy = policy,
                retention_ms = retention,
                "input topic is neither compacted nor kept forever: once retention deletes records, a restart cannot rebuild the state and refuses to run"
            );
        }
    }
}

/// Capped exponential backoff for a broker that is down: waited for and retried, not a crash.
pub struct Backoff {
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);
    const CAP: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        Backoff { delay: Self::FIRST }
    }

    /// Logs what failed and sleeps, unless the job is stopping.
    pub fn wait(
        &mut self,
        doing: &str,
        bootstrap: &str,
        error: &KafkaError,
        stop: &AtomicBool,
    ) -> Result<(), KafkaSetupError> {
        if stop.load(Ordering::Relaxed) {
            return Err(KafkaSetupError::Stopped);
        }
        warn!(%error, brokers = bootstrap, retry_in_ms = self.delay.as_millis() as u64, "broker not answering while {doing}; retrying");
        std::thread::sleep(self.delay);
        self.delay = (self.delay * 2).min(Self::CAP);
        Ok(())
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// A flag set by SIGINT/SIGTERM, shared by every worker.
pub fn stop_flag() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(properties: &[(&str, &str)]) -> Kafka {
        Kafka {
            bootstrap: "127.0.0.1:9092".into(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_consumer_fetches_again_soon_after_its_queue_was_full() {
        let config = kafka(&[]).consumer_config("job");
        assert_eq!(config.get(FETCH_QUEUE_BACKOFF), Some("10"));
        assert_eq!(config.get("isolation.level"), Some("read_committed"));
    }

    #[test]
    fn a_user_property_sets_the_fetch_backoff() {
        let config = kafka(&[(FETCH_QUEUE_BACKOFF, "250")]).consumer_config("job");
        assert_eq!(config.get(FETCH_QUEUE_BACKOFF), Some("250"));
    }
}
