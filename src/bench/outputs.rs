//! An engine's output topics read back: each table folded by key (upsert envelope), and the time
//! of the last message written, which is when the engine's last output became visible.
//!
//! Output topics the benchmark creates use `message.timestamp.type=LogAppendTime`, so every
//! engine's messages carry the broker's clock, whatever timestamps the engine itself sets (Kafka
//! Streams forwards the input's event time).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::message::Message;
use serde_json::Value;

use crate::config::Envelope;
use crate::fold::{Fold, Table, read_range, text_of};
use crate::kafka::{Kafka, wait_for_open_transactions};

/// How long a stopped engine's last transaction may take to become readable.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The folded tables of one engine, by unprefixed topic name.
#[derive(Debug, Default)]
pub struct Outputs {
    pub tables: BTreeMap<String, Table>,
    /// Milliseconds since the epoch of the last message of any of the topics.
    pub last_write_ms: Option<i64>,
}

/// Reads `topics` (unprefixed) under `prefix` to their ends and folds each.
pub fn read_outputs(kafka: &Kafka, prefix: &str, topics: &[&str]) -> anyhow::Result<Outputs> {
    let names: Vec<String> = topics.iter().map(|t| format!("{prefix}{t}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut folds: BTreeMap<&str, Fold> = topics
        .iter()
        .map(|t| (*t, Fold::new(Envelope::Upsert)))
        .collect();
    // The engine has stopped: its last transaction is committed, but maybe not yet readable.
    wait_for_open_transactions(kafka, &refs, &AtomicBool::new(false), Some(SETTLE_TIMEOUT))?;
    let mut last_write_ms = None;
    read_range(
        kafka,
        &refs,
        |_, _| 0,
        |message| {
            let topic = &message.topic()[prefix.len()..];
            if let Some(ms) = message.timestamp().to_millis() {
                last_write_ms = last_write_ms.max(Some(ms));
            }
            match (folds.get_mut(topic), text_of(message)) {
                (Some(fold), (Some(key), value)) => fold.apply(&key, value.as_deref()),
                _ => Ok(()),
            }
        },
    )?;
    Ok(Outputs {
        tables: folds
            .into_iter()
            .map(|(topic, fold)| (topic.to_string(), fold.table().clone()))
            .collect(),
        last_write_ms,
    })
}

/// How one table of two engines compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub topic: String,
    pub rows: [usize; 2],
    /// Keys whose rows differ (or exist in one table only).
    pub differing: usize,
    /// The first few of them: key, then each engine's row.
    pub first: Vec<(String, Option<String>, Option<String>)>,
}

impl Comparison {
    pub fn equal(&self) -> bool {
        self.differing == 0
    }
}

/// How many differing rows a comparison shows.
const SHOWN: usize = 3;

/// Compares every table the two engines both have, row by row; numbers compare by value, so
/// `65.0` equals `65.00`.
pub fn compare(ours: &Outputs, theirs: &Outputs) -> Vec<Comparison> {
    ours.tables
        .iter()
        .filter_map(|(topic, mine)| Some((topic, mine, theirs.tables.get(topic)?)))
        .map(|(topic, mine, other)| {
            let keys: std::collections::BTreeSet<&String> =
                mine.keys().chain(other.keys()).collect();
            let differing: Vec<&String> = keys
                .into_iter()
                .filter(|key| !same_row(mine.get(*key), other.get(*key)))
                .collect();
            Comparison {
                topic: topic.clone(),
                rows: [mine.len(), other.len()],
                differing: differing.len(),
                first: differing
                    .iter()
                    .take(SHOWN)
                    .map(|key| {
                        (
                            (*key).clone(),
                            mine.get(*key).cloned(),
                            other.get(*key).cloned(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

fn same_row(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (parse(a), parse(b)) {
            (Some(a), Some(b)) => same_value(&a, &b),
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(rows: &[(&str, &str)]) -> Outputs {
        let table: Table = rows
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Outputs {
            tables: [("sales_total".to_string(), table)].into(),
            last_write_ms: None,
        }
    }

    #[test]
    fn rows_compare_by_value_and_every_difference_is_counted() {
        let ours = outputs(&[("a", r#"{"revenue":65.00,"orders":2}"#), ("b", "{}")]);
        let same = outputs(&[("a", r#"{"orders":2,"revenue":65.0}"#), ("b", "{}")]);
        assert!(compare(&ours, &same)[0].equal());
        let other = outputs(&[("a", r#"{"orders":2,"revenue":65.01}"#), ("c", "{}")]);
        let comparison = &compare(&ours, &other)[0];
        assert_eq!(
            comparison.differing, 3,
            "a differs, b and c exist on one side only"
        );
        assert_eq!(comparison.first[0].0, "a");
    }
}
