//! `salesflow demo`: the embedded broker, a seeded workload and the job, in one process, ending
//! with the main tables printed.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use crate::config::Config;
use crate::fold::read_table;
use crate::generate::{GenerateConfig, generate, workload_config};
use crate::kafka::{Embedded, Kafka};
use crate::runtime::{self, create_embedded_topics};
use crate::tail::{fields as row_fields, render};

/// The tables the demo prints, with the fields shown for each.
const TABLES: [(&str, &[&str]); 6] = [
    (
        "sales_total",
        &["scope", "orders", "units", "revenue", "avg_order_value"],
    ),
    (
        "sales_by_category",
        &["category", "orders", "units", "revenue", "avg_unit_price"],
    ),
    (
        "sales_by_segment",
        &["gender", "age_band", "orders", "revenue", "avg_order_value"],
    ),
    (
        "top_products_by_units",
        &["rank", "product_id", "name", "category", "units", "revenue"],
    ),
    (
        "top_products_by_revenue",
        &["rank", "product_id", "name", "category", "units", "revenue"],
    ),
    (
        "data_quality",
        &[
            "source_topic",
            "consumed",
            "applied",
            "dead_lettered",
            "duplicates",
            "orphans",
            "unpriced",
        ],
    ),
];

/// The demo serves its dashboard here unless `--http-addr` says otherwise.
const DEMO_HTTP_ADDR: &str = "127.0.0.1:8080";

/// Alerts can be many: the demo shows how many per rule and this many reasons.
const ALERT_REASONS: usize = 8;

/// Runs the demo: `count` changes over `customers` and `products`, on `config`'s workers.
pub fn demo(
    mut config: Config,
    count: usize,
    customers: usize,
    products: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    config
        .http_addr
        .get_or_insert_with(|| DEMO_HTTP_ADDR.to_string());
    let broker = Embedded::start().context("while starting the embedded broker")?;
    config.brokers = Some(broker.bootstrap());
    config.bounded = true;
    create_embedded_topics(&broker, &config)?;
    let kafka = Kafka {
        bootstrap: broker.bootstrap(),
        properties: config.kafka_properties.clone(),
    };
    let generated = generate(
        &GenerateConfig {
            kafka: kafka.clone(),
            topic_prefix: config.topic_prefix.clone(),
            partitions: 4,
            workload: workload_config(42, count, customers, products),
        },
        &stop,
    )?;
    println!(
        "produced {} input records into the embedded broker at {}",
        generated.records, kafka.bootstrap
    );
    let started = std::time::Instant::now();
    runtime::run(config.clone(), stop)?;
    println!(
        "the job read them and wrote every analysis in {:.2} s ({:.0} records/s)\n",
        started.elapsed().as_secs_f64(),
        generated.records as f64 / started.elapsed().as_secs_f64()
    );
    for (topic, fields) in TABLES {
        let table = read_table(&kafka, &config.output_topic(topic), config.envelope)?;
        print_table(topic, fields, table.values());
    }
    let alerts = read_table(&kafka, &config.output_topic("alerts"), config.envelope)?;
    print_alerts(alerts.values());
    Ok(())
}

/// The number of alerts per rule, and the first few reasons.
fn print_alerts<'a>(rows: impl Iterator<Item = &'a String>) {
    let rows: Vec<Vec<(String, String)>> = rows.filter_map(|row| row_fields(row).ok()).collect();
    let field = |row: &[(String, String)], name: &str| {
        row.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut per_rule = std::collections::BTreeMap::<String, usize>::new();
    for row in &rows {
        *per_rule.entry(field(row, "rule")).or_default() += 1;
    }
    let counts: Vec<String> = per_rule
        .iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();
    println!("alerts: {}", counts.join(", "));
    for row in rows.iter().take(ALERT_REASONS) {
        println!("  {}", field(row, "reason"));
    }
}

/// Prints rows as an aligned text table of `fields`, sorted by rank when there is one.
fn print_table<'a>(title: &str, fields: &[&str], rows: impl Iterator<Item = &'a String>) {
    let mut rows: Vec<Vec<(String, String)>> =
        rows.filter_map(|row| row_fields(row).ok()).collect();
    let rank = |row: &Vec<(String, String)>| {
        row.iter()
            .find(|(name, _)| name == "rank")
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    rows.sort_by_key(rank);
    println!("{title}\n{}", render(fields, &rows));
}
