//! The job's own health: Prometheus metrics at `/metrics`, and `/healthz` (the process runs) and
//! `/readyz` (every worker of this process has read its inputs up to their ends at start) for
//! probes, served on `--metrics-addr`.
//!
//! `prometheus-client` writes the text format; `tiny_http` serves it on one thread of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::{info, warn};

type TopicLabel = Vec<(&'static str, String)>;

/// Every metric the job keeps, shared by its workers.
pub struct Metrics {
    registry: Registry,
    pub consumed: Family<TopicLabel, Counter>,
    pub applied: Family<TopicLabel, Counter>,
    pub dead_lettered: Family<TopicLabel, Counter>,
    pub output_changes: Family<TopicLabel, Counter>,
    /// Seconds from the end of a logical time (wall clock) until its output is acknowledged.
    pub epoch_latency: Histogram,
    /// Seconds to write and commit one batch of instants with its progress record.
    pub transaction_seconds: Histogram,
    /// The last logical time (ms) whose progress record was written.
    pub last_progress: Gauge,
    workers: usize,
    restored: AtomicUsize,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(workers: usize) -> Arc<Self> {
        let mut registry = Registry::with_prefix("salesflow");
        let consumed = Family::default();
        let applied = Family::default();
        let dead_lettered = Family::default();
        let output_changes = Family::default();
        let epoch_latency =
            Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        let transaction_seconds = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        let last_progress = Gauge::default();
        registry.register(
            "records_consumed",
            "Input records read, per topic",
            consumed.clone(),
        );
        registry.register(
            "records_applied",
            "Input records decoded and applied, per topic",
            applied.clone(),
        );
        registry.register(
            "records_dead_lettered",
            "Input records sent to the dead-letter topic, per topic",
            dead_lettered.clone(),
        );
        registry.register(
            "output_changes",
            "Change messages written, per output topic",
            output_changes.clone(),
        );
        registry.register(
            "epoch_latency_seconds",
            "From the end of a logical time to the broker acknowledging its output",
            epoch_latency.clone(),
        );
        registry.register(
            "transaction_seconds",
            "Writing and committing one batch of instants with its progress record",
            transaction_seconds.clone(),
        );
        registry.register(
            "last_progress_time_ms",
            "The last logical time written to the progress topic",
            last_progress.clone(),
        );
        Arc::new(Metrics {
            registry,
            consumed,
            applied,
            dead_lettered,
            output_changes,
            epoch_latency,
            transaction_seconds,
            last_progress,
            workers,
            restored: AtomicUsize::new(0),
        })
    }

    pub fn topic(name: &str) -> TopicLabel {
        vec![("topic", name.to_string())]
    }

    /// One worker of this process has read its inputs up to their ends at start.
    pub fn worker_restored(&self) {
        self.restored.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.restored.load(Ordering::Relaxed) >= self.workers
    }

    fn text(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Serves the metrics and probes on `addr`, on a thread of its own, until `stop` is set (or the
/// process exits).
pub fn serve(addr: &str, metrics: Arc<Metrics>, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on --metrics-addr {addr}: {e}"))?;
    info!(addr, "serving /metrics, /healthz and /readyz");
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let request = match server.recv_timeout(Duration::from_millis(200)) {
                Ok(Some(request)) => request,
                Ok(None) => continue,
                Err(error) => {
                    warn!(%error, "metrics server");
                    continue;
                }
            };
            let (status, body, content_type) = match request.url() {
                "/metrics" => (
                    200,
                    metrics.text(),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
                "/healthz" => (200, "ok\n".to_string(), "text/plain"),
                "/readyz" if metrics.ready() => (200, "ready\n".to_string(), "text/plain"),
                "/readyz" => (
                    503,
                    "restoring state from the inputs\n".to_string(),
                    "text/plain",
                ),
                _ => (404, "not found\n".to_string(), "text/plain"),
            };
            let mut response = tiny_http::Response::from_string(body).with_status_code(status);
            if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", content_type) {
                response.add_header(header);
            }
            if let Err(error) = request.respond(response) {
                warn!(%error, "metrics response");
            }
        }
    });
    Ok(())
}
