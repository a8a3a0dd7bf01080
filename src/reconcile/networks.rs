//! The network step of a pass: plan SWAG's attachments, make them, remember them.

use std::collections::{BTreeMap, BTreeSet};

use super::{PassReport, Reconciler};
use crate::config::Settings;
use crate::edge::docker::{EngineError, NetworkChange};
use crate::edge::netstate::NetStateFile;
use crate::model::spec::Access;
use crate::plan::networks::{
    self, Forget, Joined, NetAction, NetPlan, NetworkMode, NewNetwork, Remembered, Target,
    TargetKind,
};
use crate::plan::{self, Desired};
use crate::render::dryrun::NetPreview;
use crate::render::wording::{Describe, Tense};
use crate::runtime::backoff::Backoff;
use tracing::Instrument as _;

/// Why networks are left alone after the engine refused a change.
const REFUSED: &str = "the Docker engine refused a network change earlier (a socket proxy that forbids POST?): network management is off until gatehouse restarts";

/// The network step of one pass, planned.
#[derive(Debug)]
pub(super) enum NetStep {
    /// `GATEHOUSE_NETWORK_MODE=off`.
    Off,
    /// Networks are left alone this pass, and why.
    LeftAlone(String),
    Planned {
        mode: NetworkMode,
        /// SWAG's container name.
        swag: String,
        plan: NetPlan,
        /// Things to know that change nothing (authentik's container not found).
        notes: Vec<String>,
    },
}

/// The network side of the loop: what gatehouse attached (loaded once from the state file), and
/// what it already said, so a lasting problem is logged once.
#[derive(Debug)]
pub(super) struct NetSync {
    file: NetStateFile,
    remembered: Option<Remembered>,
    /// The engine refused a network change (403): off until restart.
    off: bool,
    /// The last problem finding SWAG or authentik, logged when it changes.
    said: BTreeMap<&'static str, String>,
    retry: Backoff,
    /// A change failed in the last pass: retries are logged at debug, not warned about again.
    failing: bool,
}

impl NetSync {
    pub(super) fn new(settings: &Settings) -> Self {
        Self {
            file: NetStateFile::new(&settings.swag_config).owned_by(settings.puid, settings.pgid),
            remembered: None,
            off: false,
            said: BTreeMap::new(),
            retry: super::watch::retry_backoff(super::watch::RETRY_AT_MOST),
            failing: false,
        }
    }

    /// Logs `msg` under `topic` when it differs from what was said last; `None` clears it.
    fn say(&mut self, topic: &'static str, msg: Option<String>, warn: bool) {
        match msg {
            Some(m) if self.said.get(topic) != Some(&m) => {
                if warn {
                    tracing::warn!("{m}");
                } else {
                    tracing::info!("{m}");
                }
                self.said.insert(topic, m);
            }
            Some(_) => {}
            None => {
                self.said.remove(topic);
            }
        }
    }

    fn remembered(&mut self) -> &Remembered {
        let file = &self.file;
        self.remembered.get_or_insert_with(|| match file.load() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    "{e}; starting with an empty record: network attachments made before are left alone"
                );
                Remembered::default()
            }
        })
    }
}

/// What SWAG must reach for the apps: each published app, and each rejected one that keeps its
/// last good conf (and so the network SWAG reaches it by); one that never had a conf needs none.
fn app_targets<'a>(
    containers: &'a [crate::model::workload::Workload],
    desired: &Desired,
    with_conf: &BTreeSet<&str>,
    label_key: &str,
) -> Vec<Target<'a>> {
    let by_name: BTreeMap<&str, &crate::model::workload::Workload> =
        containers.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut targets: Vec<Target<'_>> = Vec::new();
    for app in &desired.apps {
        if let Some(c) = by_name.get(app.spec.container.as_str()) {
            targets.push(Target {
                container: c,
                kind: TargetKind::App {
                    network_label: c.labels.get(label_key).cloned(),
                    label_key: label_key.to_owned(),
                    address: app.spec.address.as_str().to_owned(),
                    report: true,
                },
            });
        }
    }
    for r in desired
        .rejected
        .iter()
        .filter(|r| r.keep_last_good && with_conf.contains(r.container.as_str()))
    {
        if let Some(c) = by_name.get(r.container.as_str()) {
            targets.push(Target {
                container: c,
                kind: TargetKind::App {
                    network_label: c.labels.get(label_key).cloned(),
                    label_key: label_key.to_owned(),
                    address: c.name.clone(),
                    report: false,
                },
            });
        }
    }
    targets
}

/// Apps SWAG cannot be brought to reach become rejections (their conf is not written).
fn reject_unreachable(desired: &mut Desired, plan: &NetPlan) {
    for r in &plan.rejections {
        let Some(i) = desired
            .apps
            .iter()
            .position(|a| a.spec.container == r.container)
        else {
            continue;
        };
        let app = desired.apps.remove(i);
        desired.rejected.push(plan::Rejection {
            container: r.container.clone(),
            reason: r.reason.clone(),
            wants_protection: app.spec.access == Access::Protected,
            keep_last_good: true,
        });
    }
}

impl Reconciler {
    /// Plans the network attachments, and turns apps SWAG cannot be brought to reach into
    /// rejections (their conf is not written).
    pub(super) async fn plan_networks(
        &mut self,
        containers: &[crate::model::workload::Workload],
        outside_scope: &[crate::model::workload::Workload],
        desired: &mut Desired,
        with_conf: &BTreeSet<&str>,
    ) -> NetStep {
        let settings = &self.ctx.settings;
        let Some(mode) = settings.network_mode.clone() else {
            return NetStep::Off;
        };
        if self.net.off {
            return NetStep::LeftAlone(REFUSED.into());
        }
        let pool: std::borrow::Cow<'_, [crate::model::workload::Workload]> =
            if outside_scope.is_empty() {
                containers.into()
            } else {
                [containers, outside_scope].concat().into()
            };
        let containers: &[crate::model::workload::Workload] = &pool;
        let swag = match networks::find_swag(containers, &settings.swag_container) {
            Ok(s) => s,
            Err(e) => {
                let why = e.to_string();
                self.net.say("swag", Some(why.clone()), true);
                return NetStep::LeftAlone(why);
            }
        };
        if swag.networks.is_empty() || swag.networks.keys().all(|n| n == "host" || n == "none") {
            let why = format!("SWAG (container {}) has no network of its own (network_mode host, none or container:…) and cannot join the apps' networks; networks are left alone, confs are still written", swag.name);
            self.net.say("swag", Some(why.clone()), true);
            return NetStep::LeftAlone(why);
        }
        self.net.say(
            "swag",
            Some(format!("SWAG is container {}", swag.name)),
            false,
        );
        // SWAG going or coming back (recreated without gatehouse's attachments) and authentik
        // changing must wake the loop, like the apps' own events.
        self.watched.extend([swag.name.clone(), swag.id.clone()]);
        if let Some(c) = networks::find_named(containers, &settings.authentik_container) {
            self.watched.extend([c.name.clone(), c.id.clone()]);
        }
        let label_key = crate::labels::network::key(&settings.labels.prefix);
        let mut targets = app_targets(containers, desired, with_conf, &label_key);
        let authentik = networks::find_named(containers, &settings.authentik_container);
        let authentik_note = match authentik {
            Some(_) => None,
            None => Some(format!(
                "no running container is named {}: SWAG is not attached to authentik's network (set GATEHOUSE_AUTHENTIK_CONTAINER to authentik's server container)",
                settings.authentik_container
            )),
        };
        if let Some(c) = authentik {
            targets.push(Target {
                container: c,
                kind: TargetKind::Authentik,
            });
        }
        let remembered = self.net.remembered().clone();
        self.watched
            .extend(remembered.joined.iter().map(|j| j.container_id.clone()));
        self.watched.extend(
            remembered
                .requested
                .iter()
                .map(|r| r.join.container_id.clone()),
        );
        let plan = networks::plan(swag, &targets, containers, &remembered, &mode);
        let swag = swag.name.clone();
        self.net.say("authentik", authentik_note.clone(), false);
        for (container, w) in &plan.warnings {
            desired.warnings.push((container.clone(), w.clone()));
        }
        reject_unreachable(desired, &plan);
        NetStep::Planned {
            mode,
            swag,
            plan,
            notes: authentik_note.into_iter().collect(),
        }
    }

    /// What applying `step` would do, for the dry run: the plan as it is, plus the shared
    /// network to create when it does not exist yet (looked up, a read). Nothing is changed.
    pub(super) async fn preview_networks(&self, step: NetStep) -> NetPreview {
        let (mode, swag, plan, mut notes) = match step {
            NetStep::Off => return NetPreview::Off,
            NetStep::LeftAlone(why) => return NetPreview::LeftAlone(why),
            NetStep::Planned {
                mode,
                swag,
                plan,
                notes,
            } => (mode, swag, plan, notes),
        };
        let mut create: Vec<NewNetwork> = Vec::new();
        for action in &plan.actions {
            let NetAction::Connect { join, .. } = action else {
                continue;
            };
            if !join.network_id.is_empty() || create.iter().any(|n| n.name == join.network) {
                continue;
            }
            match self.ctx.engines.local().find_network(&join.network).await {
                Ok(Some(_)) => {}
                Ok(None) => create.push(NewNetwork {
                    name: join.network.clone(),
                }),
                Err(e) => notes.push(format!(
                    "cannot tell whether network {} exists ({e}); a pass creates it when it does not",
                    join.network
                )),
            }
        }
        NetPreview::Planned {
            mode,
            swag,
            create,
            plan,
            notes,
        }
    }

    /// Makes the planned attachments and records them; a refused change (403) turns network
    /// management off, any other failure is retried with backoff.
    pub(super) async fn apply_networks(&mut self, plan: NetPlan, report: &mut PassReport) {
        let mut state = self.net.remembered().clone();
        for j in &plan.forget {
            if state.joined.remove(j) {
                tracing::debug!(join = %j, "{}", Forget(j).said(Tense::Done));
            }
        }
        for j in &plan.requests.confirm {
            state.confirm(j);
        }
        let mut net_failed = self.settle_requests(&plan, &mut state, report).await;
        for action in &plan.actions {
            let span = match action {
                NetAction::Connect { join, needed_by } => {
                    let apps: Vec<String> = needed_by
                        .iter()
                        .filter_map(|c| super::app_of(&report.desired, Some(c)))
                        .collect();
                    super::workload_span(Some(&join.container), Some(apps.join(",")))
                }
                NetAction::Disconnect { join, .. } => {
                    super::workload_span(Some(&join.container), None)
                }
            };
            let result = match action {
                NetAction::Connect { join, .. } => {
                    self.connect(action, join, &mut state, report)
                        .instrument(span.clone())
                        .await
                }
                NetAction::Disconnect { join, .. } => {
                    self.disconnect(action, join, &mut state, report)
                        .instrument(span.clone())
                        .await
                }
            };
            let _span = span.entered();
            if let Err((what, e)) = result {
                if e.is_forbidden() {
                    self.net.off = true;
                    tracing::warn!(
                        error = %e,
                        "the Docker engine refused to {what} (a socket proxy that forbids POST?): network management is off until gatehouse restarts; confs are still written. Allow POST and NETWORKS on the proxy, or set GATEHOUSE_NETWORK_MODE=off to silence this"
                    );
                    break;
                }
                net_failed += 1;
                if self.net.failing {
                    tracing::debug!(error = %e, "could not {what} (again); retrying with backoff");
                } else {
                    tracing::warn!(error = %e, "could not {what}; retrying with backoff");
                }
            }
        }
        self.net.failing = net_failed > 0;
        if net_failed > 0 {
            report.failed += net_failed;
            let delay = self.net.retry.step();
            report.changes.next_due = Some(report.changes.next_due.map_or(delay, |d| d.min(delay)));
        } else {
            self.net.retry.reset();
        }
        self.save_state(&state);
        self.net.remembered = Some(state);
    }

    /// Attaches as `join` says (creating the shared network first when it has no id yet),
    /// recording the attachment before asking the engine and taking the record back when the
    /// engine did not make it.
    async fn connect(
        &self,
        action: &NetAction,
        join: &Joined,
        state: &mut Remembered,
        report: &mut PassReport,
    ) -> Result<(), (String, EngineError)> {
        let engine = self.ctx.engines.local();
        let what = || format!("attach {} to network {}", join.container, join.network);
        let mut join = join.clone();
        let had = state.has(&join);
        if join.network_id.is_empty() {
            let mut labels =
                BTreeMap::from([(networks::MANAGED_LABEL.to_owned(), "true".to_owned())]);
            if let Some((k, v)) = &self.ctx.settings.scope_label {
                labels.insert(k.clone(), v.clone());
            }
            let (id, created) = engine
                .ensure_network(&join.network, &labels)
                .await
                .map_err(|e| (what(), e))?;
            if created {
                let new = NewNetwork {
                    name: join.network.clone(),
                };
                tracing::info!(network = %join.network, "{}", new.said(Tense::Done));
            }
            join.network_id = id;
        }
        // Recorded before the request, as requested: a crash once the engine has attached must
        // not leave the attachment looking like the user's. It stays on record until the
        // engine confirms either way (see `Remembered`).
        state.request(&join, unix_now());
        self.save_state(state);
        let answer = engine
            .connect_network(&join.network_id, &join.container_id)
            .await;
        match answer {
            Ok(NetworkChange::Done) => {
                state.confirm(&join);
                self.save_state(state);
                report.connected += 1;
                tracing::info!(
                    container = %join.container,
                    network = %join.network,
                    "{}",
                    action.said(Tense::Done)
                );
                Ok(())
            }
            // Gatehouse asked for it before (a request that was in flight): still ours.
            Ok(NetworkChange::AlreadyDone) if had => {
                state.confirm(&join);
                self.save_state(state);
                Ok(())
            }
            // Someone else attached it meanwhile: theirs, not ours.
            Ok(NetworkChange::AlreadyDone) => {
                state.drop_join(&join);
                self.save_state(state);
                Ok(())
            }
            Err(e) => {
                // The engine refused this request: it did not attach, unless an earlier
                // request of gatehouse's (still on record, settled later) did. No answer at all
                // leaves it on record too: the request may have reached the engine.
                if !had && answered(&e) {
                    state.drop_join(&join);
                    self.save_state(state);
                }
                Err((what(), e))
            }
        }
    }

    /// Requested attachments the engine never confirmed, and no app needs: once no request
    /// can still be in flight, a disconnect confirms they are absent (or undoes them), and they
    /// are dropped; until then a pass is planned for when they are due. Returns the failures.
    async fn settle_requests(
        &self,
        plan: &NetPlan,
        state: &mut Remembered,
        report: &mut PassReport,
    ) -> usize {
        let now = unix_now();
        let mut failed = 0;
        for r in &plan.requests.unsettled {
            let age = now.saturating_sub(r.since);
            if age < networks::SETTLE_SECS {
                let due = std::time::Duration::from_secs(networks::SETTLE_SECS - age);
                report.changes.next_due = Some(report.changes.next_due.map_or(due, |d| d.min(due)));
                continue;
            }
            let action = NetAction::Disconnect {
                join: r.join.clone(),
                why: "gatehouse asked to attach it and the engine never confirmed; making sure it is not left attached".into(),
            };
            let span = super::workload_span(Some(&r.join.container), None);
            let result = self
                .disconnect(&action, &r.join, state, report)
                .instrument(span)
                .await;
            if let Err((what, e)) = result {
                failed += 1;
                tracing::warn!(error = %e, "could not {what}; retrying with backoff");
            }
        }
        failed
    }

    /// Undoes an attachment gatehouse made, and forgets it.
    async fn disconnect(
        &self,
        action: &NetAction,
        join: &Joined,
        state: &mut Remembered,
        report: &mut PassReport,
    ) -> Result<(), (String, EngineError)> {
        let started = std::time::Instant::now();
        match self
            .ctx
            .engines
            .local()
            .disconnect_network(&join.network_id, &join.container_id)
            .await
        {
            Ok(change) => {
                if change == NetworkChange::Done {
                    report.disconnected += 1;
                    tracing::info!(
                        container = %join.container,
                        network = %join.network,
                        detach_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "{}",
                        action.said(Tense::Done)
                    );
                }
                state.drop_join(join);
                Ok(())
            }
            // The container or the network is gone, and the attachment with it.
            Err(e) if e.is_not_found() => {
                state.drop_join(join);
                Ok(())
            }
            Err(e) => Err((
                format!("detach {} from network {}", join.container, join.network),
                e,
            )),
        }
    }

    /// Writes what gatehouse attached to the state file (skipped when unchanged).
    fn save_state(&self, state: &Remembered) {
        if let Err(e) = self.net.file.save(state) {
            tracing::error!(error = %e, "could not record network attachments; a restart may leave them attached");
        }
    }
}

/// Whether the engine answered the request (so it did nothing), rather than the answer being
/// lost on the way (the request may have been carried out).
fn answered(e: &EngineError) -> bool {
    !matches!(
        e,
        EngineError::Timeout { .. } | EngineError::Transport(_) | EngineError::Decode(_)
    )
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "networks_scope_tests.rs"]
mod scope_tests;
