//! The watch loop: follow the engine's events, decide which matter, debounce, and run passes
//! on events, the periodic resync, held removals falling due and every reconnect.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout};

use super::{Mode, Reconciler};
use crate::config::Settings;
use crate::edge::docker::{Engine, EngineError, EngineEvent};
use crate::runtime::backoff::Backoff;
use crate::runtime::policy::{Action, ErrorPolicy};
use crate::status::board::Board;
use crate::status::health::Recorder;

/// Whether an engine event can change what gatehouse should do: a container carrying one of our
/// labels (or swag-auto-proxy's), or one the last pass cared about; a network event of such a
/// container; any Swarm service event (`scope=swarm`: create, update, remove; a scale is an
/// update). Events of unrelated containers (a busy host) do not wake the loop.
fn is_relevant(ev: &EngineEvent, prefix: &str, watched: &BTreeSet<String>) -> bool {
    match ev.kind.as_str() {
        "container" => {
            watched.contains(&ev.id)
                || watched.contains(&ev.name)
                // A task of a published Swarm service starting or dying on this node.
                || ev
                    .attributes
                    .get(crate::model::swarm::TASK_SERVICE_LABEL)
                    .is_some_and(|s| watched.contains(s))
                || ev.attributes.keys().any(|k| {
                    k.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('.'))
                        || k == "swag"
                        || k.starts_with("swag_")
                })
        }
        "network" => ev
            .attributes
            .get("container")
            .is_some_and(|id| watched.contains(id)),
        _ => true,
    }
}

/// Whether a wake is worth a pass: a relevant event, or a reconnect.
fn wake_matters(w: &Wake, prefix: &str, watched: &BTreeSet<String>) -> bool {
    match w {
        Wake::Event(e) => is_relevant(e, prefix, watched),
        Wake::Connected => true,
    }
}

/// Why the loop woke.
#[derive(Debug)]
enum Wake {
    Event(EngineEvent),
    /// The event stream is (re)connected: anything may have changed meanwhile.
    Connected,
}

/// The first retry after a failure; each next one waits twice as long.
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// The longest wait between retries of a failing pass, a failing network change or an engine
/// on TCP.
pub(super) const RETRY_AT_MOST: Duration = Duration::from_secs(30);

/// The backoff a failing pass, network change or event stream retries with, at most `max` apart.
pub(super) fn retry_backoff(max: Duration) -> Backoff {
    Backoff::new(FIRST_RETRY.min(max), max)
}

/// The longest wait between two attempts to reach an engine on a local socket: trying costs one
/// failed `connect()`, and a restarted engine (`systemctl restart docker`) is followed within
/// about this long, not after a backoff grown to half a minute.
pub(super) const LOCAL_RETRY_AT_MOST: Duration = Duration::from_secs(1);

/// The state of the event subscription, across reconnects.
#[derive(Debug)]
struct Link {
    backoff: Backoff,
    /// When the stream was lost, while it is.
    lost_since: Option<Instant>,
    /// A subscription succeeded once: a failure now is a loss, not a start that failed.
    ever_connected: bool,
}

/// Follows the engine's events and wakes the loop; reconnects with backoff when the stream is
/// lost, and says so.
async fn pump_events(docker: Arc<dyn Engine>, tx: mpsc::Sender<Wake>) {
    let mut link = Link {
        backoff: match docker.endpoint().socket() {
            Some(_) => retry_backoff(LOCAL_RETRY_AT_MOST),
            None => retry_backoff(RETRY_AT_MOST),
        },
        lost_since: None,
        ever_connected: false,
    };
    loop {
        let error = match follow_events(docker.as_ref(), &tx, &mut link).await {
            Some(error) => error,
            None => return,
        };
        if tx.is_closed() {
            return;
        }
        let delay = link.backoff.step();
        if link.lost_since.is_none() {
            link.lost_since = Some(Instant::now());
            if link.ever_connected {
                tracing::warn!(
                    error = %error,
                    "lost the Docker engine's event stream; confs already written stay as they are; retrying with backoff"
                );
            } else {
                tracing::warn!(
                    error = %error,
                    "cannot follow the Docker engine's events; retrying with backoff"
                );
            }
        } else {
            tracing::debug!(error = %error, retry_in_ms = delay.as_millis() as u64, "Docker engine still unreachable");
        }
        sleep(delay).await;
    }
}

/// This host's clock in Unix nanoseconds.
fn host_clock() -> Option<i64> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    i64::try_from(since_epoch.as_nanos()).ok()
}

/// Subscribes once and forwards events until the stream is lost (returns why) or the loop has
/// gone (returns `None`).
async fn follow_events(
    docker: &dyn Engine,
    tx: &mpsc::Sender<Wake>,
    link: &mut Link,
) -> Option<String> {
    // Subscribe from a few seconds back by the engine's own clock: the engine replays them, so
    // an event between the resync's list and the moment the engine has the subscription in
    // place is still seen. A replayed event costs one more, unchanged, pass.
    // A socket proxy may refuse `/info` (docker-socket-proxy's INFO=0): then this host's clock
    // stands in, which is the engine's own when gatehouse runs beside it.
    let now = match docker.engine_time().await {
        Ok(Some(now)) => Some(now),
        Ok(None) => host_clock(),
        // It answered, but not with a time gatehouse can read.
        Err(e @ (EngineError::Api { .. } | EngineError::Decode(_))) => {
            tracing::debug!(error = %e, "the engine did not tell its time; replaying events by this host's clock");
            host_clock()
        }
        Err(e) => return Some(e.to_string()),
    };
    let since = now.map(|t| t / 1_000_000_000 - crate::edge::docker::EVENT_REPLAY_SECS);
    let mut stream = Box::pin(docker.events(since, now));
    // The first poll sends the request; an engine that is down fails it at once. With the
    // replay, these 200 ms need not be enough for the subscription to be in place.
    match timeout(Duration::from_millis(200), stream.next()).await {
        Ok(Some(Err(e))) => return Some(e.to_string()),
        Ok(None) => return Some("event stream closed".to_owned()),
        Ok(Some(Ok(ev))) => {
            let _ = tx.send(Wake::Connected).await;
            let _ = tx.send(Wake::Event(ev)).await;
        }
        Err(_) => {
            let _ = tx.send(Wake::Connected).await;
        }
    }
    match link.lost_since.take() {
        Some(since) if link.ever_connected => tracing::info!(
            down_s = since.elapsed().as_secs(),
            "reconnected to the Docker engine; resyncing"
        ),
        Some(_) => tracing::info!("connected to the Docker engine; resyncing"),
        None => {}
    }
    link.ever_connected = true;
    link.backoff.reset();
    loop {
        match stream.next().await {
            Some(Ok(ev)) => {
                tracing::debug!(kind = %ev.kind, action = %ev.action, name = %ev.name, "engine event");
                if tx.send(Wake::Event(ev)).await.is_err() {
                    return None;
                }
            }
            Some(Err(e)) => return Some(e.to_string()),
            None => return Some("event stream closed".to_owned()),
        }
    }
}

/// Runs forever (until `shutdown` resolves): passes on events, debounced, on a periodic resync,
/// when held removals fall due, and after every reconnect.
/// Returns how it ended: by `shutdown`, or because the task following the engine's events ended
/// on its own (which it never should: the caller should exit non-zero so the container restarts).
pub async fn watch(
    mut rec: Reconciler,
    shutdown: impl std::future::Future<Output = ()>,
) -> WatchEnd {
    let settings = rec.context().settings.clone();
    let authentik_worker = rec.start_authentik_worker();
    let (tx, mut rx) = mpsc::channel::<Wake>(1024);
    let pump = tokio::spawn(pump_events(rec.context().engines.local().clone(), tx));
    subscribed(&mut rx).await;
    tokio::pin!(shutdown);
    let mut policy = ErrorPolicy::new(retry_backoff(RETRY_AT_MOST));
    let mut confirmed = false;
    let mut ended = WatchEnd::Shutdown;
    let mut last_event: Option<tokio::time::Instant> = None;
    let mut next_resync = tokio::time::Instant::now() + settings.resync;
    let mut health = Recorder::new(settings.health_file.clone(), settings.resync);
    if authentik_worker.is_some() {
        health = health.with_authentik();
    }
    let board = rec.board();
    let follower = authentik_worker
        .as_ref()
        .map(|w| tokio::spawn(follow_authentik(board.clone(), w.status.clone())));
    let mut why = String::from("start");
    loop {
        let started = Instant::now();
        let outcome = rec.pass(Mode::Watch).await;
        post_pass(&board, &outcome, started.elapsed(), &why);
        confirm_first_pass(&outcome, &settings.labels.prefix, &mut confirmed);
        if let Some(w) = &authentik_worker {
            note_authentik(&mut health, &w.status);
        }
        health.record(pass_health(&outcome));
        let next_due = next_due(outcome, &mut policy).delay();
        let mut deadline = next_resync;
        if let Some(d) = next_due {
            deadline = deadline.min(tokio::time::Instant::now() + d);
        }
        // Wait for something that matters: an event about a container we care about, a
        // reconnect, the resync or a held removal falling due, or shutdown.
        let relevant = |w: &Wake| wake_matters(w, &settings.labels.prefix, &rec.watched);
        let woken = loop {
            tokio::select! {
                _ = &mut shutdown => break None,
                _ = sleep_until(deadline) => break Some(None),
                wake = rx.recv() => match wake {
                    None => {
                        ended = WatchEnd::EventsLost;
                        break None;
                    }
                    Some(w) if relevant(&w) => break Some(Some(w)),
                    Some(Wake::Event(e)) => {
                        tracing::trace!(kind = %e.kind, action = %e.action, name = %e.name, "ignored engine event");
                    }
                    Some(Wake::Connected) => {}
                },
            }
        };
        board.turned();
        match woken {
            None => break,
            Some(None) => why = "a retry or a held removal falling due".into(),
            Some(Some(wake)) => {
                why = wake_reason(&wake);
                last_event = Some(gather(&mut rec, &mut rx, wake, &settings, last_event).await);
            }
        }
        if tokio::time::Instant::now() >= next_resync {
            why = "periodic resync".into();
            tracing::debug!("periodic resync");
            next_resync = tokio::time::Instant::now() + settings.resync;
        }
    }
    pump.abort();
    if let Some(f) = follower {
        f.abort();
    }
    if let Some(w) = authentik_worker {
        w.task.abort();
    }
    say_end(ended, &health);
    ended
}

/// Says why the loop ended; a clean stop removes the health record.
fn say_end(ended: WatchEnd, health: &Recorder) {
    match ended {
        WatchEnd::Shutdown => {
            health.clear();
            tracing::info!("stopping; confs already written stay as they are")
        }
        WatchEnd::EventsLost => tracing::error!(
            "the task following the Docker engine's events ended unexpectedly; stopping so that the container restarts; confs already written stay as they are"
        ),
    }
}

/// Waits (at most 2 s) until the event subscription is in place: subscribe before the first
/// listing, so no change slips between the two.
async fn subscribed(rx: &mut mpsc::Receiver<Wake>) {
    let _ = timeout(Duration::from_secs(2), async {
        while let Some(w) = rx.recv().await {
            if matches!(w, Wake::Connected) {
                break;
            }
        }
    })
    .await;
}

/// Says once that the first pass went through, and what it found: a new user whose labels do
/// not match sees that nothing is labelled, not silence.
fn confirm_first_pass(
    outcome: &Result<super::PassReport, super::ReconcileError>,
    prefix: &str,
    confirmed: &mut bool,
) {
    let Ok(report) = outcome else { return };
    if std::mem::replace(confirmed, true) {
        return;
    }
    let (n, published, rejected) = (
        report.workloads,
        report.desired.apps.len(),
        report.desired.rejected.len(),
    );
    if published + rejected == 0 {
        tracing::info!(
            "first pass done: watching {n} running container(s), none labelled for gatehouse (label one with {prefix}.protect=true or {prefix}.expose=true)"
        );
    } else {
        tracing::info!(
            "first pass done: watching {n} running container(s); {published} app(s) published, {rejected} rejected"
        );
    }
}

/// Hands the authentik worker's latest round to the health record.
fn note_authentik(
    health: &mut Recorder,
    status: &tokio::sync::watch::Receiver<Option<super::authentik::RoundStatus>>,
) {
    if let Some(s) = status.borrow().as_ref() {
        health.authentik_round(epoch_secs(s.at), s.error.clone());
    }
}

fn epoch_secs(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Posts each authentik round to the status board as it ends.
async fn follow_authentik(
    board: Board,
    mut status: tokio::sync::watch::Receiver<Option<super::authentik::RoundStatus>>,
) {
    while status.changed().await.is_ok() {
        let round = status.borrow_and_update().clone();
        if let Some(s) = round {
            board.authentik_round(epoch_secs(s.at), s.error, s.problems, s.version);
        }
    }
}

/// Posts a pass to the status board: what it saw, and whether it went through.
fn post_pass(
    board: &Board,
    outcome: &Result<super::PassReport, super::ReconcileError>,
    took: Duration,
    why: &str,
) {
    let error = pass_health(outcome).err();
    let seen = outcome.as_ref().ok().map(|r| r.seen.clone());
    board.pass_done(seen, error, took, why);
}

/// Why the loop woke, for the status page: `container start web`, `reconnected`.
fn wake_reason(wake: &Wake) -> String {
    match wake {
        Wake::Event(e) => format!("{} {} {}", e.kind, e.action, e.name),
        Wake::Connected => "reconnected to the Docker engine".into(),
    }
}

/// What the health record says of a pass: a pass that failed, or in which a change could not
/// be made (a conf not written, a network not attached), is not a good pass.
fn pass_health(outcome: &Result<super::PassReport, super::ReconcileError>) -> Result<(), String> {
    match outcome {
        Ok(report) if report.failed > 0 => Err(format!(
            "{} change(s) could not be made (see the log)",
            report.failed
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// When the next pass is due after `outcome`: a conf that could not be written or removed, or
/// a failed pass, is tried again with backoff, not only at the next resync. A pass that fails
/// is warned about once, and its recovery said once.
fn next_due(
    outcome: Result<super::PassReport, super::ReconcileError>,
    policy: &mut ErrorPolicy,
) -> Action {
    match outcome {
        Ok(report) if report.failed > 0 => {
            let retry = policy.on_error(&PartlyFailed);
            match (retry, report.changes.next_due) {
                (Action::Requeue(r), Some(d)) => Action::Requeue(r.min(d)),
                (retry, _) => retry,
            }
        }
        Ok(report) => {
            let (action, recovered) = policy.on_success(report.changes.next_due);
            if recovered {
                tracing::info!("a pass succeeded again");
            }
            action
        }
        Err(e) => {
            let first = !policy.failing();
            let action = policy.on_error(&e);
            let retry_in_ms = action.delay().map_or(0, |d| d.as_millis() as u64);
            if first {
                tracing::warn!(
                    error = %e,
                    kind = e.label(),
                    retry_in_ms,
                    "pass failed; confs already written stay as they are; retrying with backoff (said once until a pass succeeds)"
                );
            } else {
                tracing::debug!(error = %e, kind = e.label(), retry_in_ms, "pass failed again");
            }
            action
        }
    }
}

/// A pass that ran but could not make every change: retried with backoff like a failure.
struct PartlyFailed;

impl crate::runtime::policy::Classify for PartlyFailed {
    fn persistence(&self) -> crate::runtime::policy::Persistence {
        crate::runtime::policy::Persistence::Transient
    }
    fn label(&self) -> &'static str {
        "partly-failed"
    }
}

/// After a wake that matters: waits out the quiet period (none when a container is stopping),
/// gathering the burst, and notes what the events said of containers' lives. Returns when the
/// last event arrived.
async fn gather(
    rec: &mut Reconciler,
    rx: &mut mpsc::Receiver<Wake>,
    wake: Wake,
    settings: &Settings,
    last_event: Option<tokio::time::Instant>,
) -> tokio::time::Instant {
    let why = match &wake {
        Wake::Event(e) => format!("{} {} {}", e.kind, e.action, e.name),
        Wake::Connected => "reconnected".into(),
    };
    let now = tokio::time::Instant::now();
    let quiet = quiet_period(
        settings,
        last_event.map(|t| now.saturating_duration_since(t)),
    );
    // A container that stops may hold SWAG on its network: release it before
    // `docker compose down` tries to remove that network, so no quiet period.
    let mut lives: Vec<Lifecycle> = match &wake {
        Wake::Event(e) => lifecycle(e).into_iter().collect(),
        Wake::Connected => Vec::new(),
    };
    let stopping = lives.iter().any(|l| matches!(l, Lifecycle::Stopping(_)));
    let quiet = if stopping { Duration::ZERO } else { quiet };
    tracing::debug!(why = %why, quiet_ms = quiet.as_millis() as u64, "woken");
    let watched = &rec.watched;
    let relevant = |w: &Wake| wake_matters(w, &settings.labels.prefix, watched);
    let (last, more) = debounce(rx, quiet, settings.debounce_max, relevant).await;
    lives.extend(more);
    for life in lives {
        rec.note(life);
    }
    last
}

/// How [`watch`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// Asked to stop.
    Shutdown,
    /// The event task ended on its own.
    EventsLost,
}

/// Events further apart than this start a new burst.
const BURST_WINDOW: Duration = Duration::from_secs(1);

/// The quiet period to wait for after an event: short for a lone event (a low reaction time), longer
/// when the previous event came less than [`BURST_WINDOW`] before, so the rest of a burst (a compose
/// stack starting container after container) is gathered into few passes.
fn quiet_period(settings: &Settings, since_previous_event: Option<Duration>) -> Duration {
    match since_previous_event {
        Some(gap) if gap < BURST_WINDOW => settings.debounce_burst,
        _ => settings.debounce,
    }
}

/// The longest a container counts as stopping without dying (compose's default stop timeout is
/// 10 s).
pub(super) const STOPPING_AT_MOST: Duration = Duration::from_secs(120);

/// A container's life as its events tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lifecycle {
    /// Told to stop (SIGTERM, SIGINT, SIGQUIT, SIGKILL: `docker stop`, `docker compose down`), or
    /// died.
    Stopping(String),
    Started(String),
}

fn lifecycle(e: &EngineEvent) -> Option<Lifecycle> {
    // A replayed `kill` may be followed by a `start` the loop has not read yet: only live
    // events say what a container is doing now.
    if e.kind != "container" || e.replayed {
        return None;
    }
    let stop_signal = || {
        matches!(
            e.attributes.get("signal").map(String::as_str),
            Some("2" | "3" | "9" | "15" | "SIGINT" | "SIGQUIT" | "SIGKILL" | "SIGTERM")
        )
    };
    match e.action.as_str() {
        "die" => Some(Lifecycle::Stopping(e.id.clone())),
        "kill" if stop_signal() => Some(Lifecycle::Stopping(e.id.clone())),
        "start" => Some(Lifecycle::Started(e.id.clone())),
        _ => None,
    }
}

/// Waits until no event came for `quiet`, or `max` after the first; a container stopping ends the
/// wait at once. Returns when the last event arrived, and what the events said of containers'
/// lives, in order.
async fn debounce(
    rx: &mut mpsc::Receiver<Wake>,
    quiet: Duration,
    max: Duration,
    relevant: impl Fn(&Wake) -> bool,
) -> (tokio::time::Instant, Vec<Lifecycle>) {
    let start = tokio::time::Instant::now();
    let cap = start + max;
    let mut last = start;
    let mut lives = Vec::new();
    loop {
        let until = (last + quiet).min(cap);
        tokio::select! {
            _ = sleep_until(until) => return (last, lives),
            more = rx.recv() => match more {
                Some(w) if relevant(&w) => {
                    last = tokio::time::Instant::now();
                    if let Some(life) = match &w { Wake::Event(e) => lifecycle(e), Wake::Connected => None } {
                        let stop = matches!(life, Lifecycle::Stopping(_));
                        lives.push(life);
                        if stop {
                            return (last, lives);
                        }
                    }
                }
                Some(_) => {}
                None => return (last, lives),
            },
        }
        if tokio::time::Instant::now() >= cap {
            return (last, lives);
        }
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
