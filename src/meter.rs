//! Progress of a long bounded run: a progress bar (done, rate, ETA) when stderr is a terminal,
//! a plain log line every few seconds when it is not (CI logs, files, pipes).
//!
//! ```text
//!   the work ──increments──> Arc<AtomicU64> <──reads every 100 ms── meter thread ──> bar | log line
//! ```
//!
//! The work only bumps a shared counter, so it pays one relaxed atomic add per item and never
//! waits for the display.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tracing::info;

/// Shows a counter's progress until dropped.
pub struct Meter {
    finished: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often the log line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

impl Meter {
    /// Starts showing `done` (of `total`, when known) as `what` (e.g. "records").
    pub fn start(what: &'static str, total: Option<u64>, done: Arc<AtomicU64>) -> Meter {
        let finished = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&finished);
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::Builder::new()
            .name("meter".into())
            .spawn(move || match terminal {
                true => show_bar(what, total, &done, &stop),
                false => log_lines(what, total, &done, &stop),
            })
            .ok();
        Meter { finished, thread }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The rate as a whole number per second (indicatif's own `{per_sec}` shows four decimals).
fn whole_rate(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{:.0}/s", state.per_sec());
}

fn show_bar(what: &str, total: Option<u64>, done: &AtomicU64, stop: &AtomicBool) {
    let style = |template: &str, fallback: ProgressStyle| {
        ProgressStyle::with_template(template)
            .unwrap_or(fallback)
            .with_key("rate", whole_rate)
    };
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style(
                "{bar:40} {human_pos}/{human_len} {msg} ({rate}, ETA {eta})",
                ProgressStyle::default_bar(),
            )),
        None => ProgressBar::new_spinner().with_style(style(
            "{spinner} {human_pos} {msg} ({rate})",
            ProgressStyle::default_spinner(),
        )),
    };
    bar.set_message(what.to_string());
    while !stop.load(Ordering::Relaxed) {
        bar.set_position(done.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.set_position(done.load(Ordering::Relaxed));
    bar.finish();
}

fn log_lines(what: &str, total: Option<u64>, done: &AtomicU64, stop: &AtomicBool) {
    let started = Instant::now();
    let mut next = LOG_EVERY;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() < next {
            continue;
        }
        next += LOG_EVERY;
        let count = done.load(Ordering::Relaxed);
        let per_second = count as f64 / started.elapsed().as_secs_f64();
        let eta_s = total
            .filter(|_| per_second > 0.0)
            .map(|total| (total.saturating_sub(count) as f64 / per_second).round() as u64);
        info!(
            what,
            done = count,
            total,
            per_second = per_second.round() as u64,
            eta_s,
            "progress"
        );
    }
}
