//! The board: the one place the watch loop posts what it saw and did, and the HTTP server reads.
//! Each post replaces a small [`Snapshot`] under a short lock; a request clones an `Arc` of it
//! and renders outside the lock, so a flood of requests never holds up a pass.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::health::now_secs;
use super::snapshot::{LastChange, Seen, Snapshot};
use crate::model::check::Check;

/// The pass duration histogram's upper bounds in seconds (Prometheus' default buckets, as
/// controller-runtime's `controller_runtime_reconcile_time_seconds` started with).
pub(crate) const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Extra time beyond two resync intervals before a quiet loop counts as stuck (as for
/// `gatehouse health`).
const SLACK_SECS: u64 = 30;

/// A histogram of pass durations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or under each of [`BUCKETS`] (cumulative, as Prometheus wants them).
    pub cumulative: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.cumulative.len() != BUCKETS.len() {
            self.cumulative = vec![0; BUCKETS.len()];
        }
        for (bound, n) in BUCKETS.iter().zip(self.cumulative.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: Arc<Snapshot>,
    /// The latest change per container, kept across passes.
    changes: BTreeMap<String, LastChange>,
    durations: Histogram,
}

/// Shared between the watch loop (writes) and the HTTP server (reads). Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Board {
    inner: Arc<Mutex<Inner>>,
}

/// What one request renders: the snapshot, the pass histogram, and the time it was taken.
#[derive(Debug, Clone)]
pub struct View {
    pub snapshot: Arc<Snapshot>,
    pub durations: Histogram,
    pub now: u64,
}

impl Board {
    /// A board for a loop that resyncs every `resync`, with authentik provisioning on or off.
    pub fn new(resync: Duration, authentik: bool) -> Self {
        let now = now_secs();
        let mut snapshot = Snapshot {
            version: env!("CARGO_PKG_VERSION"),
            ..Snapshot::default()
        };
        snapshot.passes.started_at = now;
        snapshot.passes.loop_turned_at = now;
        snapshot.passes.resync_secs = resync.as_secs().max(1);
        snapshot.authentik.enabled = authentik;
        let inner = Inner {
            snapshot: Arc::new(snapshot),
            ..Inner::default()
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// The lock, also when a panic poisoned it (the data is replaced whole, never half-written).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot, &mut BTreeMap<String, LastChange>)) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        f(Arc::make_mut(&mut inner.snapshot), &mut inner.changes);
    }

    /// The watch loop turned (it waits at most one resync interval between turns).
    pub(crate) fn turned(&self) {
        let now = now_secs();
        self.update(|s, _| s.passes.loop_turned_at = now);
    }

    /// A pass ended after `took`, woken by `why`: `seen` when it got as far as planning,
    /// `error` when it failed or could not make every change.
    pub(crate) fn pass_done(
        &self,
        seen: Option<Seen>,
        error: Option<String>,
        took: Duration,
        why: &str,
    ) {
        let now = now_secs();
        let mut inner = self.lock();
        inner.durations.observe(took.as_secs_f64());
        let inner = &mut *inner;
        let s = Arc::make_mut(&mut inner.snapshot);
        let p = &mut s.passes;
        p.last_at = Some(now);
        p.loop_turned_at = now;
        p.last_duration_ms = Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        p.last_why = Some(why.to_owned());
        if error.is_none() {
            p.ok_total += 1;
            p.last_ok_at = Some(now);
        } else {
            p.failed_total += 1;
        }
        p.last_error = error;
        let Some(seen) = seen else { return };
        p.containers = seen.containers;
        for (container, what) in seen.changes {
            let why = why.to_owned();
            inner
                .changes
                .insert(container, LastChange { at: now, what, why });
        }
        let mut apps = seen.apps;
        for app in &mut apps {
            app.last_change = inner.changes.get(&app.container).cloned();
        }
        // Changes of containers that are neither published nor rejected any more are forgotten.
        inner.changes.retain(|c, _| {
            apps.iter().any(|a| &a.container == c)
                || seen.rejected.iter().any(|r| &r.container == c)
        });
        s.apps = apps;
        s.rejected = seen.rejected;
    }

    /// The authentik worker's latest round ended at `at`: `error` when it failed.
    pub(crate) fn authentik_round(
        &self,
        at: u64,
        error: Option<String>,
        problems: usize,
        version: Option<String>,
    ) {
        self.update(|s, _| {
            let a = &mut s.authentik;
            a.reachable = Some(error.is_none());
            a.last_round_at = Some(at);
            a.error = error;
            a.problems = problems;
            if version.is_some() {
                a.version = version;
            }
        });
    }

    /// The latest findings of `gatehouse check`, shown with green and red marks.
    pub fn set_checks(&self, checks: Vec<Check>) {
        self.update(|s, _| s.checks = checks);
    }

    /// What a request shows, now.
    pub fn view(&self) -> View {
        let inner = self.lock();
        View {
            snapshot: Arc::clone(&inner.snapshot),
            durations: inner.durations.clone(),
            now: now_secs(),
        }
    }
}

impl View {
    /// The longest the loop may go without turning, or without a good pass.
    fn limit(&self) -> u64 {
        self.snapshot
            .passes
            .resync_secs
            .saturating_mul(2)
            .saturating_add(SLACK_SECS)
    }

    /// `/healthz`: the process is alive and its loop turns.
    pub fn live(&self) -> Result<String, String> {
        let age = self.now.saturating_sub(self.snapshot.passes.loop_turned_at);
        let limit = self.limit();
        if age <= limit {
            Ok(format!("ok: the loop turned {age}s ago (limit {limit}s)"))
        } else {
            Err(format!(
                "the loop has not turned for {age}s (limit {limit}s)"
            ))
        }
    }

    /// `/readyz`: a good pass happened recently (the engine answered it). authentik being down
    /// does not count: the confs still work.
    pub fn ready(&self) -> Result<String, String> {
        let p = &self.snapshot.passes;
        let limit = self.limit();
        let Some(ok) = p.last_ok_at else {
            return Err(match &p.last_error {
                Some(e) => format!("no pass has succeeded yet; the last one failed: {e}"),
                None => "no pass has succeeded yet".to_owned(),
            });
        };
        let age = self.now.saturating_sub(ok);
        match &p.last_error {
            Some(e) => Err(format!("the last pass failed: {e}")),
            None if age > limit => Err(format!(
                "the last good pass was {age}s ago (limit {limit}s)"
            )),
            None => Ok(format!("ok: the last good pass was {age}s ago")),
        }
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
pub(crate) mod tests;
