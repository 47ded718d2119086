//! The Kafka Streams peer (`benches/peers/kafka-streams`): the same analyses written as a Kafka
//! Streams user would, built with Maven when its jar is missing, started with `java -jar`, and
//! watched until it has processed every input record.
//!
//! Kafka Streams never exits by itself, so "done" is read from the broker: the application's
//! consumer group has committed offsets at the end of every input partition and of every internal
//! topic (repartition and foreign-key subscription topics), which it commits only after the
//! output those records caused (exactly-once: in the same transaction).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::Kafka;

/// The log line the peer writes when its stream threads start processing.
pub const MARKER: &str = "RUNNING: application.id";

/// The input topics the peer reads (it computes no stock levels, so no `inventory`).
pub const INPUTS: [&str; 4] = ["orders", "customers", "products", "fx_rates"];

/// The output topics the peer writes, all shared with salesflow.
pub const OUTPUTS: [&str; 6] = [
    "sales_total",
    "sales_by_category",
    "sales_by_segment",
    "sales_by_day",
    "sales_by_customer",
    "top_products_by_units",
];

/// How to run the peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    pub jar: PathBuf,
    pub bootstrap: String,
    pub input_prefix: String,
    pub output_prefix: String,
    pub application_id: String,
    pub exactly_once: bool,
    pub threads: usize,
    pub state_dir: PathBuf,
    /// Kafka Streams commits (and, with its record cache, emits) at this interval.
    pub commit_interval_ms: u64,
}

/// Builds the peer's jar with Maven if it is not there yet.
pub fn ensure_jar(jar: &Path) -> anyhow::Result<()> {
    if jar.is_file() {
        return Ok(());
    }
    let project = jar
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("pom.xml"))
        .filter(|pom| pom.is_file())
        .with_context(|| {
            format!(
                "{} does not exist and no pom.xml is next to its target/ directory: pass --peer-jar",
                jar.display()
            )
        })?;
    tracing::info!(pom = %project.display(), "building the Kafka Streams peer with Maven");
    let status = Command::new("mvn")
        .args(["-q", "-B", "-f"])
        .arg(&project)
        .args(["package", "-DskipTests"])
        .status()
        .context("cannot run mvn (Maven 3.8+ and a JDK 17+ build the Kafka Streams peer)")?;
    anyhow::ensure!(
        status.success(),
        "mvn failed to build {}",
        project.display()
    );
    anyhow::ensure!(
        jar.is_file(),
        "mvn ran but {} is still missing",
        jar.display()
    );
    Ok(())
}

/// The command line that starts the peer.
pub fn command(config: &PeerConfig) -> Command {
    let mut command = Command::new("java");
    command
        .arg("-jar")
        .arg(&config.jar)
        .args(["--bootstrap", &config.bootstrap])
        .args(["--input-prefix", &config.input_prefix])
        .args(["--output-prefix", &config.output_prefix])
        .args(["--application-id", &config.application_id])
        .args(["--eos", if config.exactly_once { "true" } else { "false" }])
        .args(["--threads", &config.threads.to_string()])
        .args([
            "--commit-interval-ms",
            &config.commit_interval_ms.to_string(),
        ])
        .arg("--state-dir")
        .arg(&config.state_dir);
    command
}

/// Whether the peer has committed offsets at the end of every input and internal partition.
pub fn caught_up(kafka: &Kafka, config: &PeerConfig) -> anyhow::Result<bool> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", &config.application_id)
        .set("enable.auto.commit", "false")
        // End offsets of a read_committed consumer are the last stable offsets.
        .set("isolation.level", "read_committed")
        .create()
        .context("while creating a consumer to watch the peer")?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(None, timeout)?;
    let internal = format!("{}-", config.application_id);
    let inputs: Vec<String> = INPUTS
        .iter()
        .map(|t| format!("{}{t}", config.input_prefix))
        .collect();
    let mut ends = TopicPartitionList::new();
    for topic in metadata.topics() {
        let name = topic.name();
        let consumed = inputs.iter().any(|i| i == name)
            || (name.starts_with(&internal)
                && (name.ends_with("-repartition") || name.ends_with("-topic")));
        if !consumed {
            continue;
        }
        for partition in topic.partitions() {
            let (_, end) = consumer.fetch_watermarks(name, partition.id(), timeout)?;
            ends.add_partition_offset(name, partition.id(), Offset::Offset(end))?;
        }
    }
    let committed = consumer.committed_offsets(ends.clone(), timeout)?;
    Ok(ends.elements().iter().all(|end| {
        let Offset::Offset(end_offset) = end.offset() else {
            return false;
        };
        end_offset == 0
            || matches!(
                committed
                    .find_partition(end.topic(), end.partition())
                    .map(|c| c.offset()),
                Some(Offset::Offset(c)) if c >= end_offset
            )
    }))
}
