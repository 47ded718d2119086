//! Reading a change-stream topic back and folding it by key into the current table, in any
//! envelope: what a consumer of salesflow does, and what `salesflow tail` shows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::Envelope;
use crate::kafka::Kafka;

/// A topic's current rows: key JSON -> row JSON.
pub type Table = BTreeMap<String, String>;

/// Folds messages of one envelope into a table.
pub struct Fold {
    envelope: Envelope,
    table: Table,
    /// For `diff`: the multiplicity of each (key, row).
    counts: BTreeMap<(String, String), i64>,
}

#[derive(Deserialize)]
struct DiffValue<'a> {
    #[serde(borrow)]
    row: &'a RawValue,
    diff: i64,
}

#[derive(Deserialize)]
struct DebeziumValue<'a> {
    #[serde(borrow)]
    after: Option<&'a RawValue>,
}

/// What one output message says, in any envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The key's row is now this, or gone (`upsert`, `debezium`).
    Row(Option<String>),
    /// This row's count changes by this much (`diff`).
    Diff(String, i64),
    /// A tombstone in a change-log envelope: a compaction marker, not a change.
    Marker,
}

/// Reads one message value of `envelope`; a value the envelope cannot read is an error naming it.
pub fn read_change(envelope: Envelope, value: Option<&str>) -> anyhow::Result<Change> {
    Ok(match (envelope, value) {
        (Envelope::Upsert, value) => Change::Row(value.map(str::to_string)),
        (Envelope::Debezium, Some(value)) => {
            let change: DebeziumValue = serde_json::from_str(value)
                .with_context(|| format!("not a debezium value: {value}"))?;
            Change::Row(
                change
                    .after
                    .filter(|a| a.get() != "null")
                    .map(|a| a.get().to_string()),
            )
        }
        (Envelope::Diff, Some(value)) => {
            let change: DiffValue = serde_json::from_str(value)
                .with_context(|| format!("not a diff value: {value}"))?;
            Change::Diff(change.row.get().to_string(), change.diff)
        }
        (_, None) => Change::Marker,
    })
}

impl Fold {
    pub fn new(envelope: Envelope) -> Self {
        Fold {
            envelope,
            table: Table::new(),
            counts: BTreeMap::new(),
        }
    }

    /// Applies one message; a value the envelope cannot read is an error naming it.
    pub fn apply(&mut self, key: &str, value: Option<&str>) -> anyhow::Result<()> {
        match read_change(self.envelope, value)? {
            Change::Row(after) => {
                match after {
                    Some(row) => self.table.insert(key.to_string(), row),
                    None => self.table.remove(key),
                };
            }
            Change::Diff(row, diff) => {
                let count = self
                    .counts
                    .entry((key.to_string(), row.clone()))
                    .or_default();
                *count += diff;
                match *count {
                    0 => {
                        self.counts.remove(&(key.to_string(), row.clone()));
                        if self.table.get(key) == Some(&row) {
                            self.table.remove(key);
                        }
                    }
                    _ => drop(self.table.insert(key.to_string(), row)),
                }
            }
            Change::Marker => {}
        }
        Ok(())
    }

    /// Starts over from `table`, read elsewhere (each row present once).
    pub fn replace(&mut self, table: Table) {
        self.counts = table
            .iter()
            .map(|(key, row)| ((key.clone(), row.clone()), 1))
            .collect();
        self.table = table;
    }

    pub fn into_table(self) -> Table {
        self.table
    }

    pub fn table(&self) -> &Table {
        &self.table
    }
}

/// The end offset seen at the start of a read, per (topic, partition) still to be read.
pub type Ends = BTreeMap<(String, i32), i64>;

/// A consumer of every partition of `topic` from its beginning, and the end offsets seen now.
pub fn consume_from_start(
    kafka: &Kafka,
    topic: &str,
    read_committed: bool,
) -> anyhow::Result<(BaseConsumer, Ends)> {
    consume_from(kafka, &[topic], read_committed, |_, _| 0)
}

/// A consumer of every partition of `topics` from offset `start(topic, partition)`, and the end
/// offsets seen now.
pub fn consume_from(
    kafka: &Kafka,
    topics: &[&str],
    read_committed: bool,
    start: impl Fn(&str, i32) -> i64,
) -> anyhow::Result<(BaseConsumer, Ends)> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "salesflow-fold")
        .set("enable.auto.commit", "false")
        .set(
            "isolation.level",
            if read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        // Each partition is read to its end; do not idle at every end.
        .set("fetch.wait.max.ms", "10")
        .create()
        .context("while creating a consumer")?;
    let timeout = Duration::from_secs(10);
    let mut ends = Ends::new();
    let mut list = TopicPartitionList::new();
    for &topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .with_context(|| format!("while reading {topic}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions())
            .map(|p| p.id())
            .collect();
        anyhow::ensure!(!partitions.is_empty(), "topic {topic} does not exist");
        for partition in partitions {
            let (_, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            ends.insert((topic.to_string(), partition), high);
            let offset = match start(topic, partition) {
                0 => Offset::Beginning,
                from => Offset::Offset(from),
            };
            list.add_partition_offset(topic, partition, offset)?;
        }
    }
    consumer.assign(&list)?;
    Ok((consumer, ends))
}

/// Key and value of a message as text.
pub fn text_of(message: &BorrowedMessage<'_>) -> (Option<String>, Option<String>) {
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    (text(message.key()), text(message.payload()))
}

/// Hands every message of `topic`, from its beginning up to the end offsets seen now, to `each`.
pub fn read_to_end(
    kafka: &Kafka,
    topic: &str,
    each: impl FnMut(&BorrowedMessage<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    read_range(kafka, &[topic], |_, _| 0, each)
}

/// Hands every message of `topics`, from offset `start(topic, partition)` up to the end offsets
/// seen now, to `each`; one consumer reads them all at once.
pub fn read_range(
    kafka: &Kafka,
    topics: &[&str],
    start: impl Fn(&str, i32) -> i64 + Copy,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (consumer, mut ends) = consume_from(kafka, topics, true, start)?;
    ends.retain(|(topic, partition), end| *end > start(topic, *partition));
    let mut last_seen = Instant::now();
    while !ends.is_empty() {
        // Short: a transaction's marker ends a partition without a record, and only an empty
        // poll looks at the positions that tell.
        match consumer.poll(Duration::from_millis(5)) {
            Some(message) => {
                let message = message.context("while reading to the end offsets")?;
                forget_if_last(&mut ends, &message);
                last_seen = Instant::now();
                each(&message)?;
            }
            None => {
                forget_reached(&consumer, &mut ends)?;
                anyhow::ensure!(
                    last_seen.elapsed() < STALL,
                    "reading stopped before the end offsets of {:?}",
                    ends.keys().collect::<Vec<_>>()
                );
            }
        }
    }
    Ok(())
}

/// Removes the message's partition from `ends` if the message is its last one.
pub fn forget_if_last(ends: &mut Ends, message: &BorrowedMessage<'_>) {
    let key = (message.topic().to_string(), message.partition());
    if ends
        .get(&key)
        .is_some_and(|end| message.offset() + 1 >= *end)
    {
        ends.remove(&key);
    }
}

/// Removes from `ends` the partitions whose consumer position has reached their end offset.
/// Transaction markers end a partition without a record, so only the position tells.
pub fn forget_reached(consumer: &BaseConsumer, ends: &mut Ends) -> anyhow::Result<()> {
    let positions = consumer
        .position()
        .context("while reading the consumer's positions")?;
    ends.retain(|(topic, partition), end| {
        let position = positions
            .find_partition(topic, *partition)
            .map(|e| e.offset());
        !matches!(position, Some(Offset::Offset(o)) if o >= *end)
    });
    Ok(())
}

/// How long a read may see nothing new before it gives up.
const STALL: Duration = Duration::from_secs(30);

/// The current table of `topic`, read up to the end offsets seen now.
pub fn read_table(kafka: &Kafka, topic: &str, envelope: Envelope) -> anyhow::Result<Table> {
    let mut fold = Fold::new(envelope);
    read_to_end(kafka, topic, |message| match text_of(message) {
        (Some(key), value) => fold.apply(&key, value.as_deref()),
        (None, _) => Ok(()),
    })?;
    Ok(fold.table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_envelope_folds_to_the_same_table() {
        let (old, new) = (r#"{"k":1,"v":1}"#, r#"{"k":1,"v":2}"#);
        let mut upsert = Fold::new(Envelope::Upsert);
        upsert.apply("a", Some(old)).expect("ok");
        upsert.apply("a", Some(new)).expect("ok");
        upsert.apply("b", Some(old)).expect("ok");
        upsert.apply("b", None).expect("ok");

        let mut debezium = Fold::new(Envelope::Debezium);
        debezium
            .apply(
                "a",
                Some(&format!(
                    r#"{{"before":null,"after":{old},"op":"c","ts_ms":1}}"#
                )),
            )
            .expect("ok");
        debezium
            .apply(
                "a",
                Some(&format!(
                    r#"{{"before":{old},"after":{new},"op":"u","ts_ms":2}}"#
                )),
            )
            .expect("ok");
        debezium
            .apply(
                "b",
                Some(&format!(
                    r#"{{"before":null,"after":{old},"op":"c","ts_ms":1}}"#
                )),
            )
            .expect("ok");
        debezium
            .apply(
                "b",
                Some(&format!(
                    r#"{{"before":{old},"after":null,"op":"d","ts_ms":2}}"#
                )),
            )
            .expect("ok");

        let mut diff = Fold::new(Envelope::Diff);
        for (key, row, d) in [
            ("a", old, 1),
            ("a", old, -1),
            ("a", new, 1),
            ("b", old, 1),
            ("b", old, -1),
        ] {
            diff.apply(
                key,
                Some(&format!(r#"{{"row":{row},"diff":{d},"time":1}}"#)),
            )
            .expect("ok");
        }

        let expected: Table = [("a".to_string(), new.to_string())].into();
        assert_eq!(upsert.table(), &expected);
        assert_eq!(debezium.table(), &expected);
        assert_eq!(diff.table(), &expected);
        assert!(diff.apply("a", Some("not json")).is_err());
    }
}
