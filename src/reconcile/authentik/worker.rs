//! The authentik worker: a round after each conf pass, when a held removal falls due, and with
//! backoff after a failure. Each round ends in an [`Outcome`]; the latest one's status is
//! published on a watch channel ([`WorkerHandle::status`]) for the health record.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Provisioner, SyncReport};
use crate::edge::authentik::{Api, ApiError};
use crate::model::problem::{Problem, ProblemKind};
use crate::plan::authentik::Desired;
use crate::runtime::backoff::Backoff;
use crate::runtime::policy::{Action, Classify, ErrorPolicy, Outcome, Persistence};

/// The first retry after a failed round waits this long, each next one twice as long, up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// How the latest round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundStatus {
    /// When it ended.
    pub(crate) at: SystemTime,
    /// `None`: it went through (problems with single apps aside); else why it failed.
    pub(crate) error: Option<String>,
    /// How many problems it reported (rejected labels, conflicts, refused requests, kept
    /// objects).
    pub(crate) problems: usize,
    /// authentik's version as last read (`2026.5`).
    pub(crate) version: Option<String>,
}

/// A worker started with [`spawn_worker`].
#[derive(Debug)]
pub struct WorkerHandle {
    /// Ends when the sender of the desired state goes.
    pub(crate) task: JoinHandle<()>,
    /// The latest round's status; `None` until the first round ends (after the first conf
    /// pass). Read it with `borrow()`, or wait for the next with `changed()`.
    pub(crate) status: watch::Receiver<Option<RoundStatus>>,
}

/// A round's failure, for the error policy. A round ends with an error only when authentik
/// cannot be reached, refuses the token, or answers something unreadable: each can change on
/// authentik's side without any change here, so each is retried with backoff. (A single
/// request authentik refuses does not end the round: see [`super::Refused`].)
struct RoundError<'a>(&'a ApiError);

impl Classify for RoundError<'_> {
    fn persistence(&self) -> Persistence {
        Persistence::Transient
    }

    fn label(&self) -> &'static str {
        match self.0 {
            ApiError::Url(_) => "url",
            ApiError::Unreachable(_) => "unreachable",
            ApiError::Timeout(_) => "timeout",
            ApiError::Status { .. } => "status",
            ApiError::Decode { .. } => "decode",
        }
    }
}

/// Starts [`run_worker`] on the runtime, and returns its task and the status of its rounds.
pub fn spawn_worker<A>(
    prov: Provisioner<A>,
    rx: watch::Receiver<Arc<Desired>>,
    grace: Duration,
) -> WorkerHandle
where
    A: Api + Send + Sync + 'static,
{
    let (tx, status) = watch::channel(None);
    WorkerHandle {
        task: tokio::spawn(work(prov, rx, grace, tx)),
        status,
    }
}

/// Keeps authentik in line with the latest [`Desired`] sent by the conf loop: a round after each
/// pass, when a held removal falls due, and with backoff after a failure, until the sender goes.
/// (To read how its rounds end, start it with [`spawn_worker`].)
pub async fn run_worker<A: Api>(
    prov: Provisioner<A>,
    rx: watch::Receiver<Arc<Desired>>,
    grace: Duration,
) {
    work(prov, rx, grace, watch::channel(None).0).await;
}

async fn work<A: Api>(
    mut prov: Provisioner<A>,
    mut rx: watch::Receiver<Arc<Desired>>,
    grace: Duration,
    status: watch::Sender<Option<RoundStatus>>,
) {
    let mut worker = Worker {
        policy: ErrorPolicy::new(Backoff::new(RETRY_FIRST, RETRY_MAX)),
        down_since: None,
        status,
    };
    // Nothing is known before the first conf pass; an empty desired state now would start
    // removing every object gatehouse made.
    if rx.changed().await.is_err() {
        return;
    }
    loop {
        let desired = rx.borrow_and_update().clone();
        let outcome = worker.round(&mut prov, &desired, grace).await;
        let sleep = async {
            match outcome.action {
                Action::Requeue(d) => tokio::time::sleep(d).await,
                Action::AwaitChange => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = sleep => {}
        }
    }
}

/// What the worker keeps between rounds.
struct Worker {
    policy: ErrorPolicy,
    /// Since when authentik has been failing.
    down_since: Option<Instant>,
    status: watch::Sender<Option<RoundStatus>>,
}

impl Worker {
    /// One round, logged, its status published; and what to do next.
    async fn round<A: Api>(
        &mut self,
        prov: &mut Provisioner<A>,
        desired: &Desired,
        grace: Duration,
    ) -> Outcome<SyncReport> {
        let result = prov.sync(desired, grace).await;
        let mut problems = prov.problems().to_vec();
        let (report, action, error) = match result {
            Ok(report) => {
                if let Some(since) = self.down_since.take() {
                    tracing::info!(
                        down_s = since.elapsed().as_secs(),
                        "authentik is reachable again; provisioning caught up"
                    );
                }
                let (action, _) = self.policy.on_success(report.next_due);
                (report, action, None)
            }
            Err(e) => {
                let action = self.policy.on_error(&RoundError(&e));
                self.failed(&e, action);
                let message = format!("authentik provisioning failed: {e}");
                problems.push(Problem::new(ProblemKind::Warning, "authentik", message));
                (SyncReport::default(), action, Some(e.to_string()))
            }
        };
        let outcome = Outcome {
            report,
            problems,
            action,
        };
        if error.is_none() {
            tracing::debug!(
                reads = outcome.report.reads,
                writes = outcome.report.writes,
                failed = outcome.report.failed,
                "authentik round done"
            );
        }
        self.status.send_replace(Some(RoundStatus {
            at: SystemTime::now(),
            error,
            problems: outcome.problems.len(),
            version: prov.version.map(|v| v.to_string()),
        }));
        outcome
    }

    /// Logs a failed round: a warning when authentik starts failing, then at debug level.
    fn failed(&mut self, e: &ApiError, action: Action) {
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(error = %e, kind = RoundError(e).label(), "authentik provisioning failed; protected apps keep their authentik includes (nginx refuses rather than serves); retrying with backoff");
        } else {
            let retry_in_ms = action.delay().unwrap_or_default().as_millis() as u64;
            tracing::debug!(error = %e, retry_in_ms, "authentik still failing");
        }
    }
}
