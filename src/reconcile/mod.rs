//! A pass: observe the engine and the proxy-confs folder, plan, apply, report. [`watch`] runs
//! passes on events; `netsync` holds the network step, `watch` the loop.
//!
//! This is the one module that wires the pure core (`labels`, `plan`, `render`, `networks`,
//! `authentik::sync`) to the I/O edges (`docker`, `confdir`, `netstate`, `authentik::client`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tracing::Instrument as _;

pub mod authentik;

use crate::edge::confdir::ConfDirError;
use crate::edge::docker::EngineError;
use crate::plan::{ChangeSet, Desired, GraceClock};
use crate::render::dryrun::DryRun;
use crate::runtime::report::ReportOnce;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Docker(#[from] EngineError),
    #[error(transparent)]
    ConfDir(#[from] ConfDirError),
}

impl ReconcileError {
    /// A short name for logs and metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Docker(_) => "docker",
            Self::ConfDir(_) => "confdir",
        }
    }
}

impl crate::runtime::policy::Classify for ReconcileError {
    /// An engine that refuses for good (a permission, a bad request) waits for a change (the
    /// event stream's reconnect wakes the loop); anything else is retried with backoff.
    fn persistence(&self) -> crate::runtime::policy::Persistence {
        use crate::runtime::policy::Persistence;
        match self {
            Self::Docker(e) if !e.is_transient() => Persistence::Permanent,
            Self::Docker(_) | Self::ConfDir(_) => Persistence::Transient,
        }
    }

    fn label(&self) -> &'static str {
        ReconcileError::label(self)
    }
}

/// What one pass saw and did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub desired: Desired,
    pub changes: ChangeSet,
    pub written: usize,
    pub removed: usize,
    /// How many running workloads the pass saw.
    pub workloads: usize,
    /// Everything that failed: conf writes and removals, network changes, authentik requests.
    pub failed: usize,
    /// Of those, conf writes and removals the file system refused (not a file gatehouse left
    /// alone as not its own).
    pub conf_failures: usize,
    /// Protected apps whose authentik labels are rejected (their conf is still written).
    pub(crate) authentik_rejected: usize,
    /// The authentik round run by this pass (`run --once` only; in watch mode a worker runs it).
    pub(crate) authentik: Option<Result<authentik::SyncReport, String>>,
    /// Network attachments made and undone this pass.
    pub(crate) connected: usize,
    pub(crate) disconnected: usize,
    /// What the network and authentik steps would do (dry run only; nothing was applied).
    pub dry_run: Option<DryRun>,
    /// What the status page shows of this pass (`run` only).
    pub(crate) seen: crate::status::snapshot::Seen,
}

impl PassReport {
    /// Workloads whose labels are rejected: for the conf, or for authentik.
    pub fn rejected(&self) -> usize {
        self.desired.rejected.len() + self.authentik_rejected
    }
}

/// How a pass is run: it decides when confs of gone workloads are removed and where the
/// authentik round runs. (The dry run is not a mode: it is [`Reconciler::dry_run`], which plans
/// and never reaches the applying code.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Long-running: wait out the grace period across passes; authentik in its worker.
    Watch,
    /// One pass and exit: nothing will come back to remove them later, so remove them now;
    /// authentik inline.
    Once,
}

/// Runs passes and remembers what it reported, so a problem that lasts is logged once, not on
/// every resync.
#[derive(Debug)]
pub struct Reconciler {
    ctx: Context,
    clock: GraceClock,
    reported: ReportOnce,
    /// Names and ids of the containers the last pass cared about (published, rejected, or named
    /// by a conf gatehouse owns): their events wake the loop even without labels.
    watched: BTreeSet<String>,
    /// authentik provisioning: run inline (`--once`) until [`watch`] hands it to a worker.
    authentik: Option<authentik::Provisioner>,
    authentik_tx: Option<tokio::sync::watch::Sender<std::sync::Arc<authentik::Desired>>>,
    /// Why provisioning is off although it is configured (the client cannot be set up).
    authentik_broken: Option<String>,
    net: NetSync,
    /// Containers told to stop (SIGTERM, SIGKILL, …) or that died, by id, with when: the engine
    /// lists them as running until their shutdown and cleanup are over, too late for
    /// `docker compose down` to remove their network if SWAG is still on it.
    stopping: BTreeMap<String, Instant>,
    /// Whether Swarm services are listed (decided on the first pass).
    swarm: swarm::SwarmListing,
    /// The services carrying gatehouse's labels, live or not, as the last listing saw them.
    swarm_watch: Vec<String>,
    /// What the status page and `/metrics` show ([`Reconciler::board`]).
    board: crate::status::board::Board,
}

impl Reconciler {
    pub fn new(ctx: Context) -> Self {
        let mut authentik_broken = None;
        let authentik = match &ctx.settings.authentik {
            None => {
                tracing::info!("authentik provisioning is off (set GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN to turn it on); proxy-confs are managed as usual");
                None
            }
            Some(a) => match authentik::Provisioner::new(a) {
                Ok(p) => {
                    let s = &ctx.settings;
                    let p = provisioning::with_outpost(p, &ctx, a)
                        .with_state_file(
                            crate::edge::fieldstate::FieldStateFile::new(&s.swag_config)
                                .owned_by(s.puid, s.pgid),
                        )
                        .with_credentials(
                            authentik::sso::Credentials::new(
                                crate::edge::sso::SsoDir::new(s.sso_dir.clone()),
                                s.issuer_base().unwrap_or_else(|| a.url.clone()),
                                (s.puid, s.pgid),
                            )
                            .with_engine(ctx.engines.local().clone()),
                        )
                        .with_mfa(
                            s.mfa,
                            Some(
                                crate::edge::mfastate::MfaStateFile::new(&s.swag_config)
                                    .owned_by(s.puid, s.pgid),
                            ),
                        );
                    tracing::info!(url = %a.url, domain = %a.domain, "authentik provisioning is on");
                    provisioning::log_instance(p.instance());
                    Some(p)
                }
                Err(e) => {
                    tracing::error!(error = %e, "authentik provisioning is off: cannot set up the client");
                    authentik_broken = Some(e.to_string());
                    None
                }
            },
        };
        let board = crate::status::board::Board::new(
            ctx.settings.resync,
            ctx.settings.authentik.is_some() && authentik_broken.is_none(),
        );
        Self {
            board,
            net: NetSync::new(&ctx.settings),
            ctx,
            clock: GraceClock::default(),
            reported: ReportOnce::default(),
            watched: BTreeSet::new(),
            stopping: BTreeMap::new(),
            authentik,
            authentik_tx: None,
            authentik_broken,
            swarm: swarm::SwarmListing::default(),
            swarm_watch: Vec::new(),
        }
    }

    /// One full pass: observe everything, plan, apply. Every line it logs is in a `pass` span
    /// naming the engine's host; lines about one workload are in a `workload` span within it
    /// (`container`, `app`).
    pub async fn pass(&mut self, mode: Mode) -> Result<PassReport, ReconcileError> {
        let span =
            tracing::info_span!("pass", host = %self.ctx.engines.local().host(), mode = ?mode);
        async {
            let started = Instant::now();
            let plan = self.observe_and_plan(mode.into()).await?;
            let workloads = plan.workloads.len();
            let report = self.apply_plan(plan, mode).await;
            self.log_pass_done(&report, workloads, started);
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// The dry run (`gatehouse render`): observe and plan as a `run --once` pass would, then
    /// read what the network and authentik steps need to say what they would do. Nothing is
    /// written: no file, no engine change, no authentik write.
    pub async fn dry_run(&mut self) -> Result<PassReport, ReconcileError> {
        let span =
            tracing::info_span!("pass", host = %self.ctx.engines.local().host(), mode = "dry-run");
        async {
            let plan = self.observe_and_plan(pass::Removal::Now).await?;
            Ok(self.preview_plan(plan).await)
        }
        .instrument(span)
        .await
    }

    fn log_pass_done(&self, report: &PassReport, workloads: usize, started: Instant) {
        tracing::debug!(
            containers = workloads,
            apps = report.desired.apps.len(),
            rejected = report.rejected(),
            written = report.written,
            removed = report.removed,
            held = self.clock.pending(),
            connected = report.connected,
            disconnected = report.disconnected,
            docker_requests = self.ctx.engines.local().requests_made(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pass done"
        );
    }

    /// The board [`watch`] posts its passes to: serve it with [`crate::status::server`].
    pub fn board(&self) -> crate::status::board::Board {
        self.board.clone()
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// What the events say of a container's life, ahead of the listing: one that is stopping is
    /// treated as stopped by the network step; a start clears that.
    fn note(&mut self, life: Lifecycle) {
        match life {
            Lifecycle::Stopping(id) => {
                self.stopping.entry(id).or_insert_with(Instant::now);
            }
            Lifecycle::Started(id) => {
                self.stopping.remove(&id);
            }
        }
    }

    /// The workloads not told to stop, and when the oldest stop mark runs out.
    ///
    /// A container told to stop is still listed while it shuts down. Its conf stays (the grace
    /// period starts once it is gone), but SWAG leaves its network at once, so that `docker
    /// compose down` can remove the network.
    fn not_stopping(
        &mut self,
        containers: &[crate::model::workload::Workload],
    ) -> (Vec<crate::model::workload::Workload>, Option<Duration>) {
        let now = Instant::now();
        self.stopping.retain(|id, since| {
            now.saturating_duration_since(*since) < STOPPING_AT_MOST
                && containers.iter().any(|c| &c.id == id)
        });
        let live = containers
            .iter()
            .filter(|c| !self.stopping.contains_key(&c.id))
            .cloned()
            .collect();
        // A container that never stops after all counts again once the mark runs out.
        let recheck = self
            .stopping
            .values()
            .map(|since| STOPPING_AT_MOST.saturating_sub(now.saturating_duration_since(*since)))
            .min();
        (live, recheck)
    }
}

/// The span of lines about one workload: its container, and the app it publishes (the conf's
/// first server name) when it publishes one.
pub(super) fn workload_span(container: Option<&str>, app: Option<String>) -> tracing::Span {
    tracing::info_span!(
        "workload",
        container = %container.unwrap_or_default(),
        app = %app.unwrap_or_default()
    )
}

/// The app `container` publishes, named by its first server name (`web` for `web.*`).
pub(super) fn app_of(desired: &Desired, container: Option<&str>) -> Option<String> {
    let container = container?;
    let app = desired
        .apps
        .iter()
        .find(|a| a.spec.container == container)?;
    app.spec.server_names.first().map(|n| n.key().to_owned())
}

mod context;
mod include;
mod networks;
pub mod outpost;
mod pass;
mod provisioning;
mod seen;
mod swarm;
mod watch;

pub use context::{Context, Engines};

#[cfg(test)]
mod test_log;
#[cfg(test)]
#[path = "pass_tests.rs"]
mod tests;

use networks::NetSync;
pub use watch::{watch, WatchEnd};
use watch::{Lifecycle, STOPPING_AT_MOST};
