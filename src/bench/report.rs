//! What a benchmark run measured: printed as a table, written as JSON.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::BenchConfig;
use super::engine::Usage;
use super::latency::Latency;
use super::outputs::Comparison;
use crate::config::Delivery;
use crate::kafka::Kafka;

#[derive(Debug, Serialize)]
pub struct Report {
    pub parameters: Parameters,
    pub generated: Generated,
    pub engines: Vec<EngineReport>,
    /// Each table both engines compute, compared row by row.
    pub tables: Vec<TableMatch>,
}

#[derive(Debug, Serialize)]
pub struct Parameters {
    pub broker: String,
    pub topic_prefix: String,
    pub seed: u64,
    pub records_after_load: u64,
    pub customers: usize,
    pub products: usize,
    pub partitions: i32,
    pub workers: usize,
    pub processes: usize,
    pub delivery: String,
    pub latency_rate: u64,
    pub latency_secs: u64,
    pub epoch_ms: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Generated {
    pub records: u64,
    pub seconds: f64,
    pub records_per_sec: f64,
}

#[derive(Debug, Serialize)]
pub struct EngineReport {
    pub engine: String,
    pub throughput: Throughput,
    pub latency: Option<Latency>,
    pub restore: Option<Restore>,
}

/// A restart of the finished job with nothing new to read, from start to exit.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Restore {
    pub seconds: f64,
    /// Orders in the state it rebuilt (`sales_total.orders`).
    pub live_orders: u64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Throughput {
    /// Input records in the topics the engine reads.
    pub input_records: u64,
    /// From the first "starts reading" to the broker's append time of the last output.
    pub seconds: f64,
    pub records_per_sec: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct TableMatch {
    pub topic: String,
    pub rows: [usize; 2],
    pub equal: bool,
    pub differing_rows: usize,
    /// The first differing keys, with salesflow's row and the peer's.
    pub first_differences: Vec<(String, Option<String>, Option<String>)>,
}

impl From<Comparison> for TableMatch {
    fn from(c: Comparison) -> Self {
        TableMatch {
            equal: c.equal(),
            topic: c.topic,
            rows: c.rows,
            differing_rows: c.differing,
            first_differences: c.first,
        }
    }
}

impl Throughput {
    pub fn new(records: u64, elapsed_ms: i64, usage: Usage) -> Self {
        let seconds = elapsed_ms.max(1) as f64 / 1e3;
        Throughput {
            input_records: records,
            seconds,
            records_per_sec: records as f64 / seconds,
            cpu_seconds: usage.cpu.as_secs_f64(),
            peak_rss_mib: usage.peak_rss_bytes as f64 / (1024.0 * 1024.0),
        }
    }
}

impl EngineReport {
    pub fn new(engine: &str, throughput: Throughput) -> Self {
        EngineReport {
            engine: engine.to_string(),
            throughput,
            latency: None,
            restore: None,
        }
    }
}

impl Report {
    pub fn new(config: &BenchConfig, kafka: &Kafka) -> Self {
        Report {
            parameters: Parameters {
                broker: match config.kafka {
                    Some(_) => kafka.describe(),
                    None => "embedded".to_string(),
                },
                topic_prefix: config.prefix.clone(),
                seed: config.workload.seed,
                records_after_load: config.workload.count.unwrap_or_default(),
                customers: config.workload.customers,
                products: config.workload.products,
                partitions: config.partitions,
                workers: config.workers,
                processes: config.processes,
                delivery: match config.delivery {
                    Delivery::ExactlyOnce => "exactly-once",
                    Delivery::AtLeastOnce => "at-least-once",
                }
                .to_string(),
                latency_rate: config.rate,
                latency_secs: config.latency_secs,
                epoch_ms: config.epoch_ms,
            },
            generated: Generated::default(),
            engines: Vec::new(),
            tables: Vec::new(),
        }
    }

    pub fn generated(&mut self, records: u64, elapsed: Duration) {
        self.generated = Generated {
            records,
            seconds: elapsed.as_secs_f64(),
            records_per_sec: records as f64 / elapsed.as_secs_f64().max(1e-9),
        };
    }

    /// Whether every shared table matched (true when there is no peer).
    pub fn tables_match(&self) -> bool {
        self.tables.iter().all(|t| t.equal)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parameters;
        writeln!(
            f,
            "{} records after loading {} customers and {} products: {} input records \
             (generated at {:.0}/s), seed {}, {} partitions, {} worker(s) x {} process(es), {}, \
             broker {}",
            p.records_after_load,
            p.customers,
            p.products,
            self.generated.records,
            self.generated.records_per_sec,
            p.seed,
            p.partitions,
            p.workers,
            p.processes,
            p.delivery,
            p.broker
        )?;
        let names: Vec<&str> = self.engines.iter().map(|e| e.engine.as_str()).collect();
        write!(f, "\n{:<28}", "")?;
        for name in &names {
            write!(f, "{name:>16}")?;
        }
        if names.len() == 2 {
            write!(f, "{:>16}", "ratio")?;
        }
        writeln!(f)?;
        for (label, value, better) in ROWS {
            let values: Vec<Option<f64>> = self.engines.iter().map(value).collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            write!(f, "{label:<28}")?;
            for v in &values {
                match v {
                    Some(v) => write!(f, "{v:>16.1}")?,
                    None => write!(f, "{:>16}", "-")?,
                }
            }
            if let [Some(ours), Some(theirs)] = values[..] {
                // "x times better" for salesflow, whichever way better points.
                let ratio = match better {
                    Better::Higher => ours / theirs,
                    Better::Lower => theirs / ours,
                };
                write!(f, "{:>15.2}x", ratio)?;
            }
            writeln!(f)?;
        }
        if let Some(latency) = self.engines.first().and_then(|e| e.latency) {
            writeln!(
                f,
                "latency at {} order changes/s (achieved {:.0}/s) for {} s, salesflow --epoch-ms {}",
                p.latency_rate, latency.achieved_rate, p.latency_secs, p.epoch_ms
            )?;
        }
        if let Some(restore) = self.engines.first().and_then(|e| e.restore) {
            writeln!(
                f,
                "restore: a restart rebuilt the state of {} live orders",
                restore.live_orders
            )?;
        }
        if !self.tables.is_empty() {
            writeln!(f, "\ntables (salesflow rows / peer rows):")?;
        }
        for table in &self.tables {
            let verdict = if table.equal {
                "equal".to_string()
            } else {
                format!("{} rows differ", table.differing_rows)
            };
            writeln!(
                f,
                "  {:<24} {:>8} / {:<8} {verdict}",
                table.topic, table.rows[0], table.rows[1]
            )?;
            for (key, ours, theirs) in &table.first_differences {
                writeln!(f, "    {key}: salesflow {ours:?}, peer {theirs:?}")?;
            }
        }
        Ok(())
    }
}

/// One figure of an engine, if it was measured.
type Figure = fn(&EngineReport) -> Option<f64>;

/// The rows of the printed table.
const ROWS: [(&str, Figure, Better); 9] = [
    (
        "input records/s",
        |e| Some(e.throughput.records_per_sec),
        Better::Higher,
    ),
    ("seconds", |e| Some(e.throughput.seconds), Better::Lower),
    (
        "CPU seconds",
        |e| Some(e.throughput.cpu_seconds),
        Better::Lower,
    ),
    (
        "peak RSS MiB",
        |e| Some(e.throughput.peak_rss_mib),
        Better::Lower,
    ),
    (
        "latency p50 ms",
        |e| e.latency.map(|l| l.p50_ms),
        Better::Lower,
    ),
    (
        "latency p99 ms",
        |e| e.latency.map(|l| l.p99_ms),
        Better::Lower,
    ),
    (
        "latency max ms",
        |e| e.latency.map(|l| l.max_ms),
        Better::Lower,
    ),
    (
        "restore after restart s",
        |e| e.restore.map(|r| r.seconds),
        Better::Lower,
    ),
    (
        "probes seen / sent",
        |e| e.latency.map(|l| l.seen as f64 / l.probes.max(1) as f64),
        Better::Higher,
    ),
];

/// Which way a figure is better, for the ratio column.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}
