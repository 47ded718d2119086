//! `salesflow tail TOPIC`: reads a change stream, folds it by key, and shows the current table,
//! live (redrawn in place) or once (`--once`), as a text table or JSON lines (`--json`).
//!
//! `--until-progress` shows a consistent snapshot instead of whatever has been read: it takes the
//! output offsets named by the job's last progress record (SPEC §4) and folds each partition of
//! the topic only up to them.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::Message;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::config::Envelope;
use crate::fold::{Ends, Fold, Table, consume_from_start, forget_if_last, forget_reached, text_of};
use crate::kafka::Kafka;
use crate::progress::last_progress;

/// What to show and how.
#[derive(Clone, Debug)]
pub struct TailConfig {
    pub kafka: Kafka,
    pub topic: String,
    pub envelope: Envelope,
    pub once: bool,
    pub json: bool,
    pub read_committed: bool,
    /// Fold only up to the offsets of this job's last progress record, print once and exit.
    pub until_progress: Option<ProgressOf>,
}

/// Where a job's progress records are: the topic (prefix included) and the job name (their key).
#[derive(Clone, Debug)]
pub struct ProgressOf {
    pub topic: String,
    pub job: String,
}

/// Where the fold stops: the end offsets seen at start, or a progress record's output offsets.
struct Limits {
    ends: Ends,
    /// With a progress record: its time, and the offset before which each partition is read.
    snapshot: Option<(u64, Ends)>,
}

/// Shows the folded table of the topic until it is read (`once`) or `stop` is set.
pub fn tail(config: &TailConfig, stop: &AtomicBool, out: &mut impl Write) -> anyhow::Result<()> {
    let (consumer, ends) = consume_from_start(&config.kafka, &config.topic, config.read_committed)?;
    let Limits { mut ends, snapshot } = limits(config, ends, stop)?;
    ends.retain(|_, end| *end > 0);
    let once = config.once || snapshot.is_some();
    let mut fold = Fold::new(config.envelope);
    let mut dirty = true;
    let mut last_draw = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if once && ends.is_empty() {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                let message = message.with_context(|| format!("while reading {}", config.topic))?;
                forget_if_last(&mut ends, &message);
                let within = snapshot.as_ref().is_none_or(|(_, offsets)| {
                    let partition = (message.topic().to_string(), message.partition());
                    offsets
                        .get(&partition)
                        .is_some_and(|end| message.offset() < *end)
                });
                if let (true, (Some(key), value)) = (within, text_of(&message)) {
                    fold.apply(&key, value.as_deref())?;
                    dirty = true;
                }
            }
            None => forget_reached(&consumer, &mut ends)?,
        }
        if !once && dirty && last_draw.elapsed() >= Duration::from_millis(500) {
            // Clear the screen and draw from the top, so the table refreshes in place.
            write!(
                out,
                "\x1b[H\x1b[2J{}",
                show(&config.topic, fold.table(), config.json)
            )?;
            out.flush()?;
            dirty = false;
            last_draw = Instant::now();
        }
    }
    if once && !stop.load(Ordering::Relaxed) {
        if let (Some((time, _)), false) = (&snapshot, config.json) {
            writeln!(out, "snapshot as of time {time} (the last progress record)")?;
        }
        write!(out, "{}", show(&config.topic, fold.table(), config.json))?;
    }
    Ok(())
}

/// The offsets to read up to: the ends seen at start, or, with `--until-progress`, the output
/// offsets of the job's last progress record (partitions it does not name were never written).
fn limits(config: &TailConfig, ends: Ends, stop: &AtomicBool) -> anyhow::Result<Limits> {
    let Some(of) = &config.until_progress else {
        return Ok(Limits {
            ends,
            snapshot: None,
        });
    };
    let progress = last_progress(&config.kafka, &of.topic, &of.job, stop)?.with_context(|| {
        format!(
            "{} holds no progress record of job {} yet: nothing is committed to show",
            of.topic, of.job
        )
    })?;
    let written = progress.outputs.get(&config.topic);
    let offsets: Ends = ends
        .keys()
        .map(|(topic, partition)| {
            let end = written.and_then(|w| w.get(partition)).copied().unwrap_or(0);
            ((topic.clone(), *partition), end)
        })
        .collect();
    Ok(Limits {
        ends: offsets.clone(),
        snapshot: Some((progress.time, offsets)),
    })
}

fn show(topic: &str, table: &Table, json: bool) -> String {
    if json {
        return table.values().map(|row| format!("{row}\n")).collect();
    }
    let rows: Vec<Vec<(String, String)>> =
        table.values().filter_map(|row| fields(row).ok()).collect();
    let columns: Vec<&str> = rows
        .first()
        .map(|r| r.iter().map(|(name, _)| name.as_str()).collect())
        .unwrap_or_default();
    format!("{topic} ({} rows)\n{}", rows.len(), render(&columns, &rows))
}

/// Rows as an aligned text table of `columns`.
pub fn render(columns: &[&str], rows: &[Vec<(String, String)>]) -> String {
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    row.iter()
                        .find(|(name, _)| name == c)
                        .map_or("", |(_, v)| v.as_str())
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([columns[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: &[&str]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:>w$}"))
            .collect();
        format!("  {}\n", padded.join("  "))
    };
    std::iter::once(line(columns))
        .chain(cells.iter().map(|r| line(r)))
        .collect()
}

/// The fields of a JSON object row, in order, each as display text (strings unquoted).
pub fn fields(row: &str) -> Result<Vec<(String, String)>, serde_json::Error> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Vec::new();
            while let Some((name, value)) = map.next_entry::<String, Box<RawValue>>()? {
                let text = serde_json::from_str::<String>(value.get())
                    .unwrap_or_else(|_| value.get().to_string());
                fields.push((name, text));
            }
            Ok(fields)
        }
    }
    serde_json::Deserializer::from_str(row).deserialize_map(Fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_render_in_field_order_and_aligned() {
        let row = fields(r#"{"category":"books","orders":12,"revenue":1234.50,"name":null}"#)
            .expect("an object");
        assert_eq!(row[0], ("category".to_string(), "books".to_string()));
        assert_eq!(row[2], ("revenue".to_string(), "1234.50".to_string()));
        let text = render(&["category", "revenue"], &[row]);
        assert_eq!(text, "  category  revenue\n     books  1234.50\n");
    }
}
