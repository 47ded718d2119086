//! Where log lines go: stderr, filtered by `SALESFLOW_LOG` (default: the command's level), and
//! throttled so that a line repeated many times a second shows only a few times a minute.
//!
//! While a broker is down, librdkafka reports every failed connection attempt of every client,
//! and the reader every failed poll: hundreds of identical lines in ten seconds. A line counts as
//! repeated when its level, target, message and fields are all the same, so distinct lines (each
//! dead-lettered record names its offset) are never held back.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use tracing::Subscriber;
use tracing_subscriber::layer::{Layer, Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt};
use tracing_throttle::{Policy, TracingRateLimitLayer};

/// How many times a line may repeat in `REPEAT_WINDOW` before the rest are dropped.
const REPEATS: usize = 5;
const REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// Installs the process's log output; `default_level` applies unless `SALESFLOW_LOG` is set.
pub fn init(default_level: &str) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_env("SALESFLOW_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let output = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    subscriber(filter, output)?
        .try_init()
        .context("while installing the log output")
}

/// `output` behind the level filter, with repeated lines held back.
///
/// The level filter is global, in front of the throttle: events below the level are then never
/// built (nor `log` records turned into events), so the throttle sees only lines that will show.
/// Behind it, the throttle would enable every callsite and keep a signature per trace line of
/// every library: that doubled the time of a bounded run over 1.72M records.
fn subscriber<L>(filter: EnvFilter, output: L) -> anyhow::Result<impl Subscriber + Send + Sync>
where
    L: Layer<Layered<EnvFilter, Registry>> + Send + Sync,
{
    let throttle = TracingRateLimitLayer::builder()
        .with_policy(Policy::time_window(REPEATS, REPEAT_WINDOW)?)
        .build()?;
    Ok(tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(throttle)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing::level_filters::LevelFilter;
    use tracing::{Level, warn};

    use super::*;

    /// Collects what the layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_repeated_line_shows_a_few_times_and_distinct_lines_all_show() {
        let captured = Captured::default();
        let writer = captured.clone();
        let output = fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let subscriber = subscriber(EnvFilter::new("info"), output).expect("a valid policy");
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                warn!(
                    error = "AllBrokersDown",
                    "input broker trouble; librdkafka retries"
                );
            }
            for offset in 0..20 {
                warn!(offset, "bad input record dead-lettered");
            }
        });
        let text = String::from_utf8(captured.0.lock().expect("not poisoned").clone())
            .expect("log output is UTF-8");
        assert_eq!(text.matches("input broker trouble").count(), REPEATS);
        for offset in 0..20 {
            assert!(
                text.contains(&format!("offset={offset}\n")),
                "the line of offset {offset} is missing:\n{text}"
            );
        }
    }

    #[test]
    fn lines_below_the_level_are_disabled_before_the_throttle_sees_them() {
        let subscriber = subscriber(
            EnvFilter::new("info"),
            fmt::layer().with_writer(std::io::sink),
        )
        .expect("a valid policy");
        assert_eq!(subscriber.max_level_hint(), Some(LevelFilter::INFO));
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(Level::INFO));
            assert!(!tracing::enabled!(Level::DEBUG));
            assert!(!tracing::enabled!(target: "librdkafka", Level::TRACE));
        });
    }
}
