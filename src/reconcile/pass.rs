//! One pass, in three steps: observe the engine and the proxy-confs folder, plan everything
//! (pure: confs, networks, authentik's desired state), then either apply the plan (`run`) or
//! preview it (`render`, reads only). Nothing in the applying code asks whether it is a dry run:
//! the dry run never reaches it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::networks::NetStep;
use super::{app_of, workload_span, Mode, PassReport, ReconcileError, Reconciler};
use crate::model::problem::{Problem, ProblemKind};
use crate::model::workload::{ConfDirState, Workload};
use crate::plan::grace::sooner;
use crate::plan::{self, Change, ChangeSet, Desired, GraceClock};
use crate::render::dryrun::DryRun;
use crate::render::wording::{Describe, Tense};
use crate::runtime::report::Said;

/// Everything one pass saw and planned; nothing applied yet.
#[derive(Debug)]
pub(super) struct PassPlan {
    pub(super) workloads: Vec<Workload>,
    pub(super) desired: Desired,
    pub(super) changes: ChangeSet,
    pub(super) net_step: NetStep,
    /// What authentik should hold (`None`: provisioning is off).
    pub(super) authentik: Option<crate::plan::authentik::Desired>,
    /// The grace clock as this plan leaves it (kept by a run, dropped by a dry run).
    pub(super) clock: GraceClock,
}

/// The workloads in scope, SWAG and authentik's server when outside it, and the warnings about
/// labels on Swarm tasks' containers.
type Listed = (Vec<Workload>, Vec<Workload>, Vec<(String, String)>);

/// How confs (and authentik objects) of workloads that are gone are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Removal {
    /// After the grace period, across passes (a recreate must not flap).
    AfterGrace,
    /// At once: nothing will come back later to remove them (`run --once`, `render`).
    Now,
}

impl From<Mode> for Removal {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Watch => Self::AfterGrace,
            Mode::Once => Self::Now,
        }
    }
}

impl Reconciler {
    /// Observes the engine and the folder, and plans every change (says nothing of them yet).
    pub(super) async fn observe_and_plan(
        &mut self,
        removal: Removal,
    ) -> Result<PassPlan, ReconcileError> {
        let (workloads, outside, task_warnings) = self.list_workloads().await?;
        let (live, recheck) = self.not_stopping(&workloads);
        let state = self.ctx.confdir.scan()?;
        let rules = &self.ctx.settings.labels;
        let samples = self
            .ctx
            .confdir
            .read_samples(&plan::presets_needed(&workloads, rules));
        let mut desired = plan::desired(&workloads, &state, &samples, rules);
        self.switch_includes(&mut desired);
        desired.warnings.extend(task_warnings);
        self.watched = watched_containers(&workloads, &desired, &state);
        self.watched.extend(self.swarm_watch.iter().cloned());
        let with_conf: BTreeSet<&str> = state
            .owned
            .values()
            .filter_map(|o| o.container.as_deref())
            .collect();
        let net_step = self
            .plan_networks(&live, &outside, &mut desired, &with_conf)
            .await;
        let grace = match removal {
            Removal::AfterGrace => self.ctx.settings.remove_grace,
            Removal::Now => Duration::ZERO,
        };
        let mut clock = self.clock.clone();
        let mut changes = plan::changes(&desired, &state, &mut clock, Instant::now(), grace);
        if let Some(r) = recheck {
            changes.next_due = sooner(changes.next_due, r);
        }
        let settings = &self.ctx.settings;
        let authentik = settings
            .authentik
            .as_ref()
            .map(|ak| crate::plan::authentik::desired(&desired, &workloads, &settings.labels, ak));
        Ok(PassPlan {
            workloads,
            desired,
            changes,
            net_step,
            authentik,
            clock,
        })
    }

    /// The running workloads in the scope (all of them without `GATEHOUSE_SCOPE_LABEL`), and
    /// SWAG and authentik's server when the scope label leaves them out: they are not apps, but
    /// the network step needs them. One listing; the scope label is checked here rather than by
    /// the engine, so the infrastructure comes with it.
    ///
    /// On a Swarm manager, the live services come with them; labels put on a task's container
    /// instead of its service are dropped, with the warnings returned third.
    async fn list_workloads(&mut self) -> Result<Listed, ReconcileError> {
        let mut all = self.ctx.engines.local().running_workloads().await?;
        let s = &self.ctx.settings;
        let task_warnings = crate::plan::swarm::ignore_task_labels(&mut all, &s.labels.prefix);
        let services = self.swarm_workloads().await?;
        all.extend(services);
        let s = &self.ctx.settings;
        let Some((key, value)) = &s.scope_label else {
            return Ok((all, Vec::new(), task_warnings));
        };
        let (inside, rest): (Vec<Workload>, Vec<Workload>) = all
            .into_iter()
            .partition(|w| w.labels.get(key) == Some(value));
        let outside = crate::plan::networks::outside_scope(
            rest,
            &inside,
            &s.swag_container,
            &s.authentik_container,
        );
        Ok((inside, outside, task_warnings))
    }

    /// Applies a plan: networks first (so SWAG can resolve an app by the time it loads the
    /// app's conf), then the confs, then authentik.
    pub(super) async fn apply_plan(&mut self, plan: PassPlan, mode: Mode) -> PassReport {
        let seen = super::seen::seen(&plan, &self.ctx.settings);
        self.clock = plan.clock;
        self.report_problems(&plan.workloads, &plan.desired, &plan.changes);
        let mut report = PassReport {
            seen,
            workloads: plan.workloads.len(),
            desired: plan.desired,
            changes: plan.changes,
            ..PassReport::default()
        };
        if let NetStep::Planned { plan, .. } = plan.net_step {
            self.apply_networks(plan, &mut report).await;
        }
        self.write_server_include();
        self.apply_confs(&mut report);
        self.remove_server_include();
        if let Some(desired) = plan.authentik {
            self.authentik_step(desired, &mut report, mode).await;
        }
        report
    }

    /// Previews a plan: what the network and authentik steps would do, read but not applied.
    pub(super) async fn preview_plan(&mut self, plan: PassPlan) -> PassReport {
        self.report_problems(&plan.workloads, &plan.desired, &plan.changes);
        let networks = self.preview_networks(plan.net_step).await;
        let (authentik, authentik_rejected) = self.preview_authentik(plan.authentik).await;
        PassReport {
            desired: plan.desired,
            changes: plan.changes,
            authentik_rejected,
            dry_run: Some(DryRun {
                networks,
                authentik,
            }),
            ..PassReport::default()
        }
    }

    /// Writes and removes the planned confs, one line each.
    fn apply_confs(&self, report: &mut PassReport) {
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
                    report.conf_failures += usize::from(e.is_io());
                    tracing::error!(file = %file, error = %e, "could not write conf");
                }
                (Err(e), Change::Remove { file, .. }) => {
                    report.failed += 1;
                    report.conf_failures += usize::from(e.is_io());
                    tracing::error!(file = %file, error = %e, "could not remove conf");
                }
            }
        }
    }

    /// Logs rejections, warnings and kept confs, each once while it lasts, and says when a
    /// rejection ends: fixed, or its container gone.
    fn report_problems(&mut self, workloads: &[Workload], desired: &Desired, changes: &ChangeSet) {
        let problems = conf_problems(desired, changes);
        for said in self.reported.update(&problems) {
            match said {
                Said::Raised(p) => {
                    let container = problem_container(p);
                    let _span = workload_span(container, app_of(desired, container)).entered();
                    match p.kind {
                        ProblemKind::Rejected => tracing::warn!("rejected {}", p.message),
                        ProblemKind::Kept => tracing::info!("{}", p.message),
                        ProblemKind::Warning | ProblemKind::Refused => {
                            tracing::warn!("{}", p.message)
                        }
                    }
                }
                Said::Cleared(p) if p.kind == ProblemKind::Rejected => {
                    let container = p.subject.as_str();
                    if workloads.iter().any(|w| w.name == container) {
                        tracing::info!(container = %container, "container {container}: no longer rejected");
                    } else {
                        tracing::info!(container = %container, "container {container} is gone; its rejected labels no longer matter");
                    }
                }
                Said::Cleared(_) => {}
            }
        }
    }
}

/// The lasting problems of the conf step, by kind and subject.
fn conf_problems(desired: &Desired, changes: &ChangeSet) -> Vec<Problem> {
    let rejected = desired
        .rejected
        .iter()
        .map(|r| Problem::new(ProblemKind::Rejected, &r.container, &r.reason));
    let warnings = desired.warnings.iter().map(|(container, w)| {
        Problem::new(
            ProblemKind::Warning,
            format!("{container}:{w}"),
            format!("container {container} {w}"),
        )
    });
    let kept = changes
        .kept
        .iter()
        .map(|(file, why)| Problem::new(ProblemKind::Kept, file, format!("{file} {why}")));
    rejected.chain(warnings).chain(kept).collect()
}

/// The container a conf problem is about, if any (a container name has no `:`).
fn problem_container(p: &Problem) -> Option<&str> {
    match p.kind {
        ProblemKind::Rejected => Some(&p.subject),
        ProblemKind::Warning => p.subject.split_once(':').map(|(c, _)| c),
        ProblemKind::Kept | ProblemKind::Refused => None,
    }
}

/// The containers whose events matter even when they carry no label of ours: the ones published
/// or rejected, and the ones named by an owned conf (their going away removes it).
fn watched_containers(
    containers: &[Workload],
    desired: &Desired,
    state: &ConfDirState,
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
