//! The job's HTTP endpoints on `--http-addr`: the live dashboard (`/`), its updates as
//! server-sent events (`/events`), the same state as JSON (`/api/dashboard`), Prometheus metrics
//! (`/metrics`), and `/healthz` (the process runs) and `/readyz` (restore done) for probes.
//!
//! ```text
//!  accept thread ──/ *.js /metrics /healthz /readyz /api/dashboard──> answered at once
//!        └──/events──> thread per browser: snapshot, then one event per published batch
//! ```
//! `tiny_http` serves it: the project already used it for the metrics, it runs on plain threads
//! (no async runtime for a handful of requests), and it hands a connection over as a writer,
//! which is all a server-sent event stream needs. The page is embedded in the binary, so the
//! dashboard works without network access.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use tracing::{info, warn};

use crate::dashboard::Dashboard;
use crate::metrics::Metrics;

const PAGE: &str = include_str!("../assets/dashboard.html");
const SCRIPT: &str = include_str!("../assets/dashboard.js");
const RENDER: &str = include_str!("../assets/render.js");
const STYLE: &str = include_str!("../assets/style.css");

/// Browsers served live at once; more get 503, so a forgotten tab cannot pile up threads.
const MAX_STREAMS: usize = 32;

/// Without a new batch, a stream still sends the job's health this often (and so also notices a
/// browser that went away).
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// What the server answers from.
pub struct Endpoints {
    pub metrics: Arc<Metrics>,
    pub dashboard: Arc<Dashboard>,
}

/// Serves the endpoints on `addr`, on threads of their own, until `stop` is set (or the process
/// exits). Binding fails at once, naming the address.
pub fn serve(addr: &str, endpoints: Endpoints, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| anyhow::anyhow!("cannot serve on --http-addr {addr}: {e}"))?;
    info!(
        addr,
        "serving the dashboard at /, and /metrics, /healthz and /readyz"
    );
    let endpoints = Arc::new(endpoints);
    let streams = Arc::new(AtomicUsize::new(0));
    thread::Builder::new()
        .name("salesflow-http".to_string())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match server.recv_timeout(Duration::from_millis(200)) {
                    Ok(Some(request)) => answer(request, &endpoints, &streams, &stop),
                    Ok(None) => {}
                    Err(error) => warn!(%error, "http server"),
                }
            }
        })?;
    Ok(())
}

fn answer(
    request: tiny_http::Request,
    endpoints: &Arc<Endpoints>,
    streams: &Arc<AtomicUsize>,
    stop: &Arc<AtomicBool>,
) {
    // The query string (a browser's cache buster) does not choose the page.
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let (status, body, content_type) = match path.as_str() {
        "/events" => return stream(request, endpoints, streams, stop),
        "/" | "/index.html" => (200, PAGE.to_string(), "text/html; charset=utf-8"),
        "/dashboard.js" => (200, SCRIPT.to_string(), "text/javascript; charset=utf-8"),
        "/render.js" => (200, RENDER.to_string(), "text/javascript; charset=utf-8"),
        "/style.css" => (200, STYLE.to_string(), "text/css; charset=utf-8"),
        "/api/dashboard" => match serde_json::to_string(&endpoints.dashboard.snapshot()) {
            Ok(json) => (200, json, "application/json"),
            Err(error) => (500, format!("{error}\n"), "text/plain"),
        },
        // Prometheus asks for OpenMetrics first; other clients get the classic text format.
        "/metrics" if accepts(&request, "application/openmetrics-text") => (
            200,
            endpoints.metrics.openmetrics(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/metrics" => (
            200,
            endpoints.metrics.prometheus(),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/healthz" => (200, "ok\n".to_string(), "text/plain"),
        "/readyz" if endpoints.metrics.ready() => (200, "ready\n".to_string(), "text/plain"),
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
        warn!(%error, path, "http response");
    }
}

/// Whether the request's Accept header names `media_type`.
fn accepts(request: &tiny_http::Request, media_type: &str) -> bool {
    request
        .headers()
        .iter()
        .any(|h| h.field.equiv("Accept") && h.value.as_str().contains(media_type))
}

/// `/events`: the whole dashboard state at once, then again after every published batch, as
/// `event: snapshot`; between batches `event: health` every [`HEALTH_EVERY`].
fn stream(
    request: tiny_http::Request,
    endpoints: &Arc<Endpoints>,
    streams: &Arc<AtomicUsize>,
    stop: &Arc<AtomicBool>,
) {
    if streams.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        streams.fetch_sub(1, Ordering::SeqCst);
        let busy =
            tiny_http::Response::from_string("too many dashboards open\n").with_status_code(503);
        let _ = request.respond(busy);
        return;
    }
    let (endpoints, streams, stop) = (Arc::clone(endpoints), Arc::clone(streams), Arc::clone(stop));
    let spawned = thread::Builder::new()
        .name("salesflow-events".to_string())
        .spawn(move || {
            let mut writer = request.into_writer();
            if let Err(error) = send_events(&mut writer, &endpoints.dashboard, &stop) {
                // A closed tab ends its stream this way; not worth more than a debug line.
                tracing::debug!(%error, "dashboard stream ended");
            }
            streams.fetch_sub(1, Ordering::SeqCst);
        });
    if let Err(error) = spawned {
        warn!(%error, "cannot start a dashboard stream");
    }
}

fn send_events(
    writer: &mut dyn Write,
    dashboard: &Dashboard,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    writer.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
          Connection: close\r\n\r\n",
    )?;
    let mut seen = dashboard.version();
    send(writer, "snapshot", &dashboard.snapshot())?;
    while !stop.load(Ordering::Relaxed) {
        if dashboard.wait_newer(seen, HEALTH_EVERY) {
            let snapshot = dashboard.snapshot();
            seen = snapshot.version;
            send(writer, "snapshot", &snapshot)?;
        } else {
            send(writer, "health", &dashboard.health())?;
        }
    }
    Ok(())
}

/// One server-sent event: JSON never holds a raw newline, so it fits one `data:` line.
fn send(writer: &mut dyn Write, event: &str, value: &impl serde::Serialize) -> std::io::Result<()> {
    let json = serde_json::to_string(value).map_err(std::io::Error::other)?;
    write!(writer, "event: {event}\ndata: {json}\n\n")?;
    writer.flush()
}
