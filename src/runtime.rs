//! `salesflow run`: brokers and topics, the timely workers, their read-step loop, and shutdown.
//!
//! ```text
//!  main thread: embedded broker? ─ topics ─ input partitions & end offsets ─┐
//!  worker i:    Reader(partitions i mod N) ─decode─> Inputs @epoch ─> analyses ─> sink ─> Kafka
//!                        └─ bad record ─> dead letter ────────────────────────────┘
//! ```
//! The logical time is wall-clock milliseconds, rounded down to `--epoch-ms`; this module holds
//! the job's only clock. Each worker closes an epoch when the clock passes it, and a time is
//! complete once every worker has closed it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use differential_dataflow::AsCollection;
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::Input;
use tracing::{info, warn};

use crate::codecs::dead_letter::dead_letter;
use crate::config::{Config, Envelope};
use crate::dashboard::Dashboard;
use crate::http::Endpoints;
use crate::inputs::{Inputs, Time};
use crate::intake::{Intake, TopicCounts};
use crate::kafka::{
    Embedded, Kafka, KafkaSetupError, TopicSpec, end_offsets, ensure_topics,
    warn_if_retention_deletes,
};
use crate::metrics::Metrics;
use crate::model::{Diff, InputTopic};
use crate::outputs::{EncodedRow, OutputTopic};
use crate::progress::{InputPosition, Progress, last_progress};
use crate::repair::{PastProgress, written_after};
use crate::sink::{Fault, SinkConfig, WriterChannels, sink};
use crate::snapshot::tables_at;
use crate::source::{PartitionAssignment, Reader, assign};
use crate::writer::{Writer, WriterConfig, WriterThread};

/// The topic progress records go to.
pub const PROGRESS_TOPIC: &str = "salesflow_progress";

/// At most this many records are read between two steps of the dataflow, so output keeps flowing
/// while a large backlog is read.
const READ_BATCH: usize = 4_096;

/// How far, in logical time, reading may run ahead of the output committed to Kafka.
const MAX_AHEAD: Duration = Duration::from_secs(5);

/// A restart replays in steps of `--replay-step-records`, each at its own logical time: a step's
/// updates are sorted and merged into the arrangements while the next is read, instead of every
/// replayed record waiting in the batchers for one instant that holds them all. The steps are
/// the milliseconds before the resume time, from this far before it; a replay with more steps
/// than that does its last ones at the resume time itself.
const REPLAY_SPAN_MS: Time = 1_000_000;

/// A log line every this many records per worker.
const LOG_EVERY: u64 = 1_000_000;

/// Counts per input topic, over all workers.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub counts: HashMap<InputTopic, TopicCounts>,
}

/// Runs the job until the inputs are read (`--bounded`) or `stop` is set.
pub fn run(config: Config, stop: Arc<AtomicBool>) -> anyhow::Result<Summary> {
    match run_job(config, stop) {
        // SIGINT/SIGTERM while the broker was still being waited for: nothing started, a clean stop.
        Err(error)
            if matches!(
                error.root_cause().downcast_ref(),
                Some(KafkaSetupError::Stopped)
            ) || matches!(
                error.root_cause().downcast_ref(),
                Some(crate::cluster::ClusterError::Stopped)
            ) =>
        {
            info!("stopped before the broker answered");
            Ok(Summary::default())
        }
        result => result,
    }
}

fn run_job(config: Config, stop: Arc<AtomicBool>) -> anyhow::Result<Summary> {
    // Only the process of worker 0 writes.
    let writes = config.cluster.as_ref().is_none_or(|c| c.process == 0);
    // Probes answer from the start: live while the broker and the peers are waited for.
    let metrics = Metrics::new(config.workers);
    let dashboard = match &config.http_addr {
        Some(addr) => {
            let dashboard = Dashboard::new(config.envelope, Arc::clone(&metrics), writes);
            let endpoints = Endpoints {
                metrics: Arc::clone(&metrics),
                dashboard: Arc::clone(&dashboard),
            };
            crate::http::serve(addr, endpoints, Arc::clone(&stop))?;
            Some(dashboard)
        }
        None => None,
    };
    // The embedded broker is not Send: it lives on this thread until the workers are done.
    let embedded = match &config.brokers {
        Some(_) => None,
        None => Some(Embedded::start().context("while starting the embedded broker")?),
    };
    let kafka = Kafka {
        bootstrap: config
            .brokers
            .clone()
            .or_else(|| embedded.as_ref().map(Embedded::bootstrap))
            .unwrap_or_default(),
        properties: config.kafka_properties.clone(),
    };
    match &embedded {
        Some(broker) => {
            info!(
                brokers = kafka.bootstrap,
                "embedded broker started; it keeps data in memory while the job runs"
            );
            create_embedded_topics(broker, &config)?;
        }
        None => {
            info!(brokers = kafka.describe(), "connecting");
            ensure_topics(&kafka, &output_topics(&config), &stop)
                .context("while creating the output topics")?;
        }
    }
    // The writing process registers the transactional id before reading where to resume: that
    // ends any transaction a killed instance left open, so the progress read next is final, and
    // it fences an older instance that still runs.
    let topics: HashMap<OutputTopic, String> = OutputTopic::ANALYSES
        .iter()
        .chain([&OutputTopic::DeadLetters])
        .map(|t| (*t, config.output_topic(t.name())))
        .collect();
    let writer = if writes {
        let writer_config = WriterConfig {
            kafka: kafka.clone(),
            job: config.job.clone(),
            transactional_id: config.transactional_id(),
            delivery: config.delivery,
            topics: topics.clone(),
            progress_topic: config.output_topic(PROGRESS_TOPIC),
            metrics: Arc::clone(&metrics),
            dashboard: dashboard.clone(),
        };
        Some(
            Writer::connect(writer_config, &stop)
                .context("while connecting the output producer")?,
        )
    } else {
        None
    };
    let resume = resume_point(&kafka, &config, &stop)?;
    let (partitions, retention_check) = input_partitions(&kafka, &config, resume.as_ref(), &stop)?;
    // The writing process knows what is committed: it feeds the dashboard and measures lag.
    if let (Some(dashboard), true) = (&dashboard, writes) {
        if let Some(progress) = &resume {
            restore_dashboard(dashboard, &kafka, &config, progress)?;
        }
        let watched = partitions
            .iter()
            .map(|p| (p.name.clone(), p.partition))
            .collect();
        crate::lag::watch(
            &kafka,
            &config.job,
            watched,
            Arc::clone(&metrics),
            Arc::clone(&stop),
        )?;
    }
    info!(
        partitions = partitions.len(),
        workers = config.workers,
        bounded = config.bounded,
        "starting workers"
    );

    // Committed output past the last progress exists only after a run without transactions.
    let written_after_resume = match &resume {
        Some(progress) => {
            let written = written_after(&kafka, &topics, config.envelope, progress)?;
            if !written.is_empty() {
                info!(
                    keys = written.len(),
                    "the last run wrote past its last progress; those keys are set back at the resume time"
                );
            }
            written
        }
        None => PastProgress::new(),
    };
    let fault: Fault = Arc::new(Mutex::new(None));
    let worker_fault = Arc::clone(&fault);
    let sink_config = SinkConfig {
        envelope: config.envelope,
        resume_time: resume.as_ref().map(|r| r.time),
        written_after_resume: Arc::new(written_after_resume),
    };
    let writer = writer
        .map(|w| w.spawn(resume.clone(), Arc::clone(&stop), Arc::clone(&fault)))
        .transpose()?;
    let (channels, writer_thread) = match writer {
        Some(WriterThread {
            epochs,
            committed,
            handle,
        }) => (Some(WriterChannels { epochs, committed }), Some(handle)),
        None => (None, None),
    };
    // Worker 0 takes the writer's ends; the closure below runs once per worker.
    let channels = Mutex::new(channels);
    let resume_time = resume.as_ref().map(|r| r.time);
    // The sink writes nothing of the replay unless it repairs some key: then skip encoding it.
    let replay_unwritten = resume_time.filter(|_| sink_config.written_after_resume.is_empty());
    let config = Arc::new(config);
    let worker_config = Arc::clone(&config);
    let worker_stop = Arc::clone(&stop);
    let worker_metrics = Arc::clone(&metrics);
    let work = move |worker: &mut timely::worker::Worker| {
        let stop = &worker_stop;
        let metrics = &worker_metrics;
        let (index, peers) = (worker.index(), worker.peers());
        let config = &worker_config;
        let mut inputs = Inputs::new();
        let mut dead_letters = InputHandleVec::<Time, (EncodedRow, Time, Diff)>::new();
        let mut positions = InputHandleVec::<Time, InputPosition>::new();
        let analysis = config.analysis.clone();
        let input_names = InputTopic::ALL.map(|topic| config.input_topic(topic));
        let writer = match index {
            0 => channels
                .lock()
                .map_err(|_| "writer channels poisoned")?
                .take(),
            _ => None,
        };
        // Only `/metrics` shows arrangement sizes, and counting them costs a little.
        if config.http_addr.is_some() {
            crate::arrangement_sizes::watch(worker, metrics);
        }
        let committed = worker.dataflow::<Time, _, _>(|scope| {
            let rows = inputs
                .encoded_outputs(scope, &analysis, &input_names, replay_unwritten)
                .concat(scope.input_from(&mut dead_letters).as_collection());
            sink(
                rows,
                scope.input_from(&mut positions),
                sink_config.clone(),
                writer,
                Arc::clone(&worker_fault),
            )
        });

        let mine = assign(&partitions, index, peers);
        info!(worker = index, partitions = ?mine.iter().map(|p| format!("{}/{}", p.name, p.partition)).collect::<Vec<_>>(), "assigned");
        let mut reader = Reader::new(&kafka, &config.job, mine).map_err(|e| e.to_string())?;
        let mut intake = Intake::new(config.decode.clone());
        let mut consumed: u64 = 0;
        let mut restored = false;
        // A restart first replays the records bound to the resume time, in steps at times up to
        // it (the sink writes none of their changes); records beyond the binding get the first
        // new epoch, which is always later.
        let first_epoch = epoch_of(now_ms(), config.epoch)
            .max(resume_time.map_or(0, |t| t + config.epoch.as_millis() as Time));
        let mut replaying = resume_time.is_some();
        let mut epoch = resume_time.map_or(first_epoch, |t| t.saturating_sub(REPLAY_SPAN_MS));
        let mut replay_step_from: u64 = 0;
        let advance = |inputs: &mut Inputs,
                       dead: &mut InputHandleVec<Time, _>,
                       pos: &mut InputHandleVec<Time, InputPosition>,
                       t| {
            inputs.advance_to(t);
            dead.advance_to(t);
            pos.advance_to(t);
        };
        advance(&mut inputs, &mut dead_letters, &mut positions, epoch);
        let count_inputs = |flushed: Vec<(InputTopic, TopicCounts)>| {
            for (topic, counts) in flushed {
                metrics.count_input(
                    &input_names[topic as usize],
                    counts.consumed,
                    counts.applied,
                    counts.dead_lettered,
                );
            }
        };
        // Whether records past the binding were read since their positions were last sent.
        let mut unsent_positions = false;
        let mut stop_announced = false;
        loop {
            // Reading waits while output more than MAX_AHEAD behind is still uncommitted, so a
            // slow broker holds the job back instead of filling its memory.
            let behind = committed.less_than(&epoch.saturating_sub(MAX_AHEAD.as_millis() as Time));
            let batch = if behind { 0 } else { READ_BATCH };
            let read = reader
                .poll(batch, Duration::ZERO, |record| {
                    let time = if record.bound { epoch } else { first_epoch.max(epoch) };
                    unsent_positions |= !record.bound;
                    consumed += 1;
                    if consumed.is_multiple_of(LOG_EVERY) {
                        info!(worker = index, consumed, "reading");
                    }
                    if let Err(error) = intake.take(&mut inputs, record.topic, record.key, record.value, time) {
                        if !record.bound {
                            warn!(topic = record.topic_name, partition = record.partition, offset = record.offset, %error, "bad input record dead-lettered");
                        }
                        let (key, value) = dead_letter(record.topic_name, record.partition, record.offset, record.key, &error.message, record.value);
                        dead_letters.send(((OutputTopic::DeadLetters, key, value), time, 1));
                    }
                })
                .map_err(|e| e.to_string())?;
            if !restored && reader.caught_up() {
                restored = true;
                info!(
                    worker = index,
                    "restore done: read every input up to its end at start"
                );
                metrics.worker_restored();
            }
            let finished = config.bounded && restored;
            if let (true, Some(resume)) = (replaying, resume_time) {
                let done = reader.replayed();
                if done || (consumed - replay_step_from >= config.replay_step && epoch < resume) {
                    count_inputs(intake.flush(&mut inputs));
                    epoch = if done { resume } else { epoch + 1 };
                    advance(&mut inputs, &mut dead_letters, &mut positions, epoch);
                    replay_step_from = consumed;
                }
                if done {
                    replaying = false;
                    info!(
                        worker = index,
                        resumed_at = epoch,
                        "replay done: state rebuilt as of the last progress"
                    );
                }
            }
            // A stop waits for the replay to end: the first output after the resume time is the
            // change from the whole replayed state, and a part of it would make it wrong. A fault
            // writes nothing more, so it stops at once.
            let faulted = worker_fault.lock().map(|f| f.is_some()).unwrap_or(true);
            let stop_asked = stop.load(Ordering::Relaxed);
            if stop_asked && replaying && !stop_announced {
                stop_announced = true;
                info!(worker = index, "stopping once the replay is done");
            }
            let stopping = faulted || (stop_asked && !replaying);
            let now = epoch_of(now_ms(), config.epoch);
            // While replaying, time moves only by replay steps, unless the job is done or stopping.
            let closes = (!replaying && now > epoch) || stopping || finished;
            if closes {
                count_inputs(intake.flush(&mut inputs));
                if unsent_positions {
                    // Positions bind the records read before them to the time they are sent
                    // at, so they go at the time of the latest of those records. Records read
                    // past the binding during the replay carry `first_epoch`: sent at the resume
                    // time, their positions would be committed with another worker's earlier
                    // first instant, before their own output is written.
                    if epoch < first_epoch {
                        epoch = first_epoch;
                        advance(&mut inputs, &mut dead_letters, &mut positions, epoch);
                    }
                    for position in reader.positions() {
                        positions.send(position);
                    }
                    unsent_positions = false;
                }
                if stopping || finished {
                    break;
                }
                epoch = now.max(first_epoch);
                advance(&mut inputs, &mut dead_letters, &mut positions, epoch);
            }
            // Park briefly when there was nothing to read, so an idle job does not spin.
            worker.step_or_park(Some(if read == 0 {
                Duration::from_millis(2)
            } else {
                Duration::ZERO
            }));
        }
        // A sink fault holds its time open for good, and timely steps a worker until its
        // dataflows complete: on a fault, drop them instead of draining them. The writer may
        // fail while the last instants drain (a stop while it waits on the broker), so the
        // drain looks too.
        let faulted = |worker: &mut timely::worker::Worker| {
            let fault = worker_fault.lock().ok().and_then(|f| f.clone())?;
            for dataflow in worker.installed_dataflows() {
                worker.drop_dataflow(dataflow);
            }
            Some(fault)
        };
        if let Some(fault) = faulted(worker) {
            return Err(fault);
        }
        // Close the inputs and let every started instant finish and flush.
        drop((inputs, dead_letters, positions));
        while worker.step_or_park(Some(Duration::from_millis(10))) {
            if let Some(fault) = faulted(worker) {
                return Err(fault);
            }
        }
        info!(worker = index, "stopped");
        Ok::<_, String>(intake.totals().clone())
    };
    let (guards, traffic) = match &config.cluster {
        None => (
            timely::execute(timely::Config::process(config.workers), work),
            None,
        ),
        Some(cluster) => {
            let connected = crate::cluster::connect(cluster, config.workers, &stop)?;
            crate::cluster::exit_when_a_peer_is_lost();
            let worker_config = timely::WorkerConfig::default();
            let guards = timely::execute::execute_from(
                connected.builders,
                connected.guard,
                worker_config,
                work,
            );
            (guards, Some(connected.traffic))
        }
    };
    let guards = guards.map_err(|e| anyhow::anyhow!("cannot start the workers: {e}"))?;

    let results = guards.join();
    // The workers are done and the writer's channel closed: it ends after its last commit.
    if let Some(handle) = writer_thread {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("the output writer panicked"))?;
    }
    let mut summary = Summary::default();
    for result in results {
        let counts = result
            .map_err(|e| anyhow::anyhow!("a worker failed: {e}"))?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (topic, c) in counts {
            summary.counts.entry(topic).or_default().add(&c);
        }
    }
    if let Some(check) = retention_check {
        check
            .join()
            .map_err(|_| anyhow::anyhow!("the retention check panicked"))?;
    }
    drop(embedded);
    if let Some(traffic) = traffic {
        let consumed: u64 = summary.counts.values().map(|c| c.consumed).sum();
        // Summed over every process, the sent bytes are all the traffic of the cluster.
        info!(
            sent_bytes = traffic.sent.load(Ordering::Relaxed),
            received_bytes = traffic.received.load(Ordering::Relaxed),
            consumed,
            "exchanged with the other processes"
        );
    }
    for (topic, c) in &summary.counts {
        info!(
            topic = config.input_topic(*topic),
            consumed = c.consumed,
            applied = c.applied,
            dead_lettered = c.dead_lettered,
            "input summary"
        );
    }
    if let Some(message) = fault
        .lock()
        .map_err(|_| anyhow::anyhow!("fault lock poisoned"))?
        .take()
    {
        bail!(message);
    }
    Ok(summary)
}

/// The output up to the resume point was committed by an earlier run: the dashboard starts from
/// it, and this run's instants build on it.
fn restore_dashboard(
    dashboard: &Dashboard,
    kafka: &Kafka,
    config: &Config,
    progress: &Progress,
) -> anyhow::Result<()> {
    let shown: Vec<(OutputTopic, String)> = crate::dashboard::SHOWN
        .iter()
        .map(|t| (*t, config.output_topic(t.name())))
        .collect();
    let tables = tables_at(kafka, &shown, config.envelope, progress)
        .context("while reading the output the dashboard starts from")?;
    dashboard.restore(tables, progress.time);
    Ok(())
}

/// Every topic the job reads or writes, made on the embedded broker (it has no CreateTopics).
pub fn create_embedded_topics(broker: &Embedded, config: &Config) -> anyhow::Result<()> {
    let inputs = InputTopic::ALL.map(|t| TopicSpec {
        name: config.input_topic(t),
        partitions: 4,
        compacted: true,
    });
    for topic in inputs.iter().chain(&output_topics(config)) {
        broker.create_topic(topic)?;
    }
    Ok(())
}

/// Output topics (compacted for the upsert envelope, where the latest value per key is the row),
/// dead letters and progress.
pub fn output_topics(config: &Config) -> Vec<TopicSpec> {
    let compacted = config.envelope == Envelope::Upsert;
    let mut topics: Vec<TopicSpec> = OutputTopic::ANALYSES
        .iter()
        .map(|t| TopicSpec {
            name: config.output_topic(t.name()),
            partitions: config.output_partitions,
            compacted,
        })
        .collect();
    topics.push(TopicSpec {
        name: config.output_topic("dead_letters"),
        partitions: config.output_partitions,
        compacted: false,
    });
    topics.push(TopicSpec {
        name: config.output_topic(PROGRESS_TOPIC),
        partitions: 1,
        compacted: true,
    });
    topics
}

/// The last progress this job wrote, if any: where a restart resumes.
fn resume_point(
    kafka: &Kafka,
    config: &Config,
    stop: &AtomicBool,
) -> anyhow::Result<Option<Progress>> {
    let topic = config.output_topic(PROGRESS_TOPIC);
    // A topic created a moment ago may not have a leader yet: wait until its offsets answer.
    end_offsets(
        &kafka.consumer(&config.job)?,
        &kafka.bootstrap,
        &topic,
        stop,
    )?;
    let resume = last_progress(kafka, &topic, &config.job, stop)?;
    if let Some(progress) = &resume {
        info!(time = progress.time, "resuming after the last progress");
    }
    Ok(resume)
}

/// Every partition of every input topic, with its end offset now; and the check of their
/// retention, which runs meanwhile.
fn input_partitions(
    kafka: &Kafka,
    config: &Config,
    resume: Option<&Progress>,
    stop: &AtomicBool,
) -> anyhow::Result<(Vec<PartitionAssignment>, Option<JoinHandle<()>>)> {
    let consumer = kafka.consumer(&config.job)?;
    let mut all = Vec::new();
    let mut existing = Vec::new();
    for topic in InputTopic::ALL {
        let name = config.input_topic(topic);
        match end_offsets(&consumer, &kafka.bootstrap, &name, stop)? {
            Some(ends) => {
                if let Some(cut) = ends.iter().find(|w| w.start > 0) {
                    bail!(
                        "input topic {name} partition {} starts at offset {}: the records before it were deleted, so the job cannot rebuild its state from it. Input topics must be compacted (cleanup.policy=compact) or keep every record (retention.ms=-1); reload the topic and start again",
                        cut.partition,
                        cut.start
                    );
                }
                existing.push(name.clone());
                all.extend(ends.into_iter().map(|w| PartitionAssignment {
                    topic,
                    name: name.clone(),
                    partition: w.partition,
                    end_at_start: w.end,
                    bound_until: resume.map_or(0, |r| r.input_offset(&name, w.partition)),
                }))
            }
            None => warn!(
                topic = name,
                "input topic does not exist; it is read as empty (check --topic-prefix and the --*-topic flags)"
            ),
        }
    }
    // The embedded broker keeps everything and describes no configuration. The check only
    // warns, so it does not hold up the start (an admin client takes ~0.2 s to ask and close).
    let retention_check = (config.brokers.is_some() && !config.brokers_embedded).then(|| {
        let kafka = kafka.clone();
        std::thread::spawn(move || warn_if_retention_deletes(&kafka, &existing))
    });
    Ok((all, retention_check))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn epoch_of(ms: u64, epoch: Duration) -> Time {
    let width = epoch.as_millis().max(1) as u64;
    ms - ms % width
}
