//! The engines a benchmark compares, each run as child processes and measured alike: the wall
//! clock moment the engine says it starts reading (a line in its log), its CPU seconds and peak
//! memory from the kernel (`wait4`), and its log kept in a file.
//!
//! ```text
//!  bench ──spawn──> engine process(es) ──stdout+stderr──> watcher thread ──> log file
//!                                                            └─ first "starts reading" line: time
//!  bench <──wait4: exit status, CPU time, peak RSS──┘
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

/// What the kernel counted for one finished process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub cpu: Duration,
    pub peak_rss_bytes: u64,
}

impl Usage {
    /// Several processes of one engine: their CPU adds up, and so do their peaks (an upper
    /// bound of the memory they held at once).
    pub fn add(&mut self, other: Usage) {
        self.cpu += other.cpu;
        self.peak_rss_bytes += other.peak_rss_bytes;
    }
}

/// A finished engine process: how it ended, what it used, when it started reading, its log's end.
pub struct Finished {
    pub status: ExitStatus,
    pub usage: Usage,
    pub reading_since: Option<SystemTime>,
    pub log_tail: String,
}

/// A running engine process.
pub struct Running {
    name: String,
    child: Child,
    log: PathBuf,
    reading_since: Arc<Mutex<Option<SystemTime>>>,
    watchers: Vec<JoinHandle<()>>,
}

/// Starts `command`, writing its output to `log` and noting when a line containing `marker` (the
/// engine's "I start reading input") first appears.
pub fn spawn(
    name: &str,
    mut command: Command,
    log: &Path,
    marker: &'static str,
) -> anyhow::Result<Running> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {name}: {command:?}"))?;
    let file = Arc::new(Mutex::new(
        std::fs::File::create(log).with_context(|| format!("cannot write {}", log.display()))?,
    ));
    let reading_since = Arc::new(Mutex::new(None));
    let mut watchers = Vec::new();
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let (file, seen) = (Arc::clone(&file), Arc::clone(&reading_since));
        watchers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if line.contains(marker) {
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert_with(SystemTime::now);
                }
                let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                // A log line that cannot be kept is no reason to stop the engine.
                let _ = writeln!(file, "{line}");
            }
        }));
    }
    Ok(Running {
        name: name.to_string(),
        child,
        log: log.to_path_buf(),
        reading_since,
        watchers,
    })
}

impl Running {
    /// When the engine said it starts reading, if it has.
    pub fn reading_since(&self) -> Option<SystemTime> {
        *self.reading_since.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(3_000);
        let cut = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        format!(
            "{} (log {}):\n{}",
            self.name,
            self.log.display(),
            &text[cut..]
        )
    }

    /// Whether it still runs (without reaping it).
    pub fn running(&self) -> bool {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with WNOWAIT only inspects the child's state; `info` is a valid buffer.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid is set by waitid when a child has changed state, and 0 otherwise.
        result == 0 && unsafe { info.si_pid() } == 0
    }

    /// Asks it to stop (SIGTERM) and waits up to `grace` before killing it.
    pub fn stop(self, grace: Duration) -> anyhow::Result<Finished> {
        // SAFETY: kill sends a signal to our own, not yet reaped, child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while self.running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.running() {
            // SAFETY: as above; the child is still ours and unreaped.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
        }
        self.wait()
    }

    /// Waits until it exits; returns how it ended and what it used.
    pub fn wait(mut self) -> anyhow::Result<Finished> {
        let pid = self.child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 reaps our own child and fills the two buffers it is given.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        anyhow::ensure!(
            reaped == pid,
            "waiting for {} failed: {}",
            self.name,
            std::io::Error::last_os_error()
        );
        for watcher in std::mem::take(&mut self.watchers) {
            // The watchers end with the process's output; a panicked one only lost log lines.
            let _ = watcher.join();
        }
        let seconds = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        let used = Usage {
            cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            // Linux counts ru_maxrss in KiB.
            peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        };
        let log_tail = self.log_tail();
        Ok(Finished {
            status: std::os::unix::process::ExitStatusExt::from_raw(status),
            usage: used,
            reading_since: self.reading_since(),
            log_tail,
        })
    }
}
