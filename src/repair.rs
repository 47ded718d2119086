//! Taking back what a crashed run wrote past its last progress record.
//!
//! A run that stops abruptly may have written output for instants after its last progress record.
//! A restart recomputes from that record on, but the recomputed changes need not touch the same
//! keys: a row written just before the crash and undone by later input would otherwise stay. So the
//! restart reads every output message past the progress offsets and, at the resume time, writes
//! each such key back to its state as of the progress record (the replay's snapshot):
//!
//! ```text
//!  upsert    the snapshot row, or a tombstone          (only where the last message differs)
//!  debezium  before = the last "after" written, after = the snapshot row
//!  diff      the negation of the net change written past the progress record
//! ```
//! These messages carry the resume time in `salesflow-time`. Until output is written in Kafka
//! transactions, a consumer may have seen the taken-back messages; after this, every folded table
//! is the from-scratch answer again.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use differential_dataflow::Hashable;
use rdkafka::message::Message as _;

use crate::codecs::envelope::{KeyChange, encode};
use crate::config::Envelope;
use crate::fold::{Change, read_change, read_range, text_of};
use crate::kafka::Kafka;
use crate::model::{Diff, OutputTopic};
use crate::outputs::EncodedRow;
use crate::progress::Progress;
use crate::writer::Message;

/// What was written for one key past the progress record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unconfirmed {
    /// The row the last message left (upsert and debezium), `None` for a removal.
    pub last: Option<String>,
    /// Net count per row of the `diff` messages.
    pub net: BTreeMap<String, i64>,
}

/// Every key written past the progress record, per output topic.
pub type PastProgress = HashMap<(OutputTopic, String), Unconfirmed>;

/// The worker whose sink writes `(topic, key)`: the sink's exchange routes by this hash.
pub fn key_hash(topic: &OutputTopic, key: &String) -> u64 {
    (topic, key).hashed()
}

/// Reads every analysis topic past the offsets of `progress`.
pub fn written_after(
    kafka: &Kafka,
    topics: &HashMap<OutputTopic, String>,
    envelope: Envelope,
    progress: &Progress,
) -> anyhow::Result<PastProgress> {
    let analyses: HashMap<&str, OutputTopic> = OutputTopic::ANALYSES
        .into_iter()
        .filter_map(|topic| Some((topics.get(&topic)?.as_str(), topic)))
        .collect();
    let names: Vec<&str> = analyses.keys().copied().collect();
    let start = |name: &str, partition: i32| {
        progress
            .outputs
            .get(name)
            .and_then(|p| p.get(&partition))
            .copied()
            .unwrap_or(0)
    };
    let mut written = PastProgress::new();
    read_range(kafka, &names, start, |message| {
        let (Some(topic), (Some(key), value)) = (analyses.get(message.topic()), text_of(message))
        else {
            return Ok(());
        };
        let change = read_change(envelope, value.as_deref())
            .with_context(|| format!("in {} past the last progress", message.topic()))?;
        let entry = written.entry((*topic, key)).or_default();
        match change {
            Change::Row(after) => entry.last = after,
            Change::Diff(row, diff) => *entry.net.entry(row).or_default() += diff,
            Change::Marker => {}
        }
        Ok(())
    })
    .context("while reading the output topics past the last progress")?;
    Ok(written)
}

/// The messages that put this worker's keys of `written` back to the snapshot,
/// where `snapshot` is the replay's consolidated output at the resume time (every row `+1`).
pub fn repairs(
    written: &PastProgress,
    envelope: Envelope,
    worker: usize,
    peers: usize,
    snapshot: &[(EncodedRow, Diff)],
    time: u64,
) -> Vec<Message> {
    let rows: HashMap<(OutputTopic, &str), &str> = snapshot
        .iter()
        .filter(|(_, diff)| *diff > 0)
        .map(|((topic, key, value), _)| ((*topic, key.as_str()), value.as_str()))
        .collect();
    let mut out = Vec::new();
    for ((topic, key), unconfirmed) in written {
        if key_hash(topic, key) % peers as u64 != worker as u64 {
            continue;
        }
        let row = rows.get(&(*topic, key.as_str())).copied();
        let values = match envelope {
            Envelope::Upsert | Envelope::Debezium => {
                if unconfirmed.last.as_deref() == row {
                    continue;
                }
                let change = KeyChange {
                    before: unconfirmed.last.as_deref(),
                    after: row,
                };
                encode(envelope, &change, time)
            }
            Envelope::Diff => {
                // Retractions first, so a consumer summing the stream never sees two rows.
                let mut undo: Vec<(&String, i64)> = unconfirmed
                    .net
                    .iter()
                    .filter(|(_, net)| **net != 0)
                    .map(|(row, net)| (row, -net))
                    .collect();
                undo.sort_by_key(|(_, diff)| *diff);
                undo.into_iter()
                    .map(|(row, diff)| {
                        Some(format!(r#"{{"row":{row},"diff":{diff},"time":{time}}}"#))
                    })
                    .collect()
            }
        };
        out.extend(values.into_iter().map(|value| Message {
            topic: *topic,
            key: key.clone(),
            value,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(rows: &[(&str, &str)]) -> Vec<(EncodedRow, Diff)> {
        rows.iter()
            .map(|(k, v)| ((OutputTopic::SalesTotal, k.to_string(), v.to_string()), 1))
            .collect()
    }

    fn written(key: &str, unconfirmed: Unconfirmed) -> PastProgress {
        [((OutputTopic::SalesTotal, key.to_string()), unconfirmed)]
            .into_iter()
            .collect()
    }

    #[test]
    fn upsert_rewrites_the_snapshot_row_or_a_tombstone_and_skips_what_already_matches() {
        let changed = written(
            "k",
            Unconfirmed {
                last: Some("new".into()),
                ..Default::default()
            },
        );
        let rows = snapshot(&[("k", "old")]);
        let out = repairs(&changed, Envelope::Upsert, 0, 1, &rows, 7);
        let message = |value: Option<&str>| Message {
            topic: OutputTopic::SalesTotal,
            key: "k".to_string(),
            value: value.map(str::to_string),
        };
        assert_eq!(out, [message(Some("old"))]);
        let out = repairs(&changed, Envelope::Upsert, 0, 1, &snapshot(&[]), 7);
        assert_eq!(out, [message(None)]);
        let same = written(
            "k",
            Unconfirmed {
                last: Some("old".into()),
                ..Default::default()
            },
        );
        assert!(repairs(&same, Envelope::Upsert, 0, 1, &rows, 7).is_empty());
    }

    #[test]
    fn diff_negates_the_net_change_retractions_first() {
        let net = [
            ("1".to_string(), -1),
            ("2".to_string(), 1),
            ("3".to_string(), 0),
        ];
        let changed = written(
            "k",
            Unconfirmed {
                last: None,
                net: net.into_iter().collect(),
            },
        );
        let values: Vec<Option<String>> = repairs(&changed, Envelope::Diff, 0, 1, &[], 9)
            .into_iter()
            .map(|m| m.value)
            .collect();
        assert_eq!(
            values,
            [
                Some(r#"{"row":2,"diff":-1,"time":9}"#.to_string()),
                Some(r#"{"row":1,"diff":1,"time":9}"#.to_string()),
            ]
        );
    }

    #[test]
    fn each_key_is_repaired_by_exactly_one_worker() {
        let changed = written(
            "k",
            Unconfirmed {
                last: Some("x".into()),
                ..Default::default()
            },
        );
        let owners: usize = (0..3)
            .map(|w| repairs(&changed, Envelope::Upsert, w, 3, &[], 1).len())
            .sum();
        assert_eq!(owners, 1);
    }
}
