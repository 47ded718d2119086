//! `salesflow report --day D`: the day's figures from the output topics, as of the job's last
//! progress record, as a self-contained HTML page and a Markdown summary.
//!
//! ```text
//!  snapshot::latest ─> tables as of the last progress ─> ReportData (the day's rows picked out)
//!        ─> HTML (the dashboard's charts + the data, inlined; no network needed to open it)
//!        ─> Markdown (stdout)
//! ```
//! The figures come from the job's own rows, as written: money keeps its exact decimal text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::codecs::json::parse_cents;
use crate::config::Envelope;
use crate::fold::Table;
use crate::kafka::Kafka;
use crate::model::OutputTopic;
use crate::runtime::PROGRESS_TOPIC;
use crate::tail::fields;

const TEMPLATE: &str = include_str!("../assets/report.html");
const RENDER: &str = include_str!("../assets/render.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The tables a report reads.
const READ: [OutputTopic; 9] = [
    OutputTopic::SalesTotal,
    OutputTopic::SalesByDay,
    OutputTopic::SalesByHour,
    OutputTopic::SalesByCategory,
    OutputTopic::SalesBySegment,
    OutputTopic::TopProductsByUnits,
    OutputTopic::TopProductsByRevenue,
    OutputTopic::Alerts,
    OutputTopic::DataQuality,
];

/// What to report on, and where from.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    pub kafka: Kafka,
    pub day: NaiveDate,
    pub topic_prefix: String,
    pub job: String,
    pub envelope: Envelope,
    /// Where the HTML goes; `None`: only the Markdown summary is written.
    pub output: Option<PathBuf>,
}

/// The report's figures: output rows as written, picked out for the day.
#[derive(Serialize)]
pub struct ReportData {
    pub day: String,
    /// The logical time (ms) of the progress record the figures are consistent at.
    pub as_of: u64,
    pub job: String,
    /// The day's `sales_by_day` row, if it had live orders.
    pub day_total: Option<Box<RawValue>>,
    /// The day's `sales_by_hour` rows, in hour order.
    pub hours: Vec<Box<RawValue>>,
    /// All time, as of the snapshot (the outputs have no per-day breakdown of these).
    pub all_time_total: Option<Box<RawValue>>,
    pub categories: Vec<Box<RawValue>>,
    pub segments: Vec<Box<RawValue>>,
    pub top_products_by_units: Vec<Box<RawValue>>,
    pub top_products_by_revenue: Vec<Box<RawValue>>,
    /// Burst alerts in buckets of the day, and every current alert without a time of its own.
    pub alerts: Vec<Box<RawValue>>,
    pub data_quality: Vec<Box<RawValue>>,
}

/// Reads the snapshot, writes the HTML (if asked) and returns the Markdown summary.
pub fn report(config: &ReportConfig, stop: &AtomicBool) -> anyhow::Result<String> {
    let topics: Vec<(OutputTopic, String)> = READ
        .iter()
        .map(|t| (*t, format!("{}{}", config.topic_prefix, t.name())))
        .collect();
    let progress_topic = format!("{}{PROGRESS_TOPIC}", config.topic_prefix);
    let (progress, tables) = crate::snapshot::latest(
        &config.kafka,
        &progress_topic,
        &config.job,
        &topics,
        config.envelope,
        stop,
    )?
    .with_context(|| {
        format!(
            "job {} has written no progress to {progress_topic} yet: run it first (check --job and --topic-prefix)",
            config.job
        )
    })?;
    let data = pick(config, progress.time, &tables);
    if let Some(path) = &config.output {
        std::fs::write(path, html(&data)?)
            .with_context(|| format!("while writing {}", path.display()))?;
    }
    Ok(markdown(&data))
}

/// The day's rows out of the snapshot's tables.
fn pick(config: &ReportConfig, as_of: u64, tables: &BTreeMap<OutputTopic, Table>) -> ReportData {
    let day = config.day.format("%Y-%m-%d").to_string();
    let rows = |topic: OutputTopic| -> Vec<&String> {
        tables
            .get(&topic)
            .map(|t| t.values().collect())
            .unwrap_or_default()
    };
    let by_revenue = |topic| {
        let mut rows = rows(topic);
        rows.sort_by_key(|row| std::cmp::Reverse(money(row, "revenue")));
        raws(rows)
    };
    let by_rank = |topic| {
        let mut rows = rows(topic);
        rows.sort_by_key(|row| field(row, "rank").and_then(|r| r.parse::<u32>().ok()));
        raws(rows)
    };
    let hour_prefix = format!("{day}T");
    let mut hours: Vec<&String> = rows(OutputTopic::SalesByHour)
        .into_iter()
        .filter(|row| field(row, "hour").is_some_and(|h| h.starts_with(&hour_prefix)))
        .collect();
    hours.sort_by_key(|row| field(row, "hour"));
    // A burst alert belongs to the day of its bucket; the other rules carry no time, so every
    // current one is listed.
    let alerts = rows(OutputTopic::Alerts)
        .into_iter()
        .filter(|row| field(row, "bucket").is_none_or(|b| b.starts_with(&hour_prefix)))
        .collect();
    ReportData {
        day_total: rows(OutputTopic::SalesByDay)
            .into_iter()
            .find(|row| field(row, "day").as_deref() == Some(day.as_str()))
            .and_then(|row| raw(row)),
        day,
        as_of,
        job: config.job.clone(),
        hours: raws(hours),
        all_time_total: rows(OutputTopic::SalesTotal)
            .into_iter()
            .next()
            .and_then(|row| raw(row)),
        categories: by_revenue(OutputTopic::SalesByCategory),
        segments: by_revenue(OutputTopic::SalesBySegment),
        top_products_by_units: by_rank(OutputTopic::TopProductsByUnits),
        top_products_by_revenue: by_rank(OutputTopic::TopProductsByRevenue),
        alerts: raws(alerts),
        data_quality: raws(rows(OutputTopic::DataQuality)),
    }
}

/// One field of a row as display text (strings unquoted, numbers as written).
fn field(row: &str, name: &str) -> Option<String> {
    fields(row)
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// A money field in cents, for ordering; a missing field orders last.
fn money(row: &str, name: &str) -> i64 {
    field(row, name)
        .and_then(|v| parse_cents(&v))
        .unwrap_or(i64::MIN)
}

fn raw(row: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(row.to_string()).ok()
}

fn raws(rows: Vec<&String>) -> Vec<Box<RawValue>> {
    rows.into_iter().filter_map(|row| raw(row)).collect()
}

/// The page: the template with the shared style, chart code and data inlined.
fn html(data: &ReportData) -> anyhow::Result<String> {
    // `</` inside a script element would end it; JSON allows `<\/` for the same text.
    let json = serde_json::to_string(data)?.replace("</", "<\\/");
    // The data goes in last, so nothing in it is taken for a placeholder.
    Ok(TEMPLATE
        .replace("{{DAY}}", &data.day)
        .replace("/*STYLE_CSS*/", STYLE)
        .replace("/*RENDER_JS*/", RENDER)
        .replace("/*REPORT_DATA*/", &json))
}

/// The Markdown summary: each table as a pipe table with the fields that matter.
fn markdown(data: &ReportData) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Sales report {}\n", data.day);
    let _ = writeln!(
        out,
        "Job `{}`, consistent as of logical time {} ms (its last progress record).\n",
        data.job, data.as_of
    );
    let figures = ["orders", "units", "revenue", "avg_order_value"];
    let mut section = |title: &str, columns: &[&str], rows: &[Box<RawValue>]| {
        let _ = writeln!(out, "## {title}\n");
        if rows.is_empty() {
            let _ = writeln!(out, "(none)\n");
            return;
        }
        let _ = writeln!(out, "{}", pipe_table(columns, rows));
    };
    let day: Vec<Box<RawValue>> = data.day_total.iter().cloned().collect();
    section("Day total", &figures, &day);
    section(
        "Sales by hour",
        &["hour", "orders", "units", "revenue"],
        &data.hours,
    );
    section(
        "Sales by category (all time)",
        &["category", "orders", "units", "revenue"],
        &data.categories,
    );
    section(
        "Sales by segment (all time)",
        &["gender", "age_band", "orders", "units", "revenue"],
        &data.segments,
    );
    let top = ["rank", "product_id", "name", "category", "units", "revenue"];
    section(
        "Top products by units (all time)",
        &top,
        &data.top_products_by_units,
    );
    section(
        "Top products by revenue (all time)",
        &top,
        &data.top_products_by_revenue,
    );
    section("Alerts", &["rule", "subject", "reason"], &data.alerts);
    section(
        "Data quality",
        &[
            "source_topic",
            "consumed",
            "applied",
            "dead_lettered",
            "duplicates",
            "orphans",
            "unpriced",
        ],
        &data.data_quality,
    );
    out
}

/// Rows as a Markdown pipe table of `columns`.
fn pipe_table(columns: &[&str], rows: &[Box<RawValue>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    );
    for row in rows {
        let Ok(row) = fields(row.get()) else { continue };
        let cells: Vec<String> = columns
            .iter()
            .map(|column| {
                row.iter()
                    .find(|(name, _)| name == column)
                    .map_or_else(String::new, |(_, value)| value.replace('|', "\\|"))
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}
