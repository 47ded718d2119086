//! `salesflow demo`: the embedded broker, the generator at a modest rate and the job, in one
//! process, with a live view of the main tables until Ctrl-C.
//!
//! ```text
//!   generator thread ──input topics──> embedded broker <──output topics── job thread
//!                                            │
//!                     view (this thread) <───┘ folds the outputs, redraws twice a second,
//!                                              highlights the rows that changed
//! ```
//!
//! Ctrl-C sets the shared stop flag: the generator flushes, the job finishes its instant, the
//! view leaves its last frame on the screen, and the command exits 0.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::codecs::json::parse_cents;
use crate::config::DemoConfig;
use crate::fold::{Fold, consume_from, text_of};
use crate::generate::{GenerateConfig, generate};
use crate::kafka::{Embedded, Kafka};
use crate::runtime::{self, create_embedded_topics};
use crate::tail::{fields as row_fields, render};

/// A table of the view: its topic, the fields shown, how rows are ordered, how many are shown.
struct View {
    topic: &'static str,
    fields: &'static [&'static str],
    order: Order,
    rows: usize,
}

#[derive(Clone, Copy)]
enum Order {
    Rank,
    RevenueDown,
    Key,
}

const VIEWS: [View; 5] = [
    View {
        topic: "sales_total",
        fields: &[
            "orders",
            "units",
            "revenue",
            "avg_unit_price",
            "avg_order_value",
        ],
        order: Order::Key,
        rows: 1,
    },
    View {
        topic: "sales_by_category",
        fields: &["category", "orders", "units", "revenue", "avg_order_value"],
        order: Order::RevenueDown,
        rows: 12,
    },
    View {
        topic: "sales_by_segment",
        fields: &["gender", "age_band", "orders", "revenue", "avg_order_value"],
        order: Order::RevenueDown,
        rows: 8,
    },
    View {
        topic: "top_products_by_units",
        fields: &["rank", "product_id", "name", "category", "units", "revenue"],
        order: Order::Rank,
        rows: 10,
    },
    View {
        topic: "alerts",
        fields: &["rule", "subject", "reason"],
        order: Order::Key,
        rows: 6,
    },
];

/// The demo serves its dashboard here unless `--http-addr` says otherwise.
const DEMO_HTTP_ADDR: &str = "127.0.0.1:8080";

/// How often the view redraws: fast enough to feel live, slow enough to read.
const REDRAW: Duration = Duration::from_millis(500);

/// Runs the demo until `stop` is set.
pub fn demo(config: DemoConfig, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let broker = Embedded::start().context("while starting the embedded broker")?;
    let mut job = config.job;
    job.http_addr
        .get_or_insert_with(|| DEMO_HTTP_ADDR.to_string());
    job.brokers = Some(broker.bootstrap());
    job.brokers_embedded = true;
    job.bounded = false;
    create_embedded_topics(&broker, &job)?;
    let kafka = Kafka {
        bootstrap: broker.bootstrap(),
        properties: job.kafka_properties.clone(),
    };
    let generator = GenerateConfig {
        kafka: Some(kafka.clone()),
        topic_prefix: job.topic_prefix.clone(),
        partitions: 4,
        rate: Some(config.rate),
        workload: config.workload,
        show_progress: false,
    };
    let generator = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || generate(&generator, &stop))?
    };
    let topics: Vec<String> = VIEWS.iter().map(|v| job.output_topic(v.topic)).collect();
    let envelope = job.envelope;
    let runner = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("job".into())
            .spawn(move || runtime::run(job, stop))?
    };
    let shown = show(
        &kafka,
        &topics,
        envelope,
        &stop,
        &mut std::io::stdout().lock(),
    );
    // Whatever ended the view ends the demo.
    stop.store(true, Ordering::Relaxed);
    let generated = generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))?;
    let ran = runner
        .join()
        .map_err(|_| anyhow::anyhow!("the job panicked"))?;
    shown?;
    let generated = generated.context("the generator failed")?;
    ran.context("the job failed")?;
    println!(
        "stopped: produced {} records at {:.0} records/s into the embedded broker at {}",
        generated.records,
        generated.per_second(generated.records),
        kafka.bootstrap
    );
    Ok(())
}

/// Folds the views' topics and redraws them until `stop` is set.
fn show(
    kafka: &Kafka,
    topics: &[String],
    envelope: crate::config::Envelope,
    stop: &AtomicBool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    // Read committed: the view shows whole instants only, as a downstream consumer would.
    let (consumer, _) = consume_from(kafka, &names, true, |_, _| 0)?;
    let mut folds: Vec<Fold> = VIEWS.iter().map(|_| Fold::new(envelope)).collect();
    let mut shown: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); VIEWS.len()];
    let terminal = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut last_draw = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Some(message) = consumer.poll(Duration::from_millis(50)) {
            let message = message.context("while reading the output topics")?;
            let at = topics
                .iter()
                .position(|t| t == rdkafka::Message::topic(&message));
            if let (Some(at), (Some(key), value)) = (at, text_of(&message)) {
                folds[at].apply(&key, value.as_deref())?;
            }
        }
        if last_draw.elapsed() >= REDRAW {
            let frame = frame(&folds, &mut shown, terminal, started.elapsed());
            // Home and clear, so the frame replaces the last one in place.
            let clear = if terminal { "\x1b[H\x1b[2J" } else { "\n" };
            write!(out, "{clear}{frame}")?;
            out.flush()?;
            last_draw = Instant::now();
        }
    }
    Ok(())
}

/// The text of one frame; rows that are new or changed since the last frame are highlighted
/// (on a terminal) and `shown` remembers this frame's rows for the next.
fn frame(
    folds: &[Fold],
    shown: &mut [BTreeMap<String, String>],
    terminal: bool,
    running: Duration,
) -> String {
    let mut text = format!(
        "salesflow demo: generator, embedded broker and job, running {} s; Ctrl-C stops\n\n",
        running.as_secs()
    );
    for ((view, fold), before) in VIEWS.iter().zip(folds).zip(shown.iter_mut()) {
        let mut rows: Vec<Row<'_>> = fold
            .table()
            .iter()
            .filter_map(|(key, json)| {
                Some(Row {
                    key,
                    json,
                    fields: row_fields(json).ok()?,
                })
            })
            .collect();
        sort(&mut rows, view.order);
        let changed: Vec<bool> = rows
            .iter()
            .take(view.rows)
            .map(|row| before.get(row.key) != Some(row.json))
            .collect();
        let fields: Vec<Vec<(String, String)>> = rows
            .iter()
            .take(view.rows)
            .map(|row| row.fields.clone())
            .collect();
        let more = rows.len().saturating_sub(view.rows);
        text.push_str(view.topic);
        if more > 0 {
            text.push_str(&format!(" ({} rows, {more} not shown)", rows.len()));
        }
        text.push('\n');
        for (i, line) in render(view.fields, &fields).lines().enumerate() {
            let highlight = terminal && i > 0 && changed.get(i - 1) == Some(&true);
            // Reverse video marks a row whose figures moved since the last frame.
            match highlight {
                true => text.push_str(&format!("\x1b[7m{line}\x1b[0m\n")),
                false => text.push_str(&format!("{line}\n")),
            }
        }
        text.push('\n');
        *before = fold.table().clone();
    }
    text
}

/// A row of a folded table, with its fields parsed for display.
struct Row<'a> {
    key: &'a String,
    json: &'a String,
    fields: Vec<(String, String)>,
}

impl Row<'_> {
    fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn sort(rows: &mut [Row<'_>], order: Order) {
    match order {
        Order::Key => {}
        Order::Rank => rows.sort_by_key(|r| r.field("rank").parse::<u32>().unwrap_or(u32::MAX)),
        Order::RevenueDown => rows.sort_by_key(|r| {
            std::cmp::Reverse(parse_cents(r.field("revenue")).unwrap_or(i64::MIN))
        }),
    }
}
