//! authentik provisioning, applied: the [`Provisioner`] runs one observe → plan → apply round
//! against the REST API v3 ([`observe`], [`apply`], the field record in [`record`]);
//! [`run_worker`] repeats it beside the conf loop so that a slow or absent authentik never
//! holds up a proxy-conf ([`worker`]). The planning is in [`crate::plan::authentik`].

mod apply;
mod mfa;
mod observe;
mod own;
mod record;
pub mod sso;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::config::AuthentikSettings;
pub use crate::edge::authentik::{Api, ApiError, Client};
use crate::edge::fieldstate::FieldStateFile;
use crate::model::authentik::ServerVersion;
use crate::model::problem::{Problem, ProblemKind};
use crate::plan::authentik::{containers_of, others_notice, others_objects, plan_round, Rules};
pub use crate::plan::authentik::{Desired, Instance, Preview};
use crate::plan::grace::GraceClock;
use crate::runtime::report::{ReportOnce, Said};
pub use apply::{Refused, REFUSED_RETRY};
use record::FieldRecord;
pub use worker::{run_worker, spawn_worker, RoundStatus, WorkerHandle};

/// What one provisioning round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub(crate) reads: u64,
    pub writes: u64,
    /// Requests authentik refused (a 4xx) in this round, or that were not resent because it
    /// refused the identical request before (see [`Refused`]).
    pub failed: usize,
    pub problems: usize,
    pub(crate) next_due: Option<Duration>,
    /// Single sign-on credential files written or removed.
    pub sso_writes: usize,
    /// Apps restarted to read new credentials.
    pub restarts: usize,
}

/// Talks to one authentik and remembers what it reported, so a lasting problem is logged once.
#[derive(Debug)]
pub struct Provisioner<A = Client> {
    client: A,
    rules: Rules,
    version: Option<ServerVersion>,
    clock: GraceClock,
    reported: ReportOnce,
    /// The problems of the latest round.
    problems: Vec<Problem>,
    /// Refused writes by request (slug, operation and body).
    refused: BTreeMap<String, Refused>,
    /// Other gatehouse instances whose objects were seen (and said so, once).
    others_told: BTreeSet<Instance>,
    /// The optional field values gatehouse set, and where they are kept.
    record: FieldRecord,
    /// A group binding gatehouse made may be in authentik although no app asks for groups:
    /// until the bindings were read once without finding one.
    stale_bindings_possible: bool,
    /// `GATEHOUSE_MFA`, its record, and the step-up flows of `auth.mfa=true` apps.
    mfa: mfa::MfaState,
    /// One of gatehouse's OAuth2 providers was there when last read.
    oauth2_possible: bool,
    /// The server takes OAuth2 redirect URIs as text (see [`Actual::redirect_text`]).
    redirect_text: bool,
    /// Where the credentials of single sign-on apps go; `None`: nowhere (unit tests).
    sso: Option<sso::Credentials>,
    /// A remote host's outpost container (`GATEHOUSE_OUTPOST=remote`, or removed when off).
    keeper: Option<crate::reconcile::outpost::OutpostKeeper>,
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
    pub(crate) fn with_api(api: A, settings: &AuthentikSettings) -> Self {
        Self {
            client: api,
            rules: Rules {
                instance: settings.instance.clone(),
                default_outpost: settings.outpost.clone(),
                authorization_flow_slug: settings.authorization_flow.clone(),
                invalidation_flow_slug: settings.invalidation_flow.clone(),
                own_outpost: None,
            },
            version: None,
            clock: GraceClock::default(),
            reported: ReportOnce::default(),
            problems: Vec::new(),
            refused: BTreeMap::new(),
            others_told: BTreeSet::new(),
            record: FieldRecord::default(),
            stale_bindings_possible: true,
            oauth2_possible: false,
            redirect_text: false,
            sso: None,
            mfa: mfa::MfaState::default(),
            keeper: None,
        }
    }

    /// Writes the credentials of single sign-on apps through `sso` (and restarts the apps that
    /// ask for it).
    pub fn with_credentials(mut self, sso: sso::Credentials) -> Self {
        self.sso = Some(sso);
        self
    }

    /// `GATEHOUSE_MFA`, with the record of what it changed kept in `file` (without a file,
    /// known to this process only).
    pub fn with_mfa(
        mut self,
        mode: crate::model::authentik::MfaMode,
        file: Option<crate::edge::mfastate::MfaStateFile>,
    ) -> Self {
        self.mfa.mode = mode;
        self.mfa.file = file;
        self
    }

    /// In remote mode, this host's apps go to its own outpost, whose container `keeper` runs;
    /// in embedded mode a named instance's keeper removes what remote mode left.
    pub(crate) fn with_outpost(
        mut self,
        own: Option<crate::plan::authentik::remote::OwnOutpost>,
        keeper: Option<crate::reconcile::outpost::OutpostKeeper>,
    ) -> Self {
        self.rules.own_outpost = own;
        self.keeper = keeper;
        self
    }

    /// Keeps the optional field values gatehouse sets in `file` (see
    /// [`crate::plan::authentik::fields`]), so that after a restart a field whose label is
    /// gone is still cleared. Without a file they are known to this process only.
    pub fn with_state_file(mut self, file: FieldStateFile) -> Self {
        self.record.file = Some(file);
        self
    }

    /// The instance whose marks this provisioner owns.
    pub(crate) fn instance(&self) -> &Instance {
        &self.rules.instance
    }

    #[cfg(test)]
    pub(crate) fn client(&self) -> &A {
        &self.client
    }

    /// The problems the latest round reported (rejected labels, conflicts, refused requests,
    /// objects kept).
    pub(crate) fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// One round: read authentik, plan, make the requests. An `Err` is a transient failure (or
    /// authentik refusing the token): nothing more was attempted, try again later.
    pub async fn sync(
        &mut self,
        desired: &Desired,
        grace: Duration,
    ) -> Result<SyncReport, ApiError> {
        let (reads0, writes0) = (self.client.reads_made(), self.client.writes_made());
        let apps = desired.all_apps();
        let mut mfa_round = self
            .mfa_before(&apps, true)
            .await
            .inspect_err(|_| self.version = None)?;
        let mut own_problems = Vec::new();
        let (actual, later) = match self
            .observe_own(&apps, &desired.oidc, &mut own_problems)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                // authentik may come back upgraded: read the version again.
                self.version = None;
                return Err(e);
            }
        };
        self.tell_others(&actual);
        let remembered = self.record.remembered(&self.rules.instance);
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
        let mut oauth2 = self.owned_oauth2(&actual);
        let mut oauth2_removed = Vec::new();
        let outcomes = apply::Outcomes {
            refused: &mut refused,
            problems: &mut problems,
            memory: &mut memory,
            oauth2: &mut oauth2,
            oauth2_removed: &mut oauth2_removed,
        };
        let mut applied = self.apply(&plan, &apps, outcomes).await;
        if applied.is_ok() {
            problems.append(&mut own_problems);
            if let Err(e) = self.own_outpost_after(later, &mut problems).await {
                applied = Err(e);
            }
            if applied.is_ok() {
                applied = self
                    .mfa_settle(&mut mfa_round, desired, &actual.providers)
                    .await
                    .and(applied);
            }
        }
        problems.append(&mut mfa_round.problems);
        self.refused = refused;
        let settled = match &self.sso {
            Some(sso) => sso.settle(&desired.oidc, &oauth2, &oauth2_removed).await,
            None => sso::Settled::default(),
        };
        problems.extend(settled.problems);
        // Also after a failure midway: what authentik accepted is recorded.
        self.record.remember(&self.rules.instance, memory);
        self.report(problems);
        let failed = match applied {
            Ok(n) => n + mfa_round.failed,
            Err(e) => {
                self.version = None;
                return Err(e);
            }
        };
        // `actual` holds this instance's outpost as made before the plan (a delete leaves the
        // keeper nothing to use it for).
        self.keep_container(&actual).await;
        Ok(SyncReport {
            reads: self.client.reads_made() - reads0,
            writes: self.client.writes_made() - writes0,
            failed,
            problems: plan.problems.len() + desired.rejected.len(),
            next_due: plan.next_due,
            sso_writes: settled.writes,
            restarts: settled.restarts,
        })
    }

    /// This instance's OAuth2 providers as read, by slug.
    fn owned_oauth2(
        &self,
        actual: &crate::plan::authentik::Actual,
    ) -> BTreeMap<String, crate::model::authentik::OAuth2Provider> {
        actual
            .oauth2_providers
            .iter()
            .filter_map(|p| {
                self.rules
                    .instance
                    .oauth2_slug(p)
                    .map(|s| (s.to_owned(), p.clone()))
            })
            .collect()
    }

    /// What a round would do now, read (GET requests only) and planned but not applied, for
    /// `gatehouse render`. Like `run --once`, no grace period: applications of containers that
    /// are gone show as deleted. Nothing is remembered from it, and the record of field values
    /// is read, never written.
    pub async fn preview(&mut self, desired: &Desired) -> Result<Preview, ApiError> {
        let apps = desired.all_apps();
        let mut mfa_round = self.mfa_before(&apps, false).await?;
        let mut actual = self.observe(&apps, &desired.oidc).await?;
        let outpost = self.preview_own(&actual).await;
        let hold = !desired.hold_removals.is_empty() || !desired.held.is_empty();
        self.mfa_after(&mut mfa_round, &actual.providers, hold, false)
            .await?;
        // The step-up flows this round would make first: the apps' providers are shown with them.
        mfa_round.assume_made(&mut actual.stepup_flows);
        let remembered = self.record.remembered(&self.rules.instance);
        let mut clock = self.clock.clone();
        let (plan, mut problems) = plan_round(
            &actual,
            desired,
            &remembered,
            &self.rules,
            &mut clock,
            Instant::now(),
            Duration::ZERO,
        );
        problems.append(&mut mfa_round.problems);
        Ok(Preview {
            version: actual.version,
            mfa: mfa_round.ops,
            plan,
            instance: self.rules.instance.clone(),
            containers: containers_of(&apps),
            problems: problems.iter().map(ToString::to_string).collect(),
            outpost,
        })
    }

    /// Reads authentik and makes this instance's outpost exist as wanted (see [`own`]).
    async fn observe_own(
        &mut self,
        wants: &[crate::labels::authentik::AppWant],
        oidc: &[crate::labels::oidc::OidcWant],
        problems: &mut Vec<Problem>,
    ) -> Result<
        (
            crate::plan::authentik::Actual,
            Option<crate::plan::authentik::remote::OutpostStep>,
        ),
        ApiError,
    > {
        let mut actual = self.observe(wants, oidc).await?;
        let later = self.own_outpost_before(&mut actual, problems).await?;
        Ok((actual, later))
    }

    /// Says once which objects of other gatehouse instances authentik holds.
    fn tell_others(&mut self, actual: &crate::plan::authentik::Actual) {
        for (other, objects) in others_objects(actual, &self.rules.instance) {
            if self.others_told.insert(other.clone()) {
                let (warn, msg) = others_notice(&self.rules.instance, &other, &objects);
                if warn {
                    tracing::warn!(objects = objects.len(), "{msg}");
                } else {
                    tracing::info!(objects = objects.len(), "{msg}");
                }
            }
        }
    }

    /// Logs each problem once while it lasts, and a line when it clears (nothing when something
    /// kept is no longer kept: the change itself is logged).
    fn report(&mut self, now: Vec<Problem>) {
        for said in self.reported.update(&now) {
            match said {
                Said::Raised(p) if p.kind.warns() => tracing::warn!(subject = %p.subject, "{p}"),
                Said::Raised(p) => tracing::info!(subject = %p.subject, "{p}"),
                Said::Cleared(p) if p.kind != ProblemKind::Kept => {
                    tracing::info!(subject = %p.subject, "no longer applies: {p}")
                }
                Said::Cleared(_) => {}
            }
        }
        self.problems = now;
    }
}

#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod round_tests;
#[cfg(test)]
mod sso_tests;
