//! Command-line flags and environment, validated once: clap `Args` (raw) -> `Config` (checked).
//! Nothing else in salesflow reads flags or the environment.

use std::collections::BTreeSet;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cluster::ClusterConfig;
use crate::codecs::json::{DecodeConfig, parse_cents};
use crate::dataflows::{AlertRules, AnalysisConfig};
use crate::model::{Currency, InputTopic, Money, OutputTopic};

/// Real-time e-commerce sales analytics: Kafka in, exact incremental change streams out.
#[derive(Parser, Debug)]
#[command(name = "salesflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the job: read the input topics, write every analysis as a change stream.
    Run(RunArgs),
    /// Validate the configuration and print it resolved (secrets hidden), then exit.
    CheckConfig(RunArgs),
    /// Produce a seeded workload (customers, products, rates, order changes) into the input topics.
    Generate(GenerateArgs),
    /// Start an embedded broker, produce a seeded workload into it, run the job, print the tables.
    Demo(DemoArgs),
    /// Read a change-stream topic, fold it by key and show the current table.
    Tail(TailArgs),
    /// Measure the job (and optionally Kafka Streams) over one seeded workload: throughput,
    /// latency, CPU, memory, and whether both computed the same tables.
    Bench(BenchArgs),
    /// Report one day from the output topics, as of the job's last progress: HTML and Markdown.
    Report(ReportArgs),
}

/// Flags of `salesflow bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Kafka bootstrap servers; without them an embedded broker starts in this process (the
    /// Kafka Streams peer needs a real one).
    #[arg(short = 'b', long, env = "SALESFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Put this before every topic of the run (each run adds bench-<unix time>- to it).
    #[arg(long, env = "SALESFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// A librdkafka property, like kcat: -X security.protocol=SASL_SSL
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
    /// Partitions of the input topics.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// The workload (here --count defaults to 1,000,000).
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Worker threads per process of the job (and stream threads of the peer, in all).
    #[arg(short = 'w', long, default_value_t = 1)]
    pub workers: usize,
    /// Processes of the job, started as a cluster on loopback.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Delivery of the job, and exactly-once-v2 on or off for the peer.
    #[arg(long, value_enum, default_value = "exactly-once")]
    pub delivery: Delivery,
    /// Order changes per second during the latency measurement.
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
    /// The job's --epoch-ms: shorter instants, lower latency, more transactions.
    #[arg(long, default_value_t = 200)]
    pub epoch_ms: u64,
    /// Seconds of steady input for the latency measurement (0 skips it).
    #[arg(long, default_value_t = 20)]
    pub latency_secs: u64,
    /// Also run this engine over the same topics and compare.
    #[arg(long, value_enum)]
    pub peer: Option<PeerEngine>,
    /// The Kafka Streams peer's jar; built with Maven when missing and its pom.xml is next to
    /// its target/ directory.
    #[arg(
        long,
        default_value = "benches/peers/kafka-streams/target/salesflow-kafka-streams.jar"
    )]
    pub peer_jar: std::path::PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "salesflow-bench.json")]
    pub json: std::path::PathBuf,
}

/// Engines `bench --peer` can run beside salesflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeerEngine {
    /// benches/peers/kafka-streams: the same analyses as a Kafka Streams application.
    KafkaStreams,
}

impl TryFrom<BenchArgs> for crate::bench::BenchConfig {
    type Error = ConfigError;

    fn try_from(args: BenchArgs) -> Result<Self, ConfigError> {
        let kafka = kafka(args.brokers, &args.kafka_properties)?;
        if kafka.is_none() && args.peer.is_some() {
            return Err(ConfigError::PeerNeedsBroker);
        }
        let mut workload = crate::generate::workload_config(&args.workload)?;
        workload.count = Some(args.workload.count.unwrap_or(1_000_000));
        for (flag, value) in [
            ("workers", args.workers),
            ("processes", args.processes),
            ("count", workload.count.unwrap_or_default() as usize),
            ("partitions", args.partitions.max(0) as usize),
        ] {
            if value == 0 {
                return Err(ConfigError::AtLeastOne { flag, value: 0 });
            }
        }
        if !(1..=60_000).contains(&args.epoch_ms) {
            return Err(ConfigError::EpochMs(args.epoch_ms));
        }
        if args.latency_secs > 0 && args.rate < crate::bench::latency::PROBE_EVERY as u64 {
            return Err(ConfigError::AtLeastOne {
                flag: "rate",
                value: args.rate as i64,
            });
        }
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        // Unique per run: a rerun never reads an earlier run's topics or offsets.
        let prefix = format!("{}bench-{started}-", args.topic_prefix);
        Ok(crate::bench::BenchConfig {
            kafka,
            work_dir: std::env::temp_dir().join(prefix.trim_end_matches('-')),
            prefix,
            workload,
            partitions: args.partitions,
            workers: args.workers,
            processes: args.processes,
            delivery: args.delivery,
            rate: args.rate,
            epoch_ms: args.epoch_ms,
            latency_secs: args.latency_secs,
            peer_jar: args.peer.map(|_| args.peer_jar),
            json: args.json,
            binary: std::path::PathBuf::new(),
        })
    }
}

/// Flags of `salesflow report`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The UTC day to report, e.g. 2026-11-22.
    #[arg(long)]
    pub day: String,
    /// Kafka bootstrap servers.
    #[arg(short = 'b', long, env = "SALESFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// The topic prefix the job ran with.
    #[arg(long, env = "SALESFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// The job whose progress record the report is consistent with.
    #[arg(long, env = "SALESFLOW_JOB", default_value = "salesflow")]
    pub job: String,
    /// The envelope the job wrote its topics in.
    #[arg(long, env = "SALESFLOW_ENVELOPE", value_enum, default_value = "upsert")]
    pub envelope: Envelope,
    /// Write the HTML report here (one self-contained file); the Markdown summary goes to stdout.
    #[arg(short = 'o', long)]
    pub output: Option<std::path::PathBuf>,
    /// A librdkafka property, like kcat: -X security.protocol=SASL_SSL
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl TryFrom<ReportArgs> for crate::report::ReportConfig {
    type Error = ConfigError;

    fn try_from(args: ReportArgs) -> Result<Self, ConfigError> {
        let kafka = kafka(args.brokers, &args.kafka_properties)?
            .ok_or(ConfigError::NeedsBrokers("report"))?;
        let day = chrono::NaiveDate::parse_from_str(args.day.trim(), "%Y-%m-%d")
            .map_err(|_| ConfigError::Day(args.day.clone()))?;
        Ok(crate::report::ReportConfig {
            kafka,
            day,
            topic_prefix: args.topic_prefix,
            job: args.job,
            envelope: args.envelope,
            output: args.output,
        })
    }
}

/// Flags of `salesflow tail`.
#[derive(clap::Args, Debug, Clone)]
pub struct TailArgs {
    /// The output topic, without the prefix (e.g. sales_by_category).
    pub topic: String,
    /// Kafka bootstrap servers.
    #[arg(short = 'b', long, env = "SALESFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Put this before the topic name.
    #[arg(long, env = "SALESFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// The envelope the topic was written in.
    #[arg(long, env = "SALESFLOW_ENVELOPE", value_enum, default_value = "upsert")]
    pub envelope: Envelope,
    /// Read up to the end offsets seen at start, print the table and exit.
    #[arg(long)]
    pub once: bool,
    /// Print rows as JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Read only committed messages.
    #[arg(long)]
    pub read_committed: bool,
    /// Stop at a consistent snapshot: fold only up to the output offsets named by the job's last
    /// progress record, print the table and exit.
    #[arg(long)]
    pub until_progress: bool,
    /// The job whose progress --until-progress reads.
    #[arg(long, env = "SALESFLOW_JOB", default_value = "salesflow")]
    pub job: String,
    /// A librdkafka property, like kcat: -X security.protocol=SASL_SSL
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
}

impl TryFrom<TailArgs> for crate::tail::TailConfig {
    type Error = ConfigError;

    fn try_from(args: TailArgs) -> Result<Self, ConfigError> {
        Ok(crate::tail::TailConfig {
            kafka: kafka(args.brokers, &args.kafka_properties)?
                .ok_or(ConfigError::NeedsBrokers("tail"))?,
            topic: format!("{}{}", args.topic_prefix, args.topic),
            envelope: args.envelope,
            once: args.once,
            json: args.json,
            read_committed: args.read_committed,
            until_progress: args.until_progress.then(|| crate::tail::ProgressOf {
                topic: format!("{}{}", args.topic_prefix, crate::runtime::PROGRESS_TOPIC),
                job: args.job,
            }),
        })
    }
}

/// Flags of `salesflow demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Records per second the generator produces after the load.
    #[arg(long, default_value_t = 2_000.0)]
    pub rate: f64,
    /// What the generator produces (without --count it runs until Ctrl-C).
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// The job's own flags (`--brokers` is ignored: the demo brings its broker).
    #[command(flatten)]
    pub run: RunArgs,
}

/// The shape of a generated workload: its size, and how often each kind of record appears.
/// Shares are percentages; a record that is not a correction, cancellation, return, delete,
/// dimension or rate change or bad record is a new order.
#[derive(clap::Args, Debug, Clone)]
pub struct WorkloadArgs {
    /// Records after the load (without it: 100,000, or until Ctrl-C with --rate).
    #[arg(long)]
    pub count: Option<u64>,
    /// Customers loaded first.
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Products loaded first (each with a stock count).
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// The same seed and flags produce the same records, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// % of new orders that arrive late, with ts up to --late-hours in the past.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub late: f64,
    /// How far in the past a late order may be.
    #[arg(long, default_value_t = 6)]
    pub late_hours: u32,
    /// % of records that correct a live order (its quantity or its status).
    #[arg(long, default_value_t = 15.0, value_name = "PCT")]
    pub updates: f64,
    /// % of records that delete a live order (tombstone).
    #[arg(long, default_value_t = 2.5, value_name = "PCT")]
    pub deletes: f64,
    /// % of records that cancel a live order.
    #[arg(long, default_value_t = 2.5, value_name = "PCT")]
    pub cancellations: f64,
    /// % of records that return a live order.
    #[arg(long, default_value_t = 1.0, value_name = "PCT")]
    pub returns: f64,
    /// % of records that change a customer, a product or a stock count.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub dimension_changes: f64,
    /// % of records that change an exchange rate.
    #[arg(long, default_value_t = 0.1, value_name = "PCT")]
    pub fx_changes: f64,
    /// % of records that are bad input, every kind in turn (not JSON, invalid UTF-8, too large,
    /// a missing or uncoercible field, quantity < 1, price < 0, unparseable ts, key/id mismatch).
    #[arg(long, default_value_t = 0.05, value_name = "PCT")]
    pub bad: f64,
    /// % of new orders whose customer or product does not exist yet (it follows shortly).
    #[arg(long, default_value_t = 1.0, value_name = "PCT")]
    pub orphans: f64,
    /// % of new orders in EUR, GBP, JPY or CAD instead of USD.
    #[arg(long, default_value_t = 30.0, value_name = "PCT")]
    pub foreign_currency: f64,
    /// % of new orders from one of three shared ips (ip_burst alerts).
    #[arg(long, default_value_t = 2.0, value_name = "PCT")]
    pub busy_ips: f64,
    /// % of new orders worth at least 5,000.00 USD (high_value_order alerts).
    #[arg(long, default_value_t = 0.1, value_name = "PCT")]
    pub high_value: f64,
}

/// Flags of `salesflow generate`.
#[derive(clap::Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Kafka bootstrap servers to produce to; without them an embedded broker starts for this
    /// command alone (a measurement: the records are gone when it exits).
    #[arg(short = 'b', long, env = "SALESFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Put this before every input topic name.
    #[arg(long, env = "SALESFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// A librdkafka property, like kcat: -X security.protocol=SASL_SSL
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,
    /// Records per second after the load, sustained; without it, as fast as the broker takes them.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Partitions of input topics that do not exist yet.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// The job's --max-record-bytes: the too-large bad records are one byte over it.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_record_bytes: usize,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

/// How each output change is wrapped on its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Envelope {
    /// Value = the whole current row, or null (tombstone) when the group is gone.
    Upsert,
    /// Value = {"before", "after", "op", "ts_ms"}.
    Debezium,
    /// Value = {"row", "diff": +1|-1, "time"}.
    Diff,
}

/// What a consumer can rely on after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Delivery {
    /// Output and progress in Kafka transactions: a read_committed consumer sees each instant
    /// whole, and no change twice, across crashes.
    ExactlyOnce,
    /// No transactions: after a crash a consumer may see changes that the restart takes back.
    AtLeastOnce,
}

/// Flags of `salesflow run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Kafka bootstrap servers; without them an embedded in-process broker starts.
    #[arg(short = 'b', long, env = "SALESFLOW_BROKERS")]
    pub brokers: Option<String>,

    /// Job name: the key of progress records and the base of consumer group and transactional ids.
    #[arg(long, env = "SALESFLOW_JOB", default_value = "salesflow")]
    pub job: String,

    /// Put this before every topic name the job reads or writes.
    #[arg(long, env = "SALESFLOW_TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,

    /// How output changes are wrapped.
    #[arg(long, env = "SALESFLOW_ENVELOPE", value_enum, default_value = "upsert")]
    pub envelope: Envelope,

    /// exactly-once writes output in Kafka transactions (the job name, with the topic prefix, is
    /// the transactional id: a second instance of the job fences the first); at-least-once does not.
    #[arg(
        long,
        env = "SALESFLOW_DELIVERY",
        value_enum,
        default_value = "exactly-once"
    )]
    pub delivery: Delivery,

    /// Worker threads in this process.
    #[arg(short = 'w', long, env = "SALESFLOW_WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// Processes in the cluster (each with --workers threads).
    #[arg(long, env = "SALESFLOW_PROCESSES", default_value_t = 1)]
    pub processes: usize,

    /// This process's index, 0-based; by default the ordinal ending the host name (salesflow-3 is
    /// process 3), as in a Kubernetes StatefulSet.
    #[arg(long, env = "SALESFLOW_PROCESS")]
    pub process: Option<usize>,

    /// host:port of every process, in index order, comma-separated (this one's included); or one
    /// entry with `{i}` for the index, such as salesflow-{i}.salesflow-peers:2101.
    #[arg(long, env = "SALESFLOW_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,

    /// Serve the live dashboard (/), /metrics (Prometheus), /healthz and /readyz here, e.g.
    /// 0.0.0.0:9100. `--metrics-addr` is the same flag.
    #[arg(long, visible_alias = "metrics-addr", env = "SALESFLOW_HTTP_ADDR")]
    pub http_addr: Option<String>,

    /// Seconds to keep trying to reach the other processes before exiting 1.
    #[arg(long, env = "SALESFLOW_PEER_TIMEOUT_SECS", default_value_t = 120)]
    pub peer_timeout_secs: u64,

    /// Read every input up to the end offsets seen at start, write all outputs, then exit 0.
    #[arg(long)]
    pub bounded: bool,

    /// A librdkafka property for every client, like kcat: -X security.protocol=SASL_SSL
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_properties: Vec<String>,

    /// Revenue is reported in this currency.
    #[arg(long, env = "SALESFLOW_BASE_CURRENCY", default_value = "USD")]
    pub base_currency: String,

    /// Records larger than this (key + value, bytes) are dead-lettered.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_record_bytes: usize,

    /// Milliseconds between logical times: each closes an instant of input and output.
    #[arg(long, env = "SALESFLOW_EPOCH_MS", default_value_t = 200)]
    pub epoch_ms: u64,

    /// A restart replays this many input records per worker at one logical time, then the next:
    /// fewer use less memory while the state is rebuilt, more rebuild it in less CPU time.
    #[arg(
        long,
        env = "SALESFLOW_REPLAY_STEP_RECORDS",
        default_value_t = 1_000_000
    )]
    pub replay_step_records: u64,

    /// Partitions of output topics the job creates.
    #[arg(long, default_value_t = 4)]
    pub output_partitions: i32,

    /// Name of the orders topic.
    #[arg(long, default_value = "orders")]
    pub orders_topic: String,
    /// Name of the customers topic.
    #[arg(long, default_value = "customers")]
    pub customers_topic: String,
    /// Name of the products topic.
    #[arg(long, default_value = "products")]
    pub products_topic: String,
    /// Name of the fx rates topic.
    #[arg(long, default_value = "fx_rates")]
    pub fx_rates_topic: String,
    /// Name of the inventory topic.
    #[arg(long, default_value = "inventory")]
    pub inventory_topic: String,

    /// The outputs to maintain, comma-separated (e.g. alerts,stock_levels), or all.
    #[arg(long, env = "SALESFLOW_ANALYSES", default_value = "all")]
    pub analyses: String,

    /// `high_value_order` alerts fire for an order worth at least this (base currency).
    #[arg(long, default_value = "5000.00")]
    pub high_value_order: String,

    /// `ip_burst` alerts fire at this many live orders from one ip in one bucket.
    #[arg(long, default_value_t = 5)]
    pub ip_burst: i64,

    /// `customer_burst` alerts fire at this many live orders from one customer in one bucket.
    #[arg(long, default_value_t = 5)]
    pub customer_burst: i64,

    /// Width in minutes of the UTC-aligned buckets of the burst alerts.
    #[arg(long, default_value_t = 10)]
    pub burst_bucket_minutes: i64,
}

/// A flag or variable that cannot work, with what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--workers must be at least 1 (got 0)")]
    NoWorkers,
    #[error("--base-currency {0:?} is not a 3-letter currency code such as USD")]
    BaseCurrency(String),
    #[error("--epoch-ms must be between 1 and 60000 (got {0})")]
    EpochMs(u64),
    #[error("--output-partitions must be at least 1 (got {0})")]
    OutputPartitions(i32),
    #[error("-X {0:?} is not KEY=VALUE (for example -X security.protocol=SASL_SSL)")]
    KafkaProperty(String),
    #[error("-X {0} is set by salesflow itself and cannot be overridden")]
    ReservedProperty(String),
    #[error("--job must be non-empty and use only letters, digits, '.', '_' and '-' (got {0:?})")]
    Job(String),
    #[error("--{flag} must not be empty")]
    EmptyTopic { flag: &'static str },
    #[error("--max-record-bytes must be at least 1 (got 0)")]
    MaxRecordBytes,
    #[error(
        "{0} needs --brokers (or SALESFLOW_BROKERS): the embedded broker lives only inside `salesflow run` and `demo`"
    )]
    NeedsBrokers(&'static str),
    #[error("--http-addr {0:?} is not host:port, such as 127.0.0.1:8080 or 0.0.0.0:9100")]
    HttpAddr(String),
    #[error("--day {0:?} is not a date such as 2026-11-22")]
    Day(String),
    #[error("--customers and --products must be at least 1")]
    EmptyDimensions,
    #[error(
        "--peer needs --brokers (or SALESFLOW_BROKERS): Kafka Streams cannot use the embedded broker; start one with scripts/kafka.sh start"
    )]
    PeerNeedsBroker,
    #[error("--customers and --products must be at most 2147483647")]
    TooManyDimensions,
    #[error("--{flag} is a percentage and must be between 0 and 100 (got {value})")]
    Share { flag: &'static str, value: f64 },
    #[error(
        "--updates, --deletes, --cancellations, --returns, --dimension-changes, --fx-changes and --bad add up to {0}%; they must leave room for new orders (at most 100% together)"
    )]
    SharesOver100(f64),
    #[error("--rate must be a positive number of records per second (got {0})")]
    Rate(f64),
    #[error("--analyses: {0:?} is not an output; choose from all, {names}", names = analysis_names())]
    UnknownAnalysis(String),
    #[error("--analyses must name at least one output, or all")]
    NoAnalyses,
    #[error("--high-value-order {0:?} is not an amount such as 5000.00")]
    HighValue(String),
    #[error("--{flag} must be at least 1 (got {value})")]
    AtLeastOne { flag: &'static str, value: i64 },
    #[error(
        "--peers lists {listed} addresses but --processes is {processes}: list every process, in index order"
    )]
    Peers { listed: usize, processes: usize },
    #[error("--peers {0:?} is not host:port")]
    PeerAddress(String),
    #[error(
        "--process is {process} but --processes is {processes}: the index must be below the count"
    )]
    ProcessIndex { process: usize, processes: usize },
    #[error(
        "no --process given and the host name {0:?} does not end in an ordinal like salesflow-3"
    )]
    NoOrdinal(String),
}

/// The cluster this process belongs to, or `None` when it runs alone.
fn cluster(args: &RunArgs) -> Result<Option<ClusterConfig>, ConfigError> {
    if args.processes == 0 {
        return Err(ConfigError::AtLeastOne {
            flag: "processes",
            value: 0,
        });
    }
    if args.processes == 1 {
        return Ok(None);
    }
    if args.brokers.as_deref().is_none_or(|b| b.trim().is_empty()) {
        return Err(ConfigError::NeedsBrokers("a cluster (--processes above 1)"));
    }
    let peers: Vec<String> = match &args.peers[..] {
        [template] if template.contains("{i}") => (0..args.processes)
            .map(|i| template.trim().replace("{i}", &i.to_string()))
            .collect(),
        listed => listed.iter().map(|p| p.trim().to_string()).collect(),
    };
    if peers.len() != args.processes {
        return Err(ConfigError::Peers {
            listed: peers.len(),
            processes: args.processes,
        });
    }
    if let Some(bad) = peers.iter().find(|p| !is_host_port(p)) {
        return Err(ConfigError::PeerAddress(bad.clone()));
    }
    let process = match args.process {
        Some(process) => process,
        None => ordinal(&host_name())?,
    };
    if process >= args.processes {
        return Err(ConfigError::ProcessIndex {
            process,
            processes: args.processes,
        });
    }
    Ok(Some(ClusterConfig {
        process,
        peers,
        deadline: Duration::from_secs(args.peer_timeout_secs),
    }))
}

/// `host:port` with a host and a port number.
fn is_host_port(address: &str) -> bool {
    address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// The pod's host name: `HOSTNAME` (set in every container), else the kernel's.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default()
}

/// `salesflow-3` -> 3: a StatefulSet pod's ordinal.
fn ordinal(host: &str) -> Result<usize, ConfigError> {
    host.rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .ok_or_else(|| ConfigError::NoOrdinal(host.to_string()))
}

fn analysis_names() -> String {
    OutputTopic::ANALYSES.map(OutputTopic::name).join(", ")
}

/// `all`, or a comma-separated list of output names.
fn selected_analyses(list: &str) -> Result<BTreeSet<OutputTopic>, ConfigError> {
    if list.trim() == "all" {
        return Ok(OutputTopic::ANALYSES.into_iter().collect());
    }
    let selected = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            OutputTopic::ANALYSES
                .into_iter()
                .find(|topic| topic.name() == name)
                .ok_or_else(|| ConfigError::UnknownAnalysis(name.to_string()))
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    if selected.is_empty() {
        return Err(ConfigError::NoAnalyses);
    }
    Ok(selected)
}

fn alert_rules(args: &RunArgs) -> Result<AlertRules, ConfigError> {
    let high_value = parse_cents(&args.high_value_order)
        .filter(|cents| *cents >= 0)
        .ok_or_else(|| ConfigError::HighValue(args.high_value_order.clone()))?;
    for (flag, value) in [
        ("ip-burst", args.ip_burst),
        ("customer-burst", args.customer_burst),
        ("burst-bucket-minutes", args.burst_bucket_minutes),
    ] {
        if value < 1 {
            return Err(ConfigError::AtLeastOne { flag, value });
        }
    }
    Ok(AlertRules {
        high_value: Money::from_cents(i128::from(high_value)),
        ip_burst: args.ip_burst,
        customer_burst: args.customer_burst,
        bucket_ms: args.burst_bucket_minutes.saturating_mul(60_000),
    })
}

/// Properties salesflow sets itself, because its guarantees depend on them.
const RESERVED: [&str; 6] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "transactional.id",
    "enable.idempotence",
    "isolation.level",
];

/// `-X key=value` pairs, each checked; salesflow's own properties cannot be overridden.
/// The broker to use, if `--brokers` names one, with every `-X` property.
fn kafka(
    brokers: Option<String>,
    properties: &[String],
) -> Result<Option<crate::kafka::Kafka>, ConfigError> {
    let Some(bootstrap) = brokers.filter(|b| !b.trim().is_empty()) else {
        return Ok(None);
    };
    Ok(Some(crate::kafka::Kafka {
        bootstrap,
        properties: kafka_properties(properties)?,
    }))
}

fn kafka_properties(raw: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    raw.iter()
        .map(|property| {
            let (key, value) = property
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| ConfigError::KafkaProperty(property.clone()))?;
            if RESERVED.contains(&key.trim()) {
                return Err(ConfigError::ReservedProperty(key.trim().to_string()));
            }
            Ok((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

impl TryFrom<&WorkloadArgs> for crate::generate::WorkloadSpec {
    type Error = ConfigError;

    fn try_from(args: &WorkloadArgs) -> Result<Self, ConfigError> {
        use crate::generate::records::PPM;
        if args.customers == 0 || args.products == 0 {
            return Err(ConfigError::EmptyDimensions);
        }
        if args.customers > u32::MAX as usize / 2 || args.products > u32::MAX as usize / 2 {
            return Err(ConfigError::TooManyDimensions);
        }
        // Shares are kept in parts per million, so every record is decided by an integer draw.
        let ppm = |flag: &'static str, pct: f64| {
            if pct.is_finite() && (0.0..=100.0).contains(&pct) {
                Ok((pct * f64::from(PPM) / 100.0).round() as u32)
            } else {
                Err(ConfigError::Share { flag, value: pct })
            }
        };
        let shares = crate::generate::Shares {
            updates: ppm("updates", args.updates)?,
            deletes: ppm("deletes", args.deletes)?,
            cancellations: ppm("cancellations", args.cancellations)?,
            returns: ppm("returns", args.returns)?,
            dimension_changes: ppm("dimension-changes", args.dimension_changes)?,
            rate_changes: ppm("fx-changes", args.fx_changes)?,
            bad: ppm("bad", args.bad)?,
            late: ppm("late", args.late)?,
            orphans: ppm("orphans", args.orphans)?,
            foreign_currency: ppm("foreign-currency", args.foreign_currency)?,
            busy_ips: ppm("busy-ips", args.busy_ips)?,
            high_value: ppm("high-value", args.high_value)?,
        };
        let per_record = [
            shares.updates,
            shares.deletes,
            shares.cancellations,
            shares.returns,
            shares.dimension_changes,
            shares.rate_changes,
            shares.bad,
        ]
        .iter()
        .map(|&s| u64::from(s))
        .sum::<u64>();
        if per_record > u64::from(PPM) {
            return Err(ConfigError::SharesOver100(
                per_record as f64 * 100.0 / f64::from(PPM),
            ));
        }
        Ok(crate::generate::WorkloadSpec {
            seed: args.seed,
            customers: args.customers,
            products: args.products,
            count: args.count,
            late_hours: args.late_hours,
            shares,
            max_record_bytes: 1 << 20,
        })
    }
}

/// A rate of records per second: positive and finite.
fn rate(rate: f64) -> Result<f64, ConfigError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(ConfigError::Rate(rate))
    }
}

/// Records `generate` writes after the load when neither --count nor --rate says otherwise.
const DEFAULT_COUNT: u64 = 100_000;

impl TryFrom<GenerateArgs> for crate::generate::GenerateConfig {
    type Error = ConfigError;

    fn try_from(args: GenerateArgs) -> Result<Self, ConfigError> {
        if args.partitions < 1 {
            return Err(ConfigError::AtLeastOne {
                flag: "partitions",
                value: i64::from(args.partitions),
            });
        }
        if args.max_record_bytes == 0 {
            return Err(ConfigError::MaxRecordBytes);
        }
        let rate = args.rate.map(rate).transpose()?;
        let mut workload = crate::generate::workload_config(&args.workload)?;
        workload.max_record_bytes = args.max_record_bytes;
        if rate.is_none() {
            workload.count = workload.count.or(Some(DEFAULT_COUNT));
        }
        Ok(crate::generate::GenerateConfig {
            kafka: kafka(args.brokers, &args.kafka_properties)?,
            topic_prefix: args.topic_prefix,
            partitions: args.partitions,
            rate,
            workload,
            show_progress: true,
        })
    }
}

/// The demo's generator and job, validated together.
pub struct DemoConfig {
    pub rate: f64,
    pub workload: crate::generate::WorkloadSpec,
    pub job: Config,
}

impl TryFrom<DemoArgs> for DemoConfig {
    type Error = ConfigError;

    fn try_from(args: DemoArgs) -> Result<Self, ConfigError> {
        let job = Config::try_from(args.run)?;
        let mut workload = crate::generate::workload_config(&args.workload)?;
        workload.max_record_bytes = job.decode.max_record_bytes;
        Ok(DemoConfig {
            rate: rate(args.rate)?,
            workload,
            job,
        })
    }
}

/// A validated run configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `None` starts the embedded broker.
    pub brokers: Option<String>,
    pub job: String,
    pub topic_prefix: String,
    pub envelope: Envelope,
    pub delivery: Delivery,
    pub workers: usize,
    pub bounded: bool,
    pub kafka_properties: Vec<(String, String)>,
    pub decode: DecodeConfig,
    pub epoch: Duration,
    /// Input records per worker replayed at one logical time on a restart.
    pub replay_step: u64,
    pub output_partitions: i32,
    pub analysis: AnalysisConfig,
    /// `None`: this process is the whole job.
    pub cluster: Option<ClusterConfig>,
    /// Where the dashboard, metrics and probes are served; `None`: not served.
    pub http_addr: Option<String>,
    /// `brokers` is an embedded broker started by the caller (the demo): it describes no topic
    /// configuration, so the job does not ask.
    pub brokers_embedded: bool,
    input_topics: [String; 5],
}

impl TryFrom<RunArgs> for Config {
    type Error = ConfigError;

    fn try_from(args: RunArgs) -> Result<Self, ConfigError> {
        if args.workers == 0 {
            return Err(ConfigError::NoWorkers);
        }
        let base_currency = Currency::parse(&args.base_currency)
            .ok_or(ConfigError::BaseCurrency(args.base_currency.clone()))?;
        if !(1..=60_000).contains(&args.epoch_ms) {
            return Err(ConfigError::EpochMs(args.epoch_ms));
        }
        if args.output_partitions < 1 {
            return Err(ConfigError::OutputPartitions(args.output_partitions));
        }
        if args.replay_step_records == 0 {
            return Err(ConfigError::AtLeastOne {
                flag: "replay-step-records",
                value: 0,
            });
        }
        if args.max_record_bytes == 0 {
            return Err(ConfigError::MaxRecordBytes);
        }
        let job_ok = !args.job.is_empty()
            && args
                .job
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !job_ok {
            return Err(ConfigError::Job(args.job));
        }
        let kafka_properties = kafka_properties(&args.kafka_properties)?;
        let cluster = cluster(&args)?;
        let analysis = AnalysisConfig {
            base_currency,
            rules: alert_rules(&args)?,
            selected: selected_analyses(&args.analyses)?,
        };
        let topics = [
            ("orders-topic", args.orders_topic),
            ("customers-topic", args.customers_topic),
            ("products-topic", args.products_topic),
            ("fx-rates-topic", args.fx_rates_topic),
            ("inventory-topic", args.inventory_topic),
        ];
        for (flag, name) in &topics {
            if name.trim().is_empty() {
                return Err(ConfigError::EmptyTopic { flag });
            }
        }
        let input_topics = topics.map(|(_, name)| name);
        let http_addr = args.http_addr.filter(|a| !a.trim().is_empty());
        if let Some(addr) = &http_addr
            && !is_host_port(addr)
        {
            return Err(ConfigError::HttpAddr(addr.clone()));
        }
        Ok(Config {
            brokers: args.brokers.filter(|b| !b.trim().is_empty()),
            job: args.job,
            topic_prefix: args.topic_prefix,
            envelope: args.envelope,
            delivery: args.delivery,
            workers: args.workers,
            bounded: args.bounded,
            kafka_properties,
            decode: DecodeConfig {
                max_record_bytes: args.max_record_bytes,
                base_currency,
            },
            epoch: Duration::from_millis(args.epoch_ms),
            replay_step: args.replay_step_records,
            output_partitions: args.output_partitions,
            analysis,
            cluster,
            http_addr,
            brokers_embedded: false,
            input_topics,
        })
    }
}

impl Config {
    /// The full name of an input topic, prefix included.
    pub fn input_topic(&self, topic: InputTopic) -> String {
        let index = InputTopic::ALL
            .iter()
            .position(|t| *t == topic)
            .expect("ALL lists every input topic");
        format!("{}{}", self.topic_prefix, self.input_topics[index])
    }

    /// The full name of an output (or dead-letter, or progress) topic, prefix included.
    pub fn output_topic(&self, name: &str) -> String {
        format!("{}{}", self.topic_prefix, name)
    }

    /// The transactional id of the job's output: one per job and topic prefix, stable across
    /// restarts, so that a second instance fences the first.
    pub fn transactional_id(&self) -> String {
        format!("{}{}", self.topic_prefix, self.job)
    }

    /// The configuration as `key = value` lines, with every `-X` value that may be a secret hidden.
    pub fn describe(&self) -> String {
        let mut lines = vec![
            format!(
                "brokers = {}",
                self.brokers.as_deref().unwrap_or("(embedded)")
            ),
            format!("job = {}", self.job),
            format!("topic_prefix = {:?}", self.topic_prefix),
            format!("envelope = {:?}", self.envelope).to_lowercase(),
            format!(
                "delivery = {}",
                self.delivery
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_string())
            ),
            format!("workers = {}", self.workers),
            match &self.cluster {
                Some(c) => format!(
                    "cluster = process {} of {}, peers {}",
                    c.process,
                    c.peers.len(),
                    c.peers.join(",")
                ),
                None => "cluster = (one process)".to_string(),
            },
            format!("bounded = {}", self.bounded),
            format!(
                "http_addr = {}",
                self.http_addr.as_deref().unwrap_or("(not served)")
            ),
            format!("base_currency = {}", self.decode.base_currency),
            format!("max_record_bytes = {}", self.decode.max_record_bytes),
            format!("epoch_ms = {}", self.epoch.as_millis()),
            format!("replay_step_records = {}", self.replay_step),
            format!("output_partitions = {}", self.output_partitions),
            format!(
                "analyses = {}",
                self.analysis
                    .selected
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!(
                "high_value_order = {}",
                crate::model::format_cents(self.analysis.rules.high_value.cents())
            ),
            format!("ip_burst = {}", self.analysis.rules.ip_burst),
            format!("customer_burst = {}", self.analysis.rules.customer_burst),
            format!(
                "burst_bucket_minutes = {}",
                self.analysis.rules.bucket_ms / 60_000
            ),
        ];
        for topic in InputTopic::ALL {
            lines.push(format!(
                "{}_topic = {}",
                topic.default_name(),
                self.input_topic(topic)
            ));
        }
        for (key, value) in &self.kafka_properties {
            lines.push(format!("-X {key} = {}", redacted(key, value)));
        }
        lines.join("\n")
    }
}

/// Property values that can hold credentials are never printed or logged.
pub fn redacted<'a>(key: &str, value: &'a str) -> &'a str {
    let key = key.to_ascii_lowercase();
    if ["password", "secret", "key", "token", "jaas", "credential"]
        .iter()
        .any(|word| key.contains(word))
    {
        "[redacted]"
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["salesflow", "run"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("flags parse").command {
            Command::Run(args) => args,
            other => unreachable!("the tests parse `run`, not {other:?}"),
        }
    }

    fn bench(extra: &[&str]) -> Result<crate::bench::BenchConfig, ConfigError> {
        let mut argv = vec!["salesflow", "bench"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("flags parse").command {
            Command::Bench(args) => crate::bench::BenchConfig::try_from(args),
            other => unreachable!("the tests parse `bench`, not {other:?}"),
        }
    }

    #[test]
    fn metrics_addr_is_another_name_of_http_addr() {
        let config = Config::try_from(args(&["--metrics-addr", "127.0.0.1:9100"])).expect("valid");
        assert_eq!(config.http_addr.as_deref(), Some("127.0.0.1:9100"));
    }

    #[test]
    fn bench_runs_embedded_alone_but_needs_a_broker_for_a_peer() {
        let alone = bench(&["--count", "10"]).expect("valid");
        assert!(alone.kafka.is_none() && alone.peer_jar.is_none());
        assert!(alone.prefix.starts_with("bench-"), "{}", alone.prefix);
        let error = bench(&["--peer", "kafka-streams"]).expect_err("no broker");
        assert!(
            error.to_string().contains("--peer needs --brokers"),
            "{error}"
        );
        let error = bench(&["-b", "h:9092", "--rate", "5"]).expect_err("too slow to probe");
        assert!(error.to_string().contains("--rate"), "{error}");
        let with_peer = bench(&["-b", "h:9092", "--peer", "kafka-streams"]).expect("valid");
        assert!(with_peer.peer_jar.is_some());
    }

    #[test]
    fn every_bad_flag_gets_a_sentence_naming_it() {
        let cases: [(&[&str], &str); 16] = [
            (
                &["--http-addr", "8080"],
                "--http-addr \"8080\" is not host:port",
            ),
            (&["--workers", "0"], "--workers"),
            (
                &["--analyses", "sales_total,salez"],
                "\"salez\" is not an output",
            ),
            (&["--analyses", ","], "--analyses must name"),
            (&["--high-value-order", "5k"], "--high-value-order"),
            (&["--ip-burst", "0"], "--ip-burst"),
            (&["--burst-bucket-minutes", "0"], "--burst-bucket-minutes"),
            (
                &["--processes", "2", "--peers", "a:1,b:2"],
                "needs --brokers",
            ),
            (
                &[
                    "-b",
                    "k:9092",
                    "--processes",
                    "3",
                    "--peers",
                    "a:1,b:2",
                    "--process",
                    "0",
                ],
                "lists 2 addresses",
            ),
            (
                &[
                    "-b",
                    "k:9092",
                    "--processes",
                    "2",
                    "--peers",
                    "a:1,b",
                    "--process",
                    "0",
                ],
                "\"b\" is not host:port",
            ),
            (&["--base-currency", "dollars"], "--base-currency"),
            (&["--epoch-ms", "0"], "--epoch-ms"),
            (&["--replay-step-records", "0"], "--replay-step-records"),
            (&["-X", "nonsense"], "KEY=VALUE"),
            (&["-X", "group.id=x"], "group.id"),
            (&["--job", "my job"], "--job"),
        ];
        for (flags, expected) in cases {
            let error = Config::try_from(args(flags))
                .expect_err("a bad flag is refused")
                .to_string();
            assert!(error.contains(expected), "{flags:?}: {error}");
        }
    }

    #[test]
    fn a_peer_template_names_every_process_and_the_index_may_come_from_the_host_name() {
        let flags = [
            "-b",
            "kafka:9092",
            "--processes",
            "3",
            "--peers",
            "salesflow-{i}.salesflow-peers:2101",
            "--process",
            "2",
        ];
        let config = Config::try_from(args(&flags)).expect("valid flags");
        let cluster = config.cluster.expect("a cluster");
        assert_eq!(cluster.process, 2);
        assert_eq!(
            cluster.peers,
            [0, 1, 2].map(|i| format!("salesflow-{i}.salesflow-peers:2101"))
        );
        assert_eq!(ordinal("salesflow-12").ok(), Some(12));
        assert!(ordinal("laptop").is_err());
        let error = Config::try_from(args(&[&flags[..6], &["--process", "3"]].concat()))
            .expect_err("index beyond the cluster");
        assert!(error.to_string().contains("--process is 3"), "{error}");
    }

    #[test]
    fn analyses_and_alert_thresholds_are_read_exactly() {
        let config = Config::try_from(args(&[
            "--analyses",
            "alerts, stock_levels",
            "--high-value-order",
            "1234.5",
        ]))
        .expect("valid flags");
        assert_eq!(
            config.analysis.selected.into_iter().collect::<Vec<_>>(),
            [OutputTopic::StockLevels, OutputTopic::Alerts]
        );
        assert_eq!(config.analysis.rules.high_value, Money::from_cents(123_450));
        assert_eq!(
            Config::try_from(args(&[]))
                .expect("defaults")
                .analysis
                .selected
                .len(),
            OutputTopic::ANALYSES.len()
        );
    }

    #[test]
    fn secrets_never_appear_in_the_description() {
        let config = Config::try_from(args(&[
            "-X",
            "sasl.password=hunter2",
            "-X",
            "security.protocol=SASL_SSL",
        ]))
        .expect("valid flags");
        let text = config.describe();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("security.protocol = SASL_SSL"), "{text}");
    }

    fn generate_args(extra: &[&str]) -> GenerateArgs {
        let mut argv = vec!["salesflow", "generate"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("flags parse").command {
            Command::Generate(args) => args,
            _ => unreachable!("the tests parse `generate`"),
        }
    }

    #[test]
    fn every_bad_workload_flag_gets_a_sentence_naming_it() {
        let cases: [(&[&str], &str); 6] = [
            (&["--bad", "150"], "--bad is a percentage"),
            (&["--late=-1"], "--late is a percentage"),
            (
                &["--updates", "60", "--dimension-changes", "50"],
                "add up to 116.15%",
            ),
            (&["--rate", "0"], "--rate must be a positive"),
            (&["--customers", "0"], "--customers and --products"),
            (&["--partitions", "0"], "--partitions must be at least 1"),
        ];
        for (flags, expected) in cases {
            let error = crate::generate::GenerateConfig::try_from(generate_args(flags))
                .expect_err("a bad flag is refused")
                .to_string();
            assert!(error.contains(expected), "{flags:?}: {error}");
        }
    }

    #[test]
    fn workload_shares_are_parts_per_million_and_the_count_has_a_default() {
        let config = crate::generate::GenerateConfig::try_from(generate_args(&[
            "--late", "12.5", "--bad", "0.05",
        ]))
        .expect("valid flags");
        assert_eq!(config.workload.shares.late, 125_000);
        assert_eq!(config.workload.shares.bad, 500);
        assert_eq!(config.workload.count, Some(DEFAULT_COUNT));
        let paced = crate::generate::GenerateConfig::try_from(generate_args(&["--rate", "50"]))
            .expect("valid flags");
        assert_eq!(
            paced.workload.count, None,
            "with --rate and no --count: until stopped"
        );
    }

    #[test]
    fn the_prefix_goes_before_every_topic() {
        let config = Config::try_from(args(&[
            "--topic-prefix",
            "t1.",
            "--orders-topic",
            "shop_orders",
        ]))
        .expect("valid flags");
        assert_eq!(config.input_topic(InputTopic::Orders), "t1.shop_orders");
        assert_eq!(config.output_topic("sales_total"), "t1.sales_total");
    }
}
