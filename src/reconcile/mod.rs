//! A pass: observe the engine and the proxy-confs folder, plan, apply, report. [`watch`] runs
//! passes on events; `netsync` holds the network step, `watch` the loop.
//!
//! This is the one module that wires the pure core (`labels`, `plan`, `render`, `networks`,
//! `authentik::sync`) to the I/O edges (`docker`, `confdir`, `netstate`, `authentik::client`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tokio::time::sleep;
use tracing::Instrument as _;

pub mod authentik;

use crate::edge::confdir::ConfDirError;
use crate::edge::docker::EngineError;
use crate::plan::{self, Change, ChangeSet, Desired, GraceClock};
use crate::render::dryrun::{AuthentikPreview, DryRun};
use crate::render::wording::{Describe, Tense};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Docker(#[from] EngineError),
    #[error(transparent)]
    ConfDir(#[from] ConfDirError),
}

impl ReconcileError {
    /// A short name for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Docker(_) => "docker",
            Self::ConfDir(_) => "confdir",
        }
    }
}

/// What one pass saw and did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub desired: Desired,
    pub changes: ChangeSet,
    pub written: usize,
    pub removed: usize,
    pub failed: usize,
    /// The authentik round run by this pass (`run --once` only; in watch mode a worker runs it).
    pub authentik: Option<Result<authentik::SyncReport, String>>,
    /// Network attachments made and undone this pass.
    pub connected: usize,
    pub disconnected: usize,
    /// What the network and authentik steps would do (dry run only; nothing was applied).
    pub dry_run: Option<DryRun>,
}

impl PassReport {
    pub fn rejected(&self) -> usize {
        self.desired.rejected.len()
    }
}

/// How a pass treats confs whose container is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Long-running: wait out the grace period across passes.
    Watch,
    /// One pass and exit: nothing will come back to remove them later, so remove them now.
    Once,
    /// Plan only, write nothing.
    DryRun,
}

/// Runs passes and remembers what it reported, so a problem that lasts is logged once, not on
/// every resync.
#[derive(Debug)]
pub struct Reconciler {
    ctx: Context,
    clock: GraceClock,
    reported: BTreeMap<String, String>,
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
}

/// Says at start which marks this gatehouse owns in authentik.
fn log_instance(i: &authentik::Instance) {
    let (publisher, provider) = (i.publisher(), i.provider_name("<slug>"));
    match i.name() {
        None => tracing::info!(
            instance = "",
            "authentik objects are marked as {i}'s: meta_publisher {publisher:?}, providers named {provider} (no GATEHOUSE_INSTANCE; only one such gatehouse may run per authentik)"
        ),
        Some(n) => tracing::info!(
            instance = n,
            "authentik objects are marked as {i}'s: meta_publisher {publisher:?}, providers named {provider}; objects of other instances are left alone"
        ),
    }
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
                    let p = p.with_state_file(
                        crate::edge::fieldstate::FieldStateFile::new(&ctx.settings.swag_config)
                            .owned_by(ctx.settings.puid, ctx.settings.pgid),
                    );
                    tracing::info!(url = %a.url, domain = %a.domain, "authentik provisioning is on");
                    log_instance(p.instance());
                    Some(p)
                }
                Err(e) => {
                    tracing::error!(error = %e, "authentik provisioning is off: cannot set up the client");
                    authentik_broken = Some(e.to_string());
                    None
                }
            },
        };
        Self {
            net: NetSync::new(&ctx.settings),
            ctx,
            clock: GraceClock::default(),
            reported: BTreeMap::new(),
            watched: BTreeSet::new(),
            stopping: BTreeMap::new(),
            authentik,
            authentik_tx: None,
            authentik_broken,
        }
    }

    /// Moves authentik provisioning to its own task, fed the desired state after every pass, so
    /// the conf loop never waits on authentik.
    fn start_authentik_worker(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        let prov = self.authentik.take()?;
        let (tx, rx) =
            tokio::sync::watch::channel(std::sync::Arc::new(authentik::Desired::default()));
        self.authentik_tx = Some(tx);
        let grace = self.ctx.settings.remove_grace;
        Some(tokio::spawn(authentik::run_worker(prov, rx, grace)))
    }

    /// After the confs are applied: hand authentik's desired state to the worker (watch), or run
    /// one round inline (once). Protected confs already carry the includes either way.
    async fn authentik_step(
        &mut self,
        containers: &[crate::model::workload::Workload],
        report: &mut PassReport,
        mode: Mode,
    ) {
        let Some(settings) = &self.ctx.settings.authentik else {
            return;
        };
        let desired = crate::plan::authentik::desired(
            &report.desired,
            containers,
            &self.ctx.settings.labels,
            settings,
        );
        match mode {
            // A dry run reads and plans in `preview_authentik` instead.
            Mode::DryRun => {}
            Mode::Watch => {
                if let Some(tx) = &self.authentik_tx {
                    tx.send_replace(std::sync::Arc::new(desired));
                }
            }
            Mode::Once => {
                let Some(prov) = self.authentik.as_mut() else {
                    return;
                };
                let mut delay = Duration::from_millis(500);
                let mut result = prov.sync(&desired, Duration::ZERO).await;
                for _ in 0..3 {
                    match &result {
                        Err(e) if e.is_transient() => {
                            tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "authentik round failed; retrying");
                            sleep(delay).await;
                            delay *= 2;
                            result = prov.sync(&desired, Duration::ZERO).await;
                        }
                        _ => break,
                    }
                }
                match &result {
                    Err(e) => {
                        report.failed += 1;
                        tracing::error!(error = %e, "authentik provisioning failed; the proxy-confs are written and keep their authentik includes");
                    }
                    Ok(r) => report.failed += r.failed,
                }
                report.authentik = Some(result.map_err(|e| e.to_string()));
            }
        }
    }

    /// What authentik provisioning would do, read (GET requests only) and planned, nothing
    /// sent: one attempt, no retries, so the dry run does not hang on an absent authentik.
    async fn preview_authentik(
        &mut self,
        containers: &[crate::model::workload::Workload],
        planned: &Desired,
    ) -> AuthentikPreview {
        let Some(settings) = &self.ctx.settings.authentik else {
            return AuthentikPreview::Off;
        };
        let url = settings.url.clone();
        let desired = crate::plan::authentik::desired(
            planned,
            containers,
            &self.ctx.settings.labels,
            settings,
        );
        let Some(prov) = self.authentik.as_mut() else {
            return AuthentikPreview::NoClient(self.authentik_broken.clone().unwrap_or_default());
        };
        match prov.preview(&desired).await {
            Ok(preview) => AuthentikPreview::Planned { url, preview },
            Err(e) => {
                tracing::warn!(error = %e, "authentik did not answer; the dry run cannot show what would change there");
                AuthentikPreview::Unreachable {
                    url,
                    error: e.to_string(),
                    desired,
                }
            }
        }
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

    /// One full pass: observe everything, plan, apply (unless dry run). Every line it logs is
    /// in a `pass` span naming the engine's host; lines about one workload are in a `workload`
    /// span within it (`container`, `app`).
    pub async fn pass(&mut self, mode: Mode) -> Result<PassReport, ReconcileError> {
        let span =
            tracing::info_span!("pass", host = %self.ctx.engines.local().host(), mode = ?mode);
        self.run_pass(mode).instrument(span).await
    }

    async fn run_pass(&mut self, mode: Mode) -> Result<PassReport, ReconcileError> {
        let started = Instant::now();
        let containers = self.ctx.engines.local().running_workloads().await?;
        let (live, recheck) = self.not_stopping(&containers);
        let state = self.ctx.confdir.scan()?;
        let rules = &self.ctx.settings.labels;
        let samples = self
            .ctx
            .confdir
            .read_samples(&plan::presets_needed(&containers, rules));
        let mut desired = plan::desired(&containers, &state, &samples, rules);
        self.watched = watched_containers(&containers, &desired, &state);
        let with_conf: BTreeSet<&str> = state
            .owned
            .values()
            .filter_map(|o| o.container.as_deref())
            .collect();
        let net_step = self.plan_networks(&live, &mut desired, &with_conf);
        let grace = match mode {
            Mode::Watch => self.ctx.settings.remove_grace,
            Mode::Once | Mode::DryRun => Duration::ZERO,
        };
        let mut clock = match mode {
            Mode::DryRun => self.clock.clone(),
            _ => std::mem::take(&mut self.clock),
        };
        let mut changes = plan::changes(&desired, &state, &mut clock, Instant::now(), grace);
        if let Some(r) = recheck {
            changes.next_due = Some(changes.next_due.map_or(r, |d| d.min(r)));
        }
        if mode != Mode::DryRun {
            self.clock = clock;
        }
        self.report_problems(&desired, &changes, mode);
        let mut report = PassReport {
            desired,
            changes,
            ..PassReport::default()
        };
        if mode == Mode::DryRun {
            let networks = self.preview_networks(net_step).await;
            let authentik = self.preview_authentik(&containers, &report.desired).await;
            report.dry_run = Some(DryRun {
                networks,
                authentik,
            });
        } else {
            // Attach first, so SWAG can resolve an app by the time it loads the app's conf.
            if let NetStep::Planned { plan, .. } = net_step {
                self.apply_networks(plan, &mut report).await;
            }
            self.apply(&mut report);
            self.authentik_step(&containers, &mut report, mode).await;
        }
        tracing::debug!(
            containers = containers.len(),
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
        Ok(report)
    }

    fn apply(&self, report: &mut PassReport) {
        for change in &report.changes.changes {
            let container = match change {
                Change::Write { container, .. } => Some(container.as_str()),
                Change::Remove { container, .. } => container.as_deref(),
            };
            let _span = workload_span(container, app_of(&report.desired, container)).entered();
            let result = match change {
                Change::Write { file, content, .. } => self.ctx.confdir.write(file, content),
                Change::Remove { file, .. } => self.ctx.confdir.remove(file),
            };
            match (result, change) {
                (Ok(true), _) => {
                    match change {
                        Change::Write { .. } => report.written += 1,
                        Change::Remove { .. } => report.removed += 1,
                    }
                    tracing::info!("{}", change.said(Tense::Done));
                }
                (Ok(false), _) => {}
                (Err(e), Change::Write { file, .. }) => {
                    report.failed += 1;
                    tracing::error!(file = %file, error = %e, "could not write conf");
                }
                (Err(e), Change::Remove { file, .. }) => {
                    report.failed += 1;
                    tracing::error!(file = %file, error = %e, "could not remove conf");
                }
            }
        }
    }

    /// Logs rejections, warnings and kept confs: each once while it lasts in watch mode, and a
    /// line when it clears.
    fn report_problems(&mut self, desired: &Desired, changes: &ChangeSet, mode: Mode) {
        let mut now: BTreeMap<String, String> = BTreeMap::new();
        for r in &desired.rejected {
            now.insert(format!("rejected:{}", r.container), r.reason.clone());
        }
        for (container, w) in &desired.warnings {
            now.insert(
                format!("warning:{container}:{w}"),
                format!("container {container} {w}"),
            );
        }
        for (file, why) in &changes.kept {
            now.insert(format!("kept:{file}"), format!("{file} {why}"));
        }
        for (key, msg) in &now {
            if mode == Mode::Watch && self.reported.get(key) == Some(msg) {
                continue;
            }
            let container = key
                .strip_prefix("rejected:")
                .or_else(|| key.strip_prefix("warning:")?.split(':').next());
            let _span = workload_span(container, app_of(desired, container)).entered();
            if key.starts_with("rejected:") {
                tracing::warn!("rejected {msg}");
            } else if key.starts_with("kept:") {
                tracing::info!("{msg}");
            } else {
                tracing::warn!("{msg}");
            }
        }
        for key in self.reported.keys() {
            if let Some(container) = key.strip_prefix("rejected:") {
                if !now.contains_key(key) {
                    tracing::info!(container = %container, "container {container}: no longer rejected");
                }
            }
        }
        self.reported = now;
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

/// The containers whose events matter even when they carry no label of ours: the ones published
/// or rejected, and the ones named by an owned conf (their going away removes it).
fn watched_containers(
    containers: &[crate::model::workload::Workload],
    desired: &Desired,
    state: &crate::model::workload::ConfDirState,
) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = desired
        .apps
        .iter()
        .map(|a| a.spec.container.clone())
        .chain(desired.rejected.iter().map(|r| r.container.clone()))
        .chain(state.owned.values().filter_map(|o| o.container.clone()))
        .collect();
    let ids: Vec<String> = containers
        .iter()
        .filter(|c| names.contains(&c.name))
        .map(|c| c.id.clone())
        .collect();
    names.extend(ids);
    names
}

mod context;
mod networks;
mod watch;

pub use context::{Context, Engines};

#[cfg(test)]
mod test_log;
#[cfg(test)]
#[path = "pass_tests.rs"]
mod tests;

use networks::{NetStep, NetSync};
pub use watch::{watch, WatchEnd};
use watch::{Backoff, Lifecycle, STOPPING_AT_MOST};
