//! Reading a change-stream topic back and folding it by key into the current table.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::Kafka;

/// The current table of an `upsert` topic: key -> row, read up to the end offsets seen now.
pub fn upsert_table(kafka: &Kafka, topic: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "salesflow-fold")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        // Each partition is read to its end once; do not idle at every end.
        .set("fetch.wait.max.ms", "10")
        .create()
        .context("while creating a consumer")?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("while reading {topic}"))?;
    let mut ends = BTreeMap::new();
    let mut list = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
        if high > 0 {
            ends.insert(partition.id(), high);
            list.add_partition_offset(topic, partition.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&list)?;
    let mut table = BTreeMap::new();
    while !ends.is_empty() {
        let message = consumer
            .poll(timeout)
            .with_context(|| format!("{topic} stopped before its end"))??;
        if message.offset() + 1 >= ends.get(&message.partition()).copied().unwrap_or(0) {
            ends.remove(&message.partition());
        }
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
        let Some(key) = text(message.key()) else {
            continue;
        };
        match text(message.payload()) {
            Some(row) => table.insert(key, row),
            None => table.remove(&key),
        };
    }
    Ok(table)
}
