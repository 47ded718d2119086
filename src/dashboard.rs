//! The dashboard's state: the job's own output tables that the dashboard shows, folded from the
//! changes the writer has committed, one whole batch of instants at a time.
//!
//! ```text
//!  writer thread: commit ─> publish(batch) ─> fold each shown topic ─> version += 1 ─┐
//!  http thread per browser: wait for a new version ─> snapshot JSON ─> server-sent event <─┘
//! ```
//! Only committed instants are published, and each snapshot is taken under the lock that a whole
//! batch is applied under, so a browser never sees part of an instant: what it shows is what a
//! `read_committed` consumer of the output topics would fold at that progress record.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Envelope;
use crate::fold::{Fold, Table};
use crate::inputs::Time;
use crate::metrics::Metrics;
use crate::model::OutputTopic;
use crate::writer::Epoch;

/// The output topics the dashboard shows.
pub const SHOWN: [OutputTopic; 8] = [
    OutputTopic::SalesTotal,
    OutputTopic::SalesByHour,
    OutputTopic::SalesByCategory,
    OutputTopic::SalesBySegment,
    OutputTopic::TopProductsByUnits,
    OutputTopic::TopProductsByRevenue,
    OutputTopic::Alerts,
    OutputTopic::DataQuality,
];

/// The dashboard lists this many of the most recently raised alerts.
const LATEST_ALERTS: usize = 20;

/// The folded tables and when each alert was raised.
struct Tables {
    folds: BTreeMap<OutputTopic, Fold>,
    /// The logical time each current alert (by key) was raised.
    raised: BTreeMap<String, Time>,
    /// The last committed time folded in.
    time: Time,
    /// Bumped once per applied batch; browsers wait for it to move.
    version: u64,
}

/// The dashboard's state, shared by the writer (which publishes) and the HTTP server.
pub struct Dashboard {
    tables: Mutex<Tables>,
    changed: Condvar,
    metrics: Arc<Metrics>,
    /// Times up to this one were written by an earlier run: their changes come from the restored
    /// snapshot, not from this run's writer (which only repairs there).
    restored_up_to: Mutex<Time>,
    /// Whether this process writes the output (process 0 of a cluster); the others have nothing
    /// to show but their health.
    writes: bool,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard").finish_non_exhaustive()
    }
}

/// One state of the dashboard, as sent to browsers.
#[derive(Serialize)]
pub struct Snapshot {
    /// The logical time (ms) of the last committed instant shown.
    pub time: Time,
    pub version: u64,
    /// Topic name -> current rows (the output rows as written, in key order).
    pub tables: BTreeMap<&'static str, Vec<Box<RawValue>>>,
    /// The most recently raised alerts first, each with `raised_at` (ms).
    pub latest_alerts: Vec<RaisedAlert>,
    pub alert_count: usize,
    pub health: Health,
}

/// An alert row and the logical time it was raised.
#[derive(Serialize)]
pub struct RaisedAlert {
    pub raised_at: Time,
    pub row: Box<RawValue>,
}

/// The job's own health, as of the moment a snapshot is taken.
#[derive(Serialize)]
pub struct Health {
    /// Wall clock now (ms), so the browser computes ages and rates against the server's clock.
    pub now_ms: u64,
    pub ready: bool,
    pub writes: bool,
    /// Input records read by this process so far; the browser derives records/s.
    pub consumed: u64,
    /// The last logical time (ms) whose progress record was committed, or 0.
    pub last_progress_ms: i64,
    /// Input records past the last progress record, over every input topic.
    pub lag_records: i64,
}

impl Dashboard {
    pub fn new(envelope: Envelope, metrics: Arc<Metrics>, writes: bool) -> Arc<Self> {
        Arc::new(Dashboard {
            tables: Mutex::new(Tables {
                folds: SHOWN.iter().map(|t| (*t, Fold::new(envelope))).collect(),
                raised: BTreeMap::new(),
                time: 0,
                version: 0,
            }),
            changed: Condvar::new(),
            metrics,
            restored_up_to: Mutex::new(0),
            writes,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while folding leaves tables that are still whole rows; showing them is fine.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts from the tables an earlier run committed up to `time` (read at its progress
    /// record); later batches build on them.
    pub fn restore(&self, tables: BTreeMap<OutputTopic, Table>, time: Time) {
        let mut state = self.lock();
        for (topic, table) in tables {
            if let Some(fold) = state.folds.get_mut(&topic) {
                fold.replace(table);
            }
        }
        state.time = time;
        state.version += 1;
        *self
            .restored_up_to
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = time;
        drop(state);
        self.changed.notify_all();
    }

    /// Folds in a batch of instants the writer has just committed, all at once.
    pub fn publish(&self, batch: &[Epoch]) {
        let restored_up_to = *self
            .restored_up_to
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut state = self.lock();
        let Tables {
            folds,
            raised,
            time,
            version,
        } = &mut *state;
        for epoch in batch.iter().filter(|e| e.time > restored_up_to) {
            for message in &epoch.messages {
                let Some(fold) = folds.get_mut(&message.topic) else {
                    continue;
                };
                // The job wrote this message itself, in its own envelope: it always reads back.
                if fold.apply(&message.key, message.value.as_deref()).is_err() {
                    continue;
                }
                // An alert keeps the time it was raised while its facts change.
                if message.topic == OutputTopic::Alerts {
                    if fold.table().contains_key(&message.key) {
                        raised.entry(message.key.clone()).or_insert(epoch.time);
                    } else {
                        raised.remove(&message.key);
                    }
                }
            }
            *time = (*time).max(epoch.time);
        }
        *version += 1;
        drop(state);
        self.changed.notify_all();
    }

    /// The version now, to wait for the next one with [`Dashboard::wait_newer`].
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// Waits until a batch newer than `seen` is published, or `timeout` passes; returns whether
    /// there is one.
    pub fn wait_newer(&self, seen: u64, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.version <= seen)
            .unwrap_or_else(|p| p.into_inner());
        state.version > seen
    }

    /// The current state, whole.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        let tables = state
            .folds
            .iter()
            .map(|(topic, fold)| {
                (
                    topic.name(),
                    fold.table().values().filter_map(|row| raw(row)).collect(),
                )
            })
            .collect();
        let alerts = state.folds.get(&OutputTopic::Alerts);
        let mut latest: Vec<(Time, &String, &String)> = alerts
            .map(|fold| {
                fold.table()
                    .iter()
                    .map(|(key, row)| (state.raised.get(key).copied().unwrap_or(0), key, row))
                    .collect()
            })
            .unwrap_or_default();
        // Newest first; alerts raised at one instant in key order.
        latest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let latest_alerts = latest
            .iter()
            .take(LATEST_ALERTS)
            .filter_map(|(raised_at, _, row)| {
                raw(row).map(|row| RaisedAlert {
                    raised_at: *raised_at,
                    row,
                })
            })
            .collect();
        Snapshot {
            time: state.time,
            version: state.version,
            tables,
            latest_alerts,
            alert_count: alerts.map_or(0, |f| f.table().len()),
            health: self.health(),
        }
    }

    /// The job's health now.
    pub fn health(&self) -> Health {
        Health {
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            ready: self.metrics.ready(),
            writes: self.writes,
            consumed: self.metrics.consumed_all(),
            last_progress_ms: self.metrics.last_progress.get(),
            lag_records: self.metrics.total_lag(),
        }
    }
}

/// A row as written by the job is a JSON object; anything else is left out rather than sent.
fn raw(row: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(row.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::Message;

    fn message(topic: OutputTopic, key: &str, value: Option<&str>) -> Message {
        Message {
            topic,
            key: key.to_string(),
            value: value.map(str::to_string),
        }
    }

    fn total(snapshot: &Snapshot) -> Vec<String> {
        snapshot.tables["sales_total"]
            .iter()
            .map(|r| r.get().to_string())
            .collect()
    }

    #[test]
    fn a_batch_shows_whole_and_only_after_the_restored_time() {
        let dashboard = Dashboard::new(Envelope::Upsert, Metrics::new(1), true);
        let key = r#"{"scope":"all"}"#;
        let mut restored = BTreeMap::new();
        restored.insert(
            OutputTopic::SalesTotal,
            Table::from([(key.to_string(), r#"{"scope":"all","orders":1}"#.to_string())]),
        );
        dashboard.restore(restored, 100);
        let seen = dashboard.version();
        // A repair at the resume time is already in the restored tables.
        let replayed = Epoch {
            time: 100,
            messages: vec![message(OutputTopic::SalesTotal, key, None)],
            inputs: vec![],
        };
        let next = Epoch {
            time: 200,
            messages: vec![
                message(
                    OutputTopic::SalesTotal,
                    key,
                    Some(r#"{"scope":"all","orders":2}"#),
                ),
                message(
                    OutputTopic::Alerts,
                    "a",
                    Some(r#"{"rule":"r","subject":"a"}"#),
                ),
                message(
                    OutputTopic::SalesByCustomer,
                    "c",
                    Some(r#"{"customer_id":"c"}"#),
                ),
            ],
            inputs: vec![],
        };
        dashboard.publish(&[replayed, next]);
        assert!(dashboard.wait_newer(seen, Duration::ZERO));
        let snapshot = dashboard.snapshot();
        assert_eq!(snapshot.time, 200);
        assert_eq!(total(&snapshot), [r#"{"scope":"all","orders":2}"#]);
        assert_eq!(snapshot.alert_count, 1);
        assert_eq!(snapshot.latest_alerts[0].raised_at, 200);
        assert!(!snapshot.tables.contains_key("sales_by_customer"));

        dashboard.publish(&[Epoch {
            time: 300,
            messages: vec![message(OutputTopic::Alerts, "a", None)],
            inputs: vec![],
        }]);
        let snapshot = dashboard.snapshot();
        assert_eq!(snapshot.alert_count, 0);
        assert!(snapshot.latest_alerts.is_empty());
    }
}
