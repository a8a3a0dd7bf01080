//! authentik provisioning, applied: the [`Provisioner`] runs one observe → plan → apply round
//! against the REST API v3; [`run_worker`] repeats it beside the conf loop so that a slow or
//! absent authentik never holds up a proxy-conf. The planning is in [`crate::plan::authentik`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::AuthentikSettings;
pub use crate::edge::authentik::{Api, ApiError, Client};
use crate::edge::fieldstate::FieldStateFile;
use crate::labels::authentik::AppWant;
use crate::model::authentik::{Application, BindingCreate, PolicyBinding, ServerVersion};
use crate::plan::authentik::fields::FieldMemory;
use crate::plan::authentik::{
    self as sync, others_notice, plan_round, Actual, AppRef, Op, OpFor, Plan, ProviderRef, Rules,
};
pub use crate::plan::authentik::{Desired, Instance, Preview};
use crate::plan::grace::GraceClock;
use crate::render::wording::{Describe, Tense};

/// What one provisioning round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub reads: u64,
    pub writes: u64,
    /// Requests authentik refused (a 4xx) in this round, or that were not resent because it
    /// refused the identical request before (see [`Refused`]).
    pub failed: usize,
    pub problems: usize,
    pub next_due: Option<Duration>,
}

/// How long an identical request authentik refused is not resent while the app's labels stay
/// the same (authentik's side may have been fixed meanwhile).
pub const REFUSED_RETRY: Duration = Duration::from_secs(15 * 60);

/// A write authentik refused with a 4xx. The conf loop hands the worker a desired state on every
/// pass (and the periodic resync), so without this the same refused request would be sent again
/// every minute: it is not, until the wanted state of the apps it concerns changes or
/// [`REFUSED_RETRY`] passes.
#[derive(Debug, Clone)]
pub struct Refused {
    pub at: Instant,
    /// The wanted state, when refused, of the apps the request concerns.
    pub wants: Vec<Option<AppWant>>,
    pub problem_key: String,
    pub message: String,
    /// The slugs whose later requests are skipped with it.
    pub slugs: Vec<String>,
}

impl Refused {
    /// Whether the identical request is held back now.
    pub fn holds(&self, wants_now: &[Option<AppWant>], now: Instant) -> bool {
        self.wants == wants_now && now.saturating_duration_since(self.at) < REFUSED_RETRY
    }
}

/// Talks to one authentik and remembers what it reported, so a lasting problem is logged once.
#[derive(Debug)]
pub struct Provisioner<A = Client> {
    client: A,
    rules: Rules,
    version: Option<ServerVersion>,
    clock: GraceClock,
    reported: BTreeMap<String, String>,
    /// Refused writes by request (slug, operation and body).
    refused: BTreeMap<String, Refused>,
    /// Other gatehouse instances whose objects were seen (and said so, once).
    others_told: BTreeSet<Instance>,
    /// Where the optional field values gatehouse set are kept; `None`: in this process only.
    state_file: Option<FieldStateFile>,
    /// Those values (this instance's), loaded at the first round.
    memory: Option<FieldMemory>,
    /// This instance's values as the file holds them, as far as this process knows (not
    /// written again when unchanged).
    saved: Option<FieldMemory>,
    /// The file was read (or found corrupt): it may be written.
    loaded: bool,
    /// Reading the file failed, and was said once.
    load_failing: bool,
    /// Writing the file failed, and was said once.
    save_failing: bool,
    /// A group binding gatehouse made may be in authentik although no app asks for groups:
    /// until the bindings were read once without finding one.
    stale_bindings_possible: bool,
}

impl Provisioner<Client> {
    /// A provisioner talking to the authentik of `settings` over HTTP.
    pub fn new(settings: &AuthentikSettings) -> Result<Self, ApiError> {
        Ok(Self::with_api(
            Client::new(&settings.url, &settings.token)?,
            settings,
        ))
    }
}

impl<A: Api> Provisioner<A> {
    /// A provisioner talking to authentik through `api` (`settings.url` and the token unused).
    pub fn with_api(api: A, settings: &AuthentikSettings) -> Self {
        Self {
            client: api,
            rules: Rules {
                instance: settings.instance.clone(),
                default_outpost: settings.outpost.clone(),
                authorization_flow_slug: settings.authorization_flow.clone(),
                invalidation_flow_slug: settings.invalidation_flow.clone(),
            },
            version: None,
            clock: GraceClock::default(),
            reported: BTreeMap::new(),
            refused: BTreeMap::new(),
            others_told: BTreeSet::new(),
            state_file: None,
            memory: None,
            saved: None,
            loaded: false,
            load_failing: false,
            save_failing: false,
            stale_bindings_possible: true,
        }
    }

    /// Keeps the optional field values gatehouse sets in `file` (see [`fields`]), so that after
    /// a restart a field whose label is gone is still cleared. Without a file they are known to
    /// this process only.
    pub fn with_state_file(mut self, file: FieldStateFile) -> Self {
        self.state_file = Some(file);
        self
    }

    /// The values this instance set, as recorded. Until the file is read, what this process
    /// saw since it started (nothing at first): nothing recorded before is then cleared. A file
    /// that cannot be read (permissions, I/O, not a regular file) is tried again next round
    /// and not written meanwhile; a corrupt one counts as empty, and is moved aside when the
    /// record is next written. Each is said once.
    fn remembered(&mut self) -> FieldMemory {
        let Some(file) = &self.state_file else {
            return self.memory.clone().unwrap_or_default();
        };
        if self.loaded {
            return self.memory.clone().unwrap_or_default();
        }
        match file.load() {
            Ok(s) => {
                let mine = s.of(&self.rules.instance);
                self.saved = Some(mine.clone());
                // What this process saw while the file could not be read is newer.
                let mut memory = mine;
                if let Some(seen) = self.memory.take() {
                    memory.overlay(seen);
                }
                self.memory = Some(memory);
                self.loaded = true;
                if std::mem::take(&mut self.load_failing) {
                    tracing::info!(path = %file.path().display(), "the record of authentik field values is readable again");
                }
            }
            Err(e) if e.is_unreadable() => {
                if !std::mem::replace(&mut self.load_failing, true) {
                    tracing::warn!(
                        "{e}; trying again next round, and not writing it meanwhile: until then, values gatehouse set in authentik before are not cleared when their label goes"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(
                    "{e}; starting with an empty record (values gatehouse set in authentik before are not cleared when their label goes); it is moved aside to {} when the record is next written",
                    file.corrupt_path().display()
                );
                self.loaded = true;
            }
        }
        self.memory.clone().unwrap_or_default()
    }

    /// Records this instance's values after a round, and writes the file when they changed
    /// (never before it was read). The file is read again under its lock right before: the
    /// records of other instances writing to it stay.
    fn remember(&mut self, memory: FieldMemory) {
        self.memory = Some(memory.clone());
        let Some(file) = &self.state_file else {
            return;
        };
        if !self.loaded || self.saved.as_ref() == Some(&memory) {
            return;
        }
        let instance = &self.rules.instance;
        match file.update(|state| state.put(instance, memory.clone())) {
            Ok(u) => {
                if let Some((aside, reason)) = &u.moved_aside {
                    tracing::warn!(path = %file.path().display(), moved_to = %aside.display(), "the record of authentik field values was corrupt ({reason}); moved it aside and wrote a fresh one");
                }
                if u.written {
                    tracing::debug!(path = %file.path().display(), "recorded the authentik field values gatehouse set");
                }
                self.saved = Some(memory);
                if std::mem::take(&mut self.save_failing) {
                    tracing::info!(path = %file.path().display(), "the record of authentik field values is written again");
                }
            }
            Err(e) => {
                if !self.save_failing {
                    tracing::warn!("{e}; not written: the authentik field values gatehouse set are known until it restarts only");
                    self.save_failing = true;
                }
            }
        }
    }

    /// The instance whose marks this provisioner owns.
    pub fn instance(&self) -> &Instance {
        &self.rules.instance
    }

    pub fn client(&self) -> &A {
        &self.client
    }

    /// One round: read authentik, plan, make the requests. An `Err` is a transient failure (or
    /// authentik refusing the token): nothing more was attempted, try again later.
    pub async fn sync(
        &mut self,
        desired: &Desired,
        grace: Duration,
    ) -> Result<SyncReport, ApiError> {
        let (reads0, writes0) = (self.client.reads_made(), self.client.writes_made());
        let actual = match self.observe(&desired.wants).await {
            Ok(a) => a,
            Err(e) => {
                // authentik may come back upgraded: read the version again.
                self.version = None;
                return Err(e);
            }
        };
        for (other, objects) in sync::others_objects(&actual, &self.rules.instance) {
            if self.others_told.insert(other.clone()) {
                let (warn, msg) = others_notice(&self.rules.instance, &other, &objects);
                if warn {
                    tracing::warn!(objects = objects.len(), "{msg}");
                } else {
                    tracing::info!(objects = objects.len(), "{msg}");
                }
            }
        }
        let remembered = self.remembered();
        let (plan, mut problems) = plan_round(
            &actual,
            desired,
            &remembered,
            &self.rules,
            &mut self.clock,
            Instant::now(),
            grace,
        );
        let mut refused = std::mem::take(&mut self.refused);
        let mut memory = plan.memory.clone();
        let applied = self
            .apply(
                &plan,
                &desired.wants,
                &mut refused,
                &mut problems,
                &mut memory,
            )
            .await;
        self.refused = refused;
        // Also after a failure midway: what authentik accepted is recorded.
        self.remember(memory);
        self.report(problems);
        let failed = match applied {
            Ok(n) => n,
            Err(e) => {
                self.version = None;
                return Err(e);
            }
        };
        Ok(SyncReport {
            reads: self.client.reads_made() - reads0,
            writes: self.client.writes_made() - writes0,
            failed,
            problems: plan.problems.len() + desired.rejected.len(),
            next_due: plan.next_due,
        })
    }

    /// What a round would do now, read (GET requests only) and planned but not applied, for
    /// `gatehouse render`. Like `run --once`, no grace period: applications of containers that
    /// are gone show as deleted. Nothing is remembered from it, and the record of field values
    /// is read, never written.
    pub async fn preview(&mut self, desired: &Desired) -> Result<Preview, ApiError> {
        let actual = self.observe(&desired.wants).await?;
        let remembered = self.remembered();
        let mut clock = self.clock.clone();
        let (plan, problems) = plan_round(
            &actual,
            desired,
            &remembered,
            &self.rules,
            &mut clock,
            Instant::now(),
            Duration::ZERO,
        );
        Ok(Preview {
            version: actual.version,
            plan,
            instance: self.rules.instance.clone(),
            containers: sync::containers_of(&desired.wants),
            problems: problems.into_values().collect(),
        })
    }

    async fn observe(&mut self, wants: &[AppWant]) -> Result<Actual, ApiError> {
        let c = &self.client;
        let version = match self.version {
            Some(v) => v,
            None => {
                let raw = c.version().await?.version_current;
                let v = ServerVersion::parse(&raw).unwrap_or_else(|| {
                    tracing::warn!(version = %raw, "cannot read authentik's version; assuming a current one");
                    ServerVersion::new(2026, 1)
                });
                tracing::info!(version = %raw, invalidation_flow = v.has_invalidation_flow(), "connected to authentik {raw}");
                self.version = Some(v);
                v
            }
        };
        let authorization_flow = c
            .flow_by_slug(&self.rules.authorization_flow_slug)
            .await?
            .map(|f| f.pk);
        let invalidation_flow = if version.has_invalidation_flow() {
            c.flow_by_slug(&self.rules.invalidation_flow_slug)
                .await?
                .map(|f| f.pk)
        } else {
            None
        };
        let providers = c.proxy_providers().await?;
        let applications = c.applications().await?;
        let outposts = c.outposts().await?;
        let groups = if wants.iter().any(|w| !w.allow_groups.is_empty()) {
            c.groups().await?
        } else {
            Vec::new()
        };
        let bindings = self.bindings_needed(wants, &applications).await?;
        Ok(Actual {
            version: Some(version),
            authorization_flow,
            invalidation_flow,
            providers,
            applications,
            outposts,
            groups,
            bindings,
        })
    }

    /// The bindings on gatehouse's applications (and the ones to adopt), when they can matter:
    /// an app asks for groups, an app of gatehouse's is to go (the user's own bindings keep
    /// it), or a group binding gatehouse made may be left over (one was there when last read,
    /// or nothing was read yet since gatehouse started), to be removed now that no
    /// auth.allow_groups asks for it. Otherwise the read is skipped.
    async fn bindings_needed(
        &mut self,
        wants: &[AppWant],
        applications: &[Application],
    ) -> Result<Vec<PolicyBinding>, ApiError> {
        let me = &self.rules.instance;
        let wanted: BTreeSet<&str> = wants.iter().map(|w| w.slug.as_str()).collect();
        let groups_wanted = wants.iter().any(|w| !w.allow_groups.is_empty());
        let leaving = applications
            .iter()
            .any(|a| me.owns_app(a) && !wanted.contains(a.slug.as_str()));
        if !(groups_wanted || leaving || self.stale_bindings_possible) {
            return Ok(Vec::new());
        }
        let targets = sync::binding_targets(wants, applications, me);
        let bindings = if targets.is_empty() {
            Vec::new()
        } else {
            self.client.bindings(&targets).await?
        };
        self.stale_bindings_possible = groups_wanted || bindings.iter().any(sync::is_owned_binding);
        Ok(bindings)
    }

    /// Makes the plan's requests in order. A 4xx fails that app's later requests, is reported
    /// and remembered in `refused`: the identical request is not sent again while the apps it
    /// concerns want the same (up to [`REFUSED_RETRY`]). A transient error stops the round.
    /// Each application write authentik accepts is recorded in `memory`.
    async fn apply(
        &self,
        plan: &Plan,
        wants: &[AppWant],
        refused: &mut BTreeMap<String, Refused>,
        problems: &mut BTreeMap<String, String>,
        memory: &mut FieldMemory,
    ) -> Result<usize, ApiError> {
        let now = Instant::now();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let c = &self.client;
        let me = &self.rules.instance;
        let mut new_providers: BTreeMap<String, i64> = BTreeMap::new();
        let mut new_apps: BTreeMap<String, String> = BTreeMap::new();
        let mut failed_slugs: BTreeSet<String> = BTreeSet::new();
        let mut failed = 0;
        let containers = sync::containers_of(wants);
        let done = |op: &Op| {
            OpFor {
                op,
                instance: me,
                containers: &containers,
            }
            .said(Tense::Done)
            .to_string()
        };
        let resolve = |r: &ProviderRef, new: &BTreeMap<String, i64>| match r {
            ProviderRef::Existing(pk) => Some(*pk),
            ProviderRef::New(slug) => new.get(slug).copied(),
        };
        for op in &plan.ops {
            if let Some(slug) = op.slug() {
                if failed_slugs.contains(slug) {
                    continue;
                }
            }
            // The request as it would go out: slug, operation and body (a provider made in this
            // round is named by slug, its pk would differ).
            let key = format!("{op:?}");
            let wants_now: Vec<Option<AppWant>> = sync::concerned(op)
                .into_iter()
                .map(|s| wants.iter().find(|w| w.slug == s).cloned())
                .collect();
            if let Some(r) = refused.get(&key).filter(|r| r.holds(&wants_now, now)) {
                tracing::debug!(request = %key, "not resending a request authentik refused");
                failed += 1;
                problems.insert(r.problem_key.clone(), r.message.clone());
                failed_slugs.extend(r.slugs.iter().cloned());
                seen.insert(key);
                continue;
            }
            let result: Result<(), ApiError> = match op {
                Op::CreateProvider { slug, body } => c.create_provider(body).await.map(|p| {
                    tracing::info!(slug = %slug, "{}", done(op));
                    new_providers.insert(slug.clone(), p.pk);
                }),
                Op::PatchProvider { slug, pk, body } => {
                    c.patch_provider(*pk, body).await.map(|()| {
                        tracing::info!(slug = %slug, "{}", done(op));
                    })
                }
                Op::CreateApplication {
                    slug,
                    body,
                    provider,
                } => {
                    let mut body = body.clone();
                    body.provider = resolve(provider, &new_providers);
                    c.create_application(&body).await.map(|a| {
                        tracing::info!(slug = %slug, "{}", done(op));
                        memory.record_body(slug, &a.pk, &body.fields());
                        new_apps.insert(slug.clone(), a.pk);
                    })
                }
                Op::PatchApplication {
                    slug,
                    body,
                    provider,
                    ..
                } => {
                    let mut body = body.clone();
                    if let Some(p) = provider {
                        body.provider = resolve(p, &new_providers);
                    }
                    c.patch_application(slug, &body).await.map(|a| {
                        tracing::info!(slug = %slug, "{}", done(op));
                        memory.record_body(slug, &a.pk, &body.fields());
                    })
                }
                Op::SetOutpostProviders {
                    pk,
                    name,
                    added,
                    removed,
                } => {
                    let added: Vec<(&String, i64)> = added
                        .iter()
                        .filter(|(s, _)| !failed_slugs.contains(s))
                        .filter_map(|(s, r)| resolve(r, &new_providers).map(|pk| (s, pk)))
                        .collect();
                    let add: Vec<i64> = added.iter().map(|(_, pk)| *pk).collect();
                    let remove: Vec<i64> = removed.iter().map(|(_, pk)| *pk).collect();
                    self.set_outpost(pk, name, &add, &remove)
                        .await
                        .map(|wrote| {
                            if !wrote {
                                return;
                            }
                            // What was sent: the providers made in this round and not refused.
                            let made = Op::SetOutpostProviders {
                                pk: pk.clone(),
                                name: name.clone(),
                                added: added
                                    .iter()
                                    .map(|(s, pk)| ((*s).clone(), ProviderRef::Existing(*pk)))
                                    .collect(),
                                removed: removed.clone(),
                            };
                            tracing::info!(outpost = %name, "{}", done(&made));
                        })
                }
                Op::CreateBinding {
                    slug,
                    app,
                    group_pk,
                    ..
                } => {
                    let target = match app {
                        AppRef::Existing(pk) => Some(pk.clone()),
                        AppRef::New(s) => new_apps.get(s).cloned(),
                    };
                    match target {
                        Some(target) => {
                            let body = BindingCreate::group(group_pk, &target, sync::BINDING_ORDER);
                            c.create_binding(&body).await.map(|()| {
                                tracing::info!(slug = %slug, "{}", done(op));
                            })
                        }
                        None => Ok(()),
                    }
                }
                Op::DeleteBinding { slug, pk } => c.delete_binding(pk).await.map(|()| {
                    tracing::info!(slug = %slug, "{}", done(op));
                }),
                Op::DeleteApplication { slug } => c.delete_application(slug).await.map(|()| {
                    tracing::info!(slug = %slug, "{}", done(op));
                    memory.forget(slug);
                }),
                Op::DeleteProvider { slug, pk } => c.delete_provider(*pk).await.map(|()| {
                    tracing::info!(slug = %slug, "{}", done(op));
                }),
            };
            match result {
                Ok(()) => {}
                Err(e) if e.is_transient() || matches!(e.status(), Some(401 | 403)) => {
                    return Err(e)
                }
                Err(e) => {
                    failed += 1;
                    let later = format!(
                        "not sent again until its labels change or for {} min",
                        REFUSED_RETRY.as_secs() / 60
                    );
                    let (problem_key, message, slugs) = if let Op::SetOutpostProviders {
                        name,
                        removed,
                        ..
                    } = op
                    {
                        // Removal order is out of the outpost first: what could not leave the
                        // outpost is not deleted either.
                        let slugs: Vec<String> = removed.iter().map(|(s, _)| s.clone()).collect();
                        let stays = if slugs.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; not removing {} from authentik until it works",
                                slugs.join(", ")
                            )
                        };
                        (
                            format!("failed:outpost:{name}"),
                            format!("authentik refused to change the providers of outpost {name}: {e}{stays} ({later})"),
                            slugs,
                        )
                    } else {
                        let slug = op.slug().unwrap_or_default().to_owned();
                        (
                            format!("failed:{slug}"),
                            format!(
                                "authentik refused a change for application {slug}: {e} ({later})"
                            ),
                            vec![slug],
                        )
                    };
                    problems.insert(problem_key.clone(), message.clone());
                    failed_slugs.extend(slugs.iter().cloned());
                    refused.insert(
                        key.clone(),
                        Refused {
                            at: now,
                            wants: wants_now,
                            problem_key,
                            message,
                            slugs,
                        },
                    );
                    seen.insert(key);
                }
            }
        }
        // Forget refusals of requests no longer planned: the world moved on.
        refused.retain(|k, _| seen.contains(k));
        Ok(failed)
    }

    /// Puts `add` into and takes `remove` out of the outpost's provider list as it is now (one
    /// read right before the write), so a provider the user added meanwhile stays. No write when
    /// the list already is as wanted.
    async fn set_outpost(
        &self,
        pk: &str,
        name: &str,
        add: &[i64],
        remove: &[i64],
    ) -> Result<bool, ApiError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(false);
        }
        let current = self.client.outpost(pk).await?.providers;
        let next = sync::outpost_providers(&current, add, remove);
        if next == current {
            tracing::debug!(outpost = %name, "outpost already has the wanted providers");
            return Ok(false);
        }
        self.client
            .set_outpost_providers(pk, &next)
            .await
            .map(|()| true)
    }

    /// Logs each problem once while it lasts, and a line when it clears.
    fn report(&mut self, now: BTreeMap<String, String>) {
        for (key, msg) in &now {
            if self.reported.get(key) == Some(msg) {
                continue;
            }
            if key.starts_with("kept:") {
                tracing::info!("{msg}");
            } else {
                tracing::warn!("{msg}");
            }
        }
        for (key, msg) in &self.reported {
            if !now.contains_key(key) && !key.starts_with("kept:") {
                tracing::info!("no longer applies: {msg}");
            }
        }
        self.reported = now;
    }
}

/// Doubling delays, capped.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);
    fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }
}

/// Keeps authentik in line with the latest [`Desired`] sent by the conf loop: a round after each
/// pass, when a held removal falls due, and with backoff after a failure, until the sender goes.
pub async fn run_worker<A: Api>(
    mut prov: Provisioner<A>,
    mut rx: watch::Receiver<Arc<Desired>>,
    grace: Duration,
) {
    let mut backoff = Backoff {
        next: Backoff::FIRST,
    };
    let mut down_since: Option<Instant> = None;
    // Nothing is known before the first conf pass; an empty desired state now would start
    // removing every object gatehouse made.
    if rx.changed().await.is_err() {
        return;
    }
    loop {
        let desired = rx.borrow_and_update().clone();
        let wait = match prov.sync(&desired, grace).await {
            Ok(report) => {
                if let Some(since) = down_since.take() {
                    tracing::info!(
                        down_s = since.elapsed().as_secs(),
                        "authentik is reachable again; provisioning caught up"
                    );
                }
                backoff.next = Backoff::FIRST;
                tracing::debug!(
                    reads = report.reads,
                    writes = report.writes,
                    failed = report.failed,
                    "authentik round done"
                );
                report.next_due
            }
            Err(e) => {
                let delay = backoff.step();
                if down_since.is_none() {
                    down_since = Some(Instant::now());
                    tracing::warn!(error = %e, "authentik provisioning failed; protected apps keep their authentik includes (nginx refuses rather than serves); retrying with backoff");
                } else {
                    tracing::debug!(error = %e, retry_in_ms = delay.as_millis() as u64, "authentik still failing");
                }
                Some(delay)
            }
        };
        let sleep = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = sleep => {}
        }
    }
}

#[cfg(test)]
#[path = "authentik_round_tests.rs"]
mod round_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn want(name: &str) -> AppWant {
        AppWant {
            container: "app".into(),
            slug: "app".into(),
            name: name.into(),
            group: None,
            icon: None,
            description: None,
            launch_url: None,
            external_host: "https://app.example.com".into(),
            skip_path_regex: String::new(),
            allow_groups: Vec::new(),
            outpost: None,
            adopt: false,
        }
    }

    #[test]
    fn a_refused_request_is_held_back_until_the_want_changes_or_the_retry_time_passes() {
        let t0 = Instant::now();
        let r = Refused {
            at: t0,
            wants: vec![Some(want("One"))],
            problem_key: "failed:app".into(),
            message: "refused".into(),
            slugs: vec!["app".into()],
        };
        assert!(r.holds(&[Some(want("One"))], t0 + Duration::from_secs(60)));
        assert!(!r.holds(&[Some(want("Two"))], t0 + Duration::from_secs(60)));
        assert!(!r.holds(&[None], t0));
        assert!(!r.holds(&[Some(want("One"))], t0 + REFUSED_RETRY));
    }
}
