//! `salesflow bench`: one seeded workload, each engine run over it alike, measured alike.
//!
//! ```text
//!  generate ──> {prefix}orders, customers, ...  (once)
//!  throughput: salesflow --bounded ──> {prefix}sales_*      peer ──> {prefix}ks.sales_*
//!              start = the engine's "starts reading" log line; end = the broker's append time of
//!              its last output (topics made with message.timestamp.type=LogAppendTime)
//!  tables:     both folded, compared row by row
//!  latency:    per engine, fresh topics, orders at --rate with probes (see `latency`)
//! ```
//!
//! Engines run one after the other, never side by side, so neither slows the other down.

pub mod engine;
pub mod job;
pub mod latency;
pub mod outputs;
pub mod peer;
pub mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use tracing::info;

use crate::config::{Cli, Command, Config, Delivery};
use crate::generate::{GenerateConfig, WorkloadSpec, generate};
use crate::kafka::{Embedded, Kafka, TopicSpec, end_offsets, ensure_topics_with};
use crate::model::InputTopic;
use crate::runtime::{PROGRESS_TOPIC, create_embedded_topics, output_topics};
use crate::workload::{Mix, WorkloadConfig, workload};
use engine::{Finished, Running, Usage};
use job::JobLayout;
use latency::{Latency, Watcher};
use outputs::{Outputs, compare, read_outputs};
use peer::PeerConfig;
use report::{EngineReport, Report, Restore, Throughput};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// A broker to use; none starts the embedded one in this process.
    pub kafka: Option<Kafka>,
    /// Before every topic of this run; unique per run, so runs never see each other's data.
    pub prefix: String,
    /// What the throughput phase generates (its count is set).
    pub workload: WorkloadSpec,
    pub partitions: i32,
    pub workers: usize,
    pub processes: usize,
    pub delivery: Delivery,
    /// Order changes per second in the latency phase, and its length.
    pub rate: u64,
    pub latency_secs: u64,
    /// The job's logical instant, in milliseconds.
    pub epoch_ms: u64,
    /// The Kafka Streams peer's jar, when it runs too.
    pub peer_jar: Option<PathBuf>,
    pub json: PathBuf,
    /// Engine logs and the peer's state go here.
    pub work_dir: PathBuf,
    /// The salesflow binary to start as the job.
    pub binary: PathBuf,
}

/// Properties of every output topic the benchmark makes: the broker stamps each message.
const APPEND_TIME: [(&str, &str); 1] = [("message.timestamp.type", "LogAppendTime")];
/// How long an engine may take to start reading.
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs the benchmark; the report is also written to `config.json`.
pub fn bench(config: &BenchConfig, stop: &Arc<AtomicBool>) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&config.work_dir)
        .with_context(|| format!("cannot create {}", config.work_dir.display()))?;
    // The embedded broker is not Send: it lives on this thread until the benchmark ends.
    let embedded = match &config.kafka {
        Some(_) => None,
        None => Some(Embedded::start().context("while starting the embedded broker")?),
    };
    let kafka = config.kafka.clone().unwrap_or_else(|| Kafka {
        bootstrap: embedded
            .as_ref()
            .map(Embedded::bootstrap)
            .unwrap_or_default(),
        properties: Vec::new(),
    });
    let topics = Topics {
        kafka: &kafka,
        embedded: embedded.as_ref(),
        stop,
    };
    let mut report = Report::new(config, &kafka);

    info!(prefix = config.prefix, "generating the workload");
    let ours = layout(config, &kafka, &config.prefix, true);
    topics.prepare_job(&ours)?;
    let generated = generate(
        &GenerateConfig {
            kafka: Some(kafka.clone()),
            topic_prefix: config.prefix.clone(),
            partitions: config.partitions,
            rate: None,
            workload: config.workload.clone(),
            show_progress: true,
        },
        stop,
    )
    .context("generating the workload failed")?;
    report.generated(generated.records, generated.elapsed);
    let inputs = input_records(&kafka, &config.prefix, stop)?;

    info!("throughput: salesflow");
    let (throughput, our_tables) = throughput_of_job(config, &kafka, &ours, &inputs)?;
    report
        .engines
        .push(EngineReport::new("salesflow", throughput));
    info!("restore: salesflow again over the same input");
    report.engines[0].restore = Some(restore_of_job(config, &ours, &our_tables)?);
    let peer = match &config.peer_jar {
        Some(jar) => {
            info!("throughput: Kafka Streams");
            peer::ensure_jar(jar)?;
            let peer = peer_config(config, jar, &kafka, &config.prefix, "throughput", 1000);
            topics.prepare_peer(&peer)?;
            let (throughput, tables) = throughput_of_peer(config, &kafka, &peer, &inputs, stop)?;
            report
                .engines
                .push(EngineReport::new("kafka-streams", throughput));
            report.tables = compare(&our_tables, &tables)
                .into_iter()
                .map(Into::into)
                .collect();
            Some(jar)
        }
        None => None,
    };

    if config.latency_secs > 0 {
        info!(
            rate = config.rate,
            seconds = config.latency_secs,
            "latency: salesflow"
        );
        let prefix = format!("{}lat-sf-", config.prefix);
        let ours = layout(config, &kafka, &prefix, false);
        topics.prepare_job(&ours)?;
        topics.prepare_inputs(&prefix, config.partitions)?;
        report.engines[0].latency = Some(latency_of(
            config,
            &kafka,
            &prefix,
            &format!("{prefix}sales_by_customer"),
            || start_job(config, &ours, "latency"),
            stop,
        )?);
        if let Some(jar) = peer {
            info!(
                rate = config.rate,
                seconds = config.latency_secs,
                "latency: Kafka Streams"
            );
            let prefix = format!("{}lat-ks-", config.prefix);
            // Kafka Streams' own default commit interval under exactly-once.
            let peer = peer_config(config, jar, &kafka, &prefix, "latency", 100);
            topics.prepare_peer(&peer)?;
            topics.prepare_inputs(&prefix, config.partitions)?;
            report.engines[1].latency = Some(latency_of(
                config,
                &kafka,
                &prefix,
                &format!("{}sales_by_customer", peer.output_prefix),
                || start_peer(config, &peer),
                stop,
            )?);
        }
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&config.json, json + "\n")
        .with_context(|| format!("cannot write {}", config.json.display()))?;
    Ok(report)
}

/// Makes topics the way the chosen broker needs: the embedded one has no CreateTopics request.
struct Topics<'a> {
    kafka: &'a Kafka,
    embedded: Option<&'a Embedded>,
    stop: &'a AtomicBool,
}

impl Topics<'_> {
    /// The inputs and every output of the job, before the job or the generator makes them.
    fn prepare_job(&self, layout: &JobLayout) -> anyhow::Result<()> {
        let config = job_config(layout)?;
        match self.embedded {
            Some(broker) => create_embedded_topics(broker, &config),
            None => Ok(ensure_topics_with(
                self.kafka,
                &output_topics(&config),
                &APPEND_TIME,
                self.stop,
            )?),
        }
    }

    /// The input topics under `prefix` (on the embedded broker the job's topics include them).
    fn prepare_inputs(&self, prefix: &str, partitions: i32) -> anyhow::Result<()> {
        if self.embedded.is_some() {
            return Ok(());
        }
        let specs = InputTopic::ALL.map(|t| TopicSpec {
            name: format!("{prefix}{}", t.default_name()),
            partitions,
            compacted: true,
        });
        Ok(ensure_topics_with(self.kafka, &specs, &[], self.stop)?)
    }

    /// The peer's output topics.
    fn prepare_peer(&self, peer: &PeerConfig) -> anyhow::Result<()> {
        let specs: Vec<TopicSpec> = peer::OUTPUTS
            .iter()
            .map(|t| TopicSpec {
                name: format!("{}{t}", peer.output_prefix),
                partitions: 4,
                compacted: true,
            })
            .collect();
        self.create(&specs)
    }

    fn create(&self, specs: &[TopicSpec]) -> anyhow::Result<()> {
        match self.embedded {
            Some(broker) => specs
                .iter()
                .try_for_each(|t| broker.create_topic(t).map_err(Into::into)),
            None => Ok(ensure_topics_with(
                self.kafka,
                specs,
                &APPEND_TIME,
                self.stop,
            )?),
        }
    }
}

fn layout(config: &BenchConfig, kafka: &Kafka, prefix: &str, bounded: bool) -> JobLayout {
    JobLayout {
        binary: config.binary.clone(),
        bootstrap: kafka.bootstrap.clone(),
        topic_prefix: prefix.to_string(),
        job: "bench".to_string(),
        workers: config.workers,
        processes: config.processes,
        delivery: config.delivery,
        epoch_ms: config.epoch_ms,
        // With a peer, salesflow computes what the peer computes and no more.
        analyses: match config.peer_jar {
            Some(_) => peer::OUTPUTS.join(","),
            None => "all".to_string(),
        },
        bounded,
    }
}

/// The job's configuration, read from the very flags its processes get.
fn job_config(layout: &JobLayout) -> anyhow::Result<Config> {
    let first = job::commands(layout)?
        .into_iter()
        .next()
        .context("a job has at least one process")?;
    let args = std::iter::once("salesflow".into()).chain(first.get_args().map(Into::into));
    let cli = Cli::try_parse_from(args.collect::<Vec<std::ffi::OsString>>())?;
    let Command::Run(args) = cli.command else {
        anyhow::bail!("the job's command line is not a run");
    };
    Ok(Config::try_from(args)?)
}

fn peer_config(
    config: &BenchConfig,
    jar: &std::path::Path,
    kafka: &Kafka,
    prefix: &str,
    phase: &str,
    commit_interval_ms: u64,
) -> PeerConfig {
    PeerConfig {
        jar: jar.to_path_buf(),
        bootstrap: kafka.bootstrap.clone(),
        input_prefix: prefix.to_string(),
        output_prefix: format!("{prefix}ks."),
        application_id: format!("{prefix}ks-{phase}"),
        exactly_once: config.delivery == Delivery::ExactlyOnce,
        // As many stream threads as salesflow has workers.
        threads: config.workers * config.processes,
        state_dir: config.work_dir.join(format!("ks-state-{phase}")),
        commit_interval_ms,
    }
}

/// Records in each input topic under `prefix`, by topic.
fn input_records(
    kafka: &Kafka,
    prefix: &str,
    stop: &AtomicBool,
) -> anyhow::Result<Vec<(InputTopic, u64)>> {
    let consumer = kafka.consumer("salesflow-bench")?;
    InputTopic::ALL
        .iter()
        .map(|topic| {
            let name = format!("{prefix}{}", topic.default_name());
            let partitions = end_offsets(&consumer, &kafka.bootstrap, &name, stop)?
                .with_context(|| format!("{name} does not exist"))?;
            let records = partitions.iter().map(|p| (p.end - p.start) as u64).sum();
            Ok((*topic, records))
        })
        .collect()
}

fn start_job(config: &BenchConfig, layout: &JobLayout, run: &str) -> anyhow::Result<Vec<Running>> {
    job::commands(layout)?
        .into_iter()
        .enumerate()
        .map(|(i, command)| {
            let log = job::log_path(&config.work_dir, &format!("salesflow-{run}"), i);
            engine::spawn(
                &format!("salesflow process {i}"),
                command,
                &log,
                job::MARKER,
            )
        })
        .collect()
}

fn start_peer(config: &BenchConfig, peer: &PeerConfig) -> anyhow::Result<Vec<Running>> {
    let log = config
        .work_dir
        .join(format!("{}.log", peer.application_id.replace('/', "_")));
    Ok(vec![engine::spawn(
        "Kafka Streams",
        peer::command(peer),
        &log,
        peer::MARKER,
    )?])
}

/// The bounded job over the workload: it exits when everything is written.
fn throughput_of_job(
    config: &BenchConfig,
    kafka: &Kafka,
    layout: &JobLayout,
    inputs: &[(InputTopic, u64)],
) -> anyhow::Result<(Throughput, Outputs)> {
    let mut finished = Vec::new();
    for process in start_job(config, layout, "throughput")? {
        finished.push(process.wait()?);
    }
    for process in &finished {
        anyhow::ensure!(
            process.status.success(),
            "the job failed: {}",
            process.log_tail
        );
    }
    // Every transaction of the job writes a progress record, so the last one marks the end.
    let mut topics: Vec<&str> = peer::OUTPUTS.to_vec();
    topics.push(PROGRESS_TOPIC);
    let outputs = read_outputs(kafka, &layout.topic_prefix, &topics)?;
    let records = inputs.iter().map(|(_, n)| n).sum();
    Ok((measured(records, &finished, &outputs)?, outputs))
}

/// The same bounded job started again with nothing new to read: it rebuilds its state from the
/// inputs up to its last progress and exits, so its run time is the time to restore.
fn restore_of_job(
    config: &BenchConfig,
    layout: &JobLayout,
    outputs: &Outputs,
) -> anyhow::Result<Restore> {
    let started = Instant::now();
    let mut finished = Vec::new();
    for process in start_job(config, layout, "restore")? {
        finished.push(process.wait()?);
    }
    let seconds = started.elapsed().as_secs_f64();
    for process in &finished {
        anyhow::ensure!(
            process.status.success()
                && process
                    .log_tail
                    .contains("resuming after the last progress"),
            "the restarted job did not resume from its progress: {}",
            process.log_tail
        );
    }
    let live_orders = outputs
        .tables
        .get("sales_total")
        .and_then(|t| t.values().next())
        .and_then(|row| serde_json::from_str::<serde_json::Value>(row).ok())
        .and_then(|row| row.get("orders")?.as_u64())
        .unwrap_or_default();
    Ok(Restore {
        seconds,
        live_orders,
    })
}

/// The peer over the same workload: it runs until its committed offsets reach every end.
fn throughput_of_peer(
    config: &BenchConfig,
    kafka: &Kafka,
    peer: &PeerConfig,
    inputs: &[(InputTopic, u64)],
    stop: &AtomicBool,
) -> anyhow::Result<(Throughput, Outputs)> {
    let running = start_peer(config, peer)?;
    let finished = vec![wait_until_caught_up(kafka, peer, running, stop)?];
    let outputs = read_outputs(kafka, &peer.output_prefix, &peer::OUTPUTS)?;
    // The peer computes no stock levels, so it does not read the inventory topic.
    let records = inputs
        .iter()
        .filter(|(topic, _)| *topic != InputTopic::Inventory)
        .map(|(_, n)| n)
        .sum();
    Ok((measured(records, &finished, &outputs)?, outputs))
}

fn wait_until_caught_up(
    kafka: &Kafka,
    peer: &PeerConfig,
    mut running: Vec<Running>,
    stop: &AtomicBool,
) -> anyhow::Result<Finished> {
    let process = running.pop().context("the peer is one process")?;
    let started = Instant::now();
    // Twice in a row, a second apart: offsets committed during a rebalance are not the end.
    let mut streak = 0;
    while streak < 2 {
        if stop.load(Ordering::Relaxed) {
            process.stop(Duration::from_secs(30))?;
            anyhow::bail!("stopped");
        }
        if !process.running() {
            let finished = process.wait()?;
            anyhow::bail!("the peer exited before it caught up: {}", finished.log_tail);
        }
        if process.reading_since().is_none() && started.elapsed() > START_TIMEOUT {
            let finished = process.stop(Duration::from_secs(30))?;
            anyhow::bail!("the peer did not start: {}", finished.log_tail);
        }
        streak = if process.reading_since().is_some() && peer::caught_up(kafka, peer)? {
            streak + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_secs(1));
    }
    process.stop(Duration::from_secs(30))
}

/// Throughput from the first "starts reading" line to the last output's append time.
fn measured(records: u64, finished: &[Finished], outputs: &Outputs) -> anyhow::Result<Throughput> {
    let start = finished
        .iter()
        .filter_map(|f| f.reading_since)
        .min()
        .context("the engine never said it started reading")?;
    let start_ms = start
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let end_ms = outputs
        .last_write_ms
        .context("the engine wrote no output")?;
    let mut usage = Usage::default();
    for f in finished {
        usage.add(f.usage);
    }
    Ok(Throughput::new(records, end_ms - start_ms, usage))
}

/// One engine under a steady rate, on fresh topics loaded with the workload's dimensions.
fn latency_of(
    config: &BenchConfig,
    kafka: &Kafka,
    prefix: &str,
    watched_topic: &str,
    start: impl FnOnce() -> anyhow::Result<Vec<Running>>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<Latency> {
    let count = (config.rate * config.latency_secs) as usize;
    let spec = &config.workload;
    let w = workload(&WorkloadConfig {
        seed: spec.seed,
        customers: spec.customers,
        products: spec.products,
        initial_orders: 0,
        step_size: count,
        steps: 1,
        mix: Mix::default(),
    });
    let changes = w.changes.concat();
    // The dimensions, at full speed: what the engine has read before the clock starts.
    latency::produce_all(kafka, prefix, &w.load.concat())?;
    let watcher = Watcher::start(kafka, watched_topic, stop)?;
    let running = start()?;
    let outcome = (|| {
        latency::warm_up(kafka, prefix, &changes)?;
        watcher.wait_for(&[(0, Instant::now())].into(), START_TIMEOUT);
        anyhow::ensure!(
            watcher.seen().contains_key(&0),
            "the engine did not answer the warm-up probe within {} s",
            START_TIMEOUT.as_secs()
        );
        let (sent, achieved) = latency::produce_paced(kafka, prefix, &changes, config.rate, stop)?;
        watcher.wait_for(&sent, Duration::from_secs(60));
        Ok(latency::percentiles(&sent, &watcher.seen(), achieved))
    })();
    for process in running {
        let finished = process.stop(Duration::from_secs(30))?;
        if outcome.is_err() {
            tracing::warn!("{}", finished.log_tail);
        }
    }
    watcher.finish()?;
    outcome
}
