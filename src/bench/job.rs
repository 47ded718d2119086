//! salesflow itself as a benchmarked engine: `--processes` child processes of this binary, each
//! started as a cluster process would be (same flags, peers on loopback ports).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::config::Delivery;

/// The log line each worker writes when it has its input partitions and starts reading.
pub const MARKER: &str = "assigned";

/// How to run the job.
#[derive(Clone, Debug)]
pub struct JobLayout {
    pub binary: PathBuf,
    pub bootstrap: String,
    pub topic_prefix: String,
    pub job: String,
    pub workers: usize,
    pub processes: usize,
    pub delivery: Delivery,
    pub epoch_ms: u64,
    /// `--analyses`: all, or the ones a peer computes too.
    pub analyses: String,
    /// Read to the end offsets seen at start and exit, or run until stopped.
    pub bounded: bool,
}

/// One command per process, in process order.
pub fn commands(layout: &JobLayout) -> anyhow::Result<Vec<Command>> {
    let peers = if layout.processes > 1 {
        free_ports(layout.processes)?
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        String::new()
    };
    Ok((0..layout.processes)
        .map(|process| {
            let mut command = Command::new(&layout.binary);
            command
                .arg("run")
                .args(["--brokers", &layout.bootstrap])
                .args(["--topic-prefix", &layout.topic_prefix])
                .args(["--job", &layout.job])
                .args(["--workers", &layout.workers.to_string()])
                .args(["--delivery", delivery_flag(layout.delivery)])
                .args(["--epoch-ms", &layout.epoch_ms.to_string()])
                .args(["--analyses", &layout.analyses])
                // The environment of the bench must not change what is measured.
                .env_remove("SALESFLOW_HTTP_ADDR");
            if layout.bounded {
                command.arg("--bounded");
            }
            if layout.processes > 1 {
                command
                    .args(["--processes", &layout.processes.to_string()])
                    .args(["--process", &process.to_string()])
                    .args(["--peers", &peers]);
            }
            command
        })
        .collect())
}

fn delivery_flag(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::ExactlyOnce => "exactly-once",
        Delivery::AtLeastOnce => "at-least-once",
    }
}

/// Ports free on loopback now (the processes bind them a moment later).
fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot find free loopback ports for the processes")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// This binary, which `bench` starts as the job.
pub fn this_binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find the salesflow binary to start as the job")
}

/// The log file of one process of a run.
pub fn log_path(dir: &Path, run: &str, process: usize) -> PathBuf {
    dir.join(format!("{run}-{process}.log"))
}
