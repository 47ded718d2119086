//! `salesflow demo`: the embedded broker, a seeded workload and the job, in one process, ending
//! with the main tables printed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use serde_json::value::RawValue;

use crate::config::Config;
use crate::fold::upsert_table;
use crate::generate::{GenerateConfig, generate, workload_config};
use crate::kafka::{Embedded, Kafka};
use crate::runtime::{self, create_embedded_topics};

/// The tables the demo prints, with the fields shown for each.
const TABLES: [(&str, &[&str]); 5] = [
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
];

/// Runs the demo: `count` changes over `customers` and `products`, on `config`'s workers.
pub fn demo(
    mut config: Config,
    count: usize,
    customers: usize,
    products: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
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
        let table = upsert_table(&kafka, &config.output_topic(topic))?;
        print_table(topic, fields, table.values());
    }
    Ok(())
}

/// Prints rows as an aligned text table of `fields`, sorted by rank when there is one.
fn print_table<'a>(title: &str, fields: &[&str], rows: impl Iterator<Item = &'a String>) {
    let mut cells: Vec<Vec<String>> = rows
        .filter_map(|row| serde_json::from_str::<HashMap<String, Box<RawValue>>>(row).ok())
        .map(|row| {
            fields
                .iter()
                .map(|f| {
                    row.get(*f)
                        .map(|v| v.get().trim_matches('"').to_string())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    if fields[0] == "rank" {
        cells.sort_by_key(|r| r[0].parse::<u32>().unwrap_or(u32::MAX));
    }
    let widths: Vec<usize> = (0..fields.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].len())
                .chain([fields[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    println!("{title}");
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:>w$}"))
            .collect();
        println!("  {}", padded.join("  "));
    };
    line(fields.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    println!();
}
