//! authentik provisioning, applied: the [`Provisioner`] runs one observe → plan → apply round
//! against the REST API v3 ([`observe`], [`apply`], the field record in [`record`]);
//! [`run_worker`] repeats it beside the conf loop so that a slow or absent authentik never
//! holds up a proxy-conf ([`worker`]). The planning is in [`crate::plan::authentik`].

mod apply;
mod observe;
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
    /// One of gatehouse's OAuth2 providers was there when last read.
    oauth2_possible: bool,
    /// The server takes OAuth2 redirect URIs as text (see [`Actual::redirect_text`]).
    redirect_text: bool,
    /// Where the credentials of single sign-on apps go; `None`: nowhere (unit tests).
    sso: Option<sso::Credentials>,
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
        }
    }

    /// Writes the credentials of single sign-on apps through `sso` (and restarts the apps that
    /// ask for it).
    pub fn with_credentials(mut self, sso: sso::Credentials) -> Self {
        self.sso = Some(sso);
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
        let actual = match self.observe(&apps, &desired.oidc).await {
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
        let applied = self.apply(&plan, &apps, outcomes).await;
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
        let actual = self.observe(&apps, &desired.oidc).await?;
        let remembered = self.record.remembered(&self.rules.instance);
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
            containers: containers_of(&apps),
            problems: problems.iter().map(ToString::to_string).collect(),
        })
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
