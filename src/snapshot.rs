//! A consistent snapshot of the output: every output topic folded up to exactly the offsets the
//! job's last progress record names, read with `read_committed`. That is the state as of the
//! record's logical time, with no part of a later instant (SPEC §4, Progress).
//!
//! ```text
//!  salesflow_progress ─last record of the job─> {time, outputs: {topic: {partition: next}}}
//!  output topics ─read_committed, from the start up to `next`─> fold by key ─> tables as of time
//! ```
//! The report reads it, and a restarted job's dashboard starts from it.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::message::Message;

use crate::config::Envelope;
use crate::fold::{Ends, Fold, Table, consume_from, forget_if_last, forget_reached, text_of};
use crate::kafka::Kafka;
use crate::model::OutputTopic;
use crate::progress::{Progress, last_progress};

/// How long a read may see nothing new before it gives up.
const STALL: Duration = Duration::from_secs(30);

/// The output tables of `topics` (topic, full name) as of `progress`.
pub fn tables_at(
    kafka: &Kafka,
    topics: &[(OutputTopic, String)],
    envelope: Envelope,
    progress: &Progress,
) -> anyhow::Result<BTreeMap<OutputTopic, Table>> {
    let mut folds: BTreeMap<&str, (OutputTopic, Fold)> = topics
        .iter()
        .map(|(topic, name)| (name.as_str(), (*topic, Fold::new(envelope))))
        .collect();
    let names: Vec<&str> = folds.keys().copied().collect();
    let (consumer, _) = consume_from(kafka, &names, true, |_, _| 0)?;
    // Up to the progress record's offsets, not the ends now: later output is a later instant.
    let mut ends: Ends = names
        .iter()
        .flat_map(|name| {
            progress
                .outputs
                .get(*name)
                .into_iter()
                .flatten()
                .map(|(partition, next)| ((name.to_string(), *partition), *next))
        })
        .filter(|(_, next)| *next > 0)
        .collect();
    let mut last_seen = Instant::now();
    while !ends.is_empty() {
        match consumer.poll(Duration::from_millis(50)) {
            Some(message) => {
                let message = message.context("while reading the output topics")?;
                let place = (message.topic().to_string(), message.partition());
                // Past the progress record, or a partition already read to it.
                if ends.get(&place).is_none_or(|end| message.offset() >= *end) {
                    continue;
                }
                forget_if_last(&mut ends, &message);
                last_seen = Instant::now();
                if let (Some(key), value) = text_of(&message)
                    && let Some((_, fold)) = folds.get_mut(message.topic())
                {
                    fold.apply(&key, value.as_deref())
                        .with_context(|| format!("while folding {}", message.topic()))?;
                }
            }
            None => {
                forget_reached(&consumer, &mut ends)?;
                anyhow::ensure!(
                    last_seen.elapsed() < STALL,
                    "reading stopped before the progress record's offsets of {:?}",
                    ends.keys().collect::<Vec<_>>()
                );
            }
        }
    }
    Ok(folds
        .into_values()
        .map(|(topic, fold)| (topic, fold.into_table()))
        .collect())
}

/// The job's last progress record and the tables of `topics` as of it; `None` when the job has
/// written no progress yet.
pub fn latest(
    kafka: &Kafka,
    progress_topic: &str,
    job: &str,
    topics: &[(OutputTopic, String)],
    envelope: Envelope,
    stop: &AtomicBool,
) -> anyhow::Result<Option<(Progress, BTreeMap<OutputTopic, Table>)>> {
    let Some(progress) = last_progress(kafka, progress_topic, job, stop)? else {
        return Ok(None);
    };
    let tables = tables_at(kafka, topics, envelope, &progress)?;
    Ok(Some((progress, tables)))
}
