//! The whole job on librdkafka's in-process mock cluster: random input with bad records goes into
//! the input topics, `salesflow run --bounded` reads it, and every output topic, folded by key,
//! equals the from-scratch oracle; every bad record is dead-lettered once.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use differential_dataflow::Hashable;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use salesflow::config::{Cli, Command, Config};
use salesflow::model::InputTopic;
use salesflow::runtime::{self, Summary};

use support::oracle::{State, TOPICS, Tables, Update};
use support::streams::{self, Record};

const PARTITIONS: i32 = 2;

/// A fixed random stream: the same records every run.
fn records(seed: u8) -> Vec<Record> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(ProptestConfig::default(), rng);
    let steps = streams::stream()
        .new_tree(&mut runner)
        .expect("a stream is generated")
        .current();
    steps.into_iter().flatten().collect()
}

/// Records of one key go to one partition, so their order is kept, as a keyed producer does.
fn partition_of(record: &Record) -> i32 {
    let key = record.update().map_or("", Update::key);
    (key.hashed() % PARTITIONS as u64) as i32
}

fn produce(bootstrap: &str, prefix: &str, records: &[Record]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("a producer");
    for record in records {
        let topic = format!("{prefix}{}", record.topic.name());
        let mut message: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&topic).partition(partition_of(record));
        message.key = record.key.as_deref();
        message.payload = record.value.as_deref();
        producer
            .send(message)
            .map_err(|(e, _)| e)
            .expect("the record is queued");
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(10))
        .expect("the records are written");
}

fn job_config(bootstrap: &str, prefix: &str, envelope: &str, bounded: bool) -> Config {
    // The limit the streams' too-large records are over.
    let max_record_bytes = streams::MAX_RECORD_BYTES.to_string();
    let mut argv = vec![
        "salesflow",
        "run",
        "-b",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--workers",
        "2",
        "--epoch-ms",
        "20",
        "--envelope",
        envelope,
        "--max-record-bytes",
        &max_record_bytes,
    ];
    if bounded {
        argv.push("--bounded");
    }
    let Command::Run(args) = Cli::try_parse_from(argv).expect("valid flags").command else {
        unreachable!("the command is run")
    };
    Config::try_from(args).expect("a valid configuration")
}

fn run_job(bootstrap: &str, prefix: &str, envelope: &str) -> Summary {
    runtime::run(
        job_config(bootstrap, prefix, envelope, true),
        Arc::new(AtomicBool::new(false)),
    )
    .expect("the job finishes")
}

/// The input offsets (summed over partitions) that the latest progress record covers.
fn progress_covers(bootstrap: &str, prefix: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "progress-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("a consumer");
    let topic = format!("{prefix}salesflow_progress");
    let (_, high) = consumer
        .fetch_watermarks(&topic, 0, Duration::from_secs(5))
        .expect("watermarks");
    if high == 0 {
        return 0;
    }
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(&topic, 0, Offset::Offset(high - 1))
        .expect("a partition");
    consumer.assign(&list).expect("assigned");
    let message = consumer
        .poll(Duration::from_secs(5))
        .expect("the latest progress")
        .expect("a message");
    let progress: serde_json::Value =
        serde_json::from_slice(message.payload().expect("a value")).expect("JSON");
    let inputs = progress["inputs"].as_object().expect("input offsets");
    inputs
        .values()
        .flat_map(|p| p.as_object().expect("partitions").values())
        .filter_map(|o| o.as_i64())
        .sum()
}

/// Every message of every partition of `topic`, in partition order.
fn read_all(bootstrap: &str, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "reader")
        .set("enable.auto.commit", "false")
        // Each partition is read to its end once; do not idle half a second at every end.
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("a consumer");
    let mut messages = Vec::new();
    for partition in 0..PARTITIONS {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(5))
            .expect("watermarks");
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(topic, partition, Offset::Beginning)
            .expect("a partition");
        consumer.assign(&list).expect("assigned");
        let mut next = 0;
        while next < high {
            let Some(result) = consumer.poll(Duration::from_secs(5)) else {
                panic!("{topic}/{partition} stalled at {next}")
            };
            let message = result.expect("a message");
            let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            messages.push((text(message.key()), text(message.payload())));
            next = message.offset() + 1;
        }
    }
    messages
}

/// A `diff` envelope value; the row is kept as its exact text.
#[derive(serde::Deserialize)]
struct DiffValue {
    row: Box<serde_json::value::RawValue>,
    diff: i64,
}

/// Folds each output topic as a consumer of `envelope` would.
fn fold(bootstrap: &str, prefix: &str, envelope: &str) -> Tables {
    let mut tables = Tables::new();
    for topic in TOPICS {
        let mut table = BTreeMap::new();
        let mut diffs: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (key, value) in read_all(bootstrap, &format!("{prefix}{topic}")) {
            let key = key.expect("output messages have keys");
            match (envelope, value) {
                ("upsert", Some(row)) => drop(table.insert(key, row)),
                ("upsert", None) => drop(table.remove(&key)),
                ("diff", Some(change)) => {
                    let change: DiffValue =
                        serde_json::from_str(&change).expect("a diff value is JSON");
                    *diffs
                        .entry((key, change.row.get().to_string()))
                        .or_default() += change.diff;
                }
                (envelope, value) => panic!("{topic}: unexpected {envelope} message {value:?}"),
            }
        }
        for ((key, row), count) in diffs {
            assert!(
                (0..=1).contains(&count),
                "{topic}: row {row} has multiplicity {count}"
            );
            if count == 1 {
                assert!(
                    table.insert(key.clone(), row).is_none(),
                    "{topic}: two rows for {key}"
                );
            }
        }
        if !table.is_empty() {
            tables.insert(topic.to_string(), table);
        }
    }
    tables
}

fn good_updates(records: &[Record]) -> Vec<&Update> {
    records.iter().filter_map(Record::update).collect()
}

/// The oracle's tables after every record, good and bad, with the SPEC's alert thresholds (the
/// job's defaults); `data_quality` names the input topics as the job read them, prefixed.
fn expected(prefix: &str, records: &[Record]) -> Tables {
    let mut state = State::default().topic_prefix(prefix);
    for record in records {
        record.feed(&mut state);
    }
    state.tables()
}

fn assert_tables_eq(expected: &Tables, actual: &Tables) {
    for topic in TOPICS {
        assert_eq!(
            expected.get(topic),
            actual.get(topic),
            "table {topic} differs from the oracle"
        );
    }
}

fn start_cluster(prefix: &str) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("the mock cluster starts");
    for topic in InputTopic::ALL {
        cluster
            .create_topic(&format!("{prefix}{}", topic.default_name()), PARTITIONS, 1)
            .expect("an input topic");
    }
    // The mock has no CreateTopics request: make the outputs as an operator would beforehand.
    for topic in TOPICS.iter().chain(&["dead_letters"]) {
        cluster
            .create_topic(&format!("{prefix}{topic}"), PARTITIONS, 1)
            .expect("an output topic");
    }
    cluster
        .create_topic(&format!("{prefix}salesflow_progress"), 1, 1)
        .expect("the progress topic");
    cluster
}

#[test]
fn a_bounded_run_on_the_embedded_broker_matches_the_oracle() {
    let prefix = "embedded.";
    let cluster = start_cluster(prefix);
    let bootstrap = cluster.bootstrap_servers();
    let records = records(7);
    produce(&bootstrap, prefix, &records);

    let summary = run_job(&bootstrap, prefix, "upsert");

    let bad = records.len() - good_updates(&records).len();
    let dead_lettered: u64 = summary.counts.values().map(|c| c.dead_lettered).sum();
    let consumed: u64 = summary.counts.values().map(|c| c.consumed).sum();
    assert_eq!(consumed as usize, records.len(), "every record is consumed");
    assert_eq!(
        dead_lettered as usize, bad,
        "every bad record, and only those, is dead-lettered"
    );
    assert_eq!(
        read_all(&bootstrap, &format!("{prefix}dead_letters")).len(),
        bad
    );
    assert_tables_eq(
        &expected(prefix, &records),
        &fold(&bootstrap, prefix, "upsert"),
    );
}

#[test]
fn a_restarted_run_over_more_input_gives_the_tables_of_one_run_over_all() {
    for envelope in ["upsert", "diff"] {
        let prefix = format!("restart-{envelope}.");
        let cluster = start_cluster(&prefix);
        let bootstrap = cluster.bootstrap_servers();
        let records = records(11);
        let (first, second) = records.split_at(records.len() / 2);
        produce(&bootstrap, &prefix, first);
        run_job(&bootstrap, &prefix, envelope);
        assert_tables_eq(
            &expected(&prefix, first),
            &fold(&bootstrap, &prefix, envelope),
        );

        produce(&bootstrap, &prefix, second);
        run_job(&bootstrap, &prefix, envelope);
        assert_tables_eq(
            &expected(&prefix, &records),
            &fold(&bootstrap, &prefix, envelope),
        );
    }
}

#[test]
fn a_running_job_writes_progress_as_it_goes_and_stops_cleanly() {
    let prefix = "streaming.";
    let cluster = start_cluster(prefix);
    let bootstrap = cluster.bootstrap_servers();
    let records = records(5);
    let (first, second) = records.split_at(records.len() / 2);
    produce(&bootstrap, prefix, first);

    let stop = Arc::new(AtomicBool::new(false));
    let job = {
        let (config, stop) = (
            job_config(&bootstrap, prefix, "upsert", false),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || runtime::run(config, stop))
    };
    let wait_for = |count: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while progress_covers(&bootstrap, prefix) < count as i64 {
            assert!(
                std::time::Instant::now() < deadline,
                "progress never covered {count} input records"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(first.len());
    assert_tables_eq(
        &expected(prefix, first),
        &fold(&bootstrap, prefix, "upsert"),
    );

    produce(&bootstrap, prefix, second);
    wait_for(records.len());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    job.join()
        .expect("the job thread")
        .expect("the job stops cleanly");
    assert_tables_eq(
        &expected(prefix, &records),
        &fold(&bootstrap, prefix, "upsert"),
    );
}

#[test]
fn a_stop_during_a_restarts_replay_waits_for_it_and_loses_nothing() {
    let prefix = "stop-in-replay.";
    let cluster = start_cluster(prefix);
    let bootstrap = cluster.bootstrap_servers();
    let records = records(13);
    let (first, second) = records.split_at(records.len() / 2);
    produce(&bootstrap, prefix, first);
    run_job(&bootstrap, prefix, "diff");
    produce(&bootstrap, prefix, second);

    // Asked to stop before it starts: the first instant after the resume time is a change from
    // the whole replayed state, so the restart still replays everything bound to that time.
    let stopped = runtime::run(
        job_config(&bootstrap, prefix, "diff", false),
        Arc::new(AtomicBool::new(true)),
    )
    .expect("the job stops cleanly");
    let consumed: u64 = stopped.counts.values().map(|c| c.consumed).sum();
    assert!(
        consumed as usize >= first.len(),
        "the stop cut the replay short: {consumed} of {} bound records read",
        first.len()
    );

    run_job(&bootstrap, prefix, "diff");
    assert_tables_eq(
        &expected(prefix, &records),
        &fold(&bootstrap, prefix, "diff"),
    );
}
