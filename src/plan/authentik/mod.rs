//! authentik provisioning, planned (pure): what authentik should hold from one conf pass
//! ([`desired`]), which gatehouse made an object ([`marker`]), the requests that get there
//! ([`plan`], one planner per object kind: [`provider`], [`application`], [`outpost`],
//! [`binding`], [`removal`], over the shared [`types`]), each request in words
//! ([`describe`]), and which optional field values are gatehouse's ([`fields`]).

mod application;
mod binding;
mod describe;
pub mod fields;
pub mod marker;
mod oauth2;
mod outpost;
mod planner;
mod provider;
mod removal;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::config::AuthentikSettings;
use crate::labels::authentik::{self as spec, AppWant};
use crate::labels::oidc::{self, OidcWant};
use crate::labels::{LabelErrors, LabelRules};
use crate::model::authentik::ServerVersion;
use crate::model::problem::{Problem, ProblemKind};
use crate::model::spec::Access;
use crate::model::workload::Workload;
use crate::plan;
use crate::plan::grace::GraceClock;
use crate::render::wording::{Describe, Tense};
use fields::FieldMemory;

pub use describe::OpFor;
pub use marker::Instance;
pub(crate) use oauth2::NEW_EMAIL_MAPPING;
pub use oauth2::{managed_scope, EMAIL_VERIFIED_MAPPING, SIGNING_KEY_NAME};
pub use outpost::outpost_providers;
pub use planner::{plan, plan_with_oidc, Inputs};
pub use types::{
    binding_targets, concerned, containers_of, is_owned_binding, others_objects, Actual,
    AppProblem, AppRef, Op, Plan, ProviderRef, Rules, UserChanged, BINDING_ORDER, EMBEDDED_OUTPOST,
    ICON_WRITABLE_SINCE, PUBLISHER,
};

/// What authentik should hold, from one conf pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub(crate) wants: Vec<AppWant>,
    /// Slugs of protected containers whose labels are rejected: their objects stay as they are.
    pub(crate) held: BTreeSet<String>,
    /// Protected apps whose authentik labels are rejected (their conf is still written).
    pub rejected: Vec<LabelErrors>,
    /// Protected containers whose labels are rejected and whose application slug cannot be told
    /// (a bad `auth.slug` or subdomain): any of gatehouse's objects may be theirs, so no removal
    /// is made while this is not empty.
    pub(crate) hold_removals: Vec<String>,
    /// Apps that log their users in themselves (`auth.oidc`).
    pub(crate) oidc: Vec<OidcWant>,
}

impl Desired {
    /// Every application wanted: forward auth's, then single sign-on's.
    pub(crate) fn all_apps(&self) -> Vec<AppWant> {
        self.wants
            .iter()
            .cloned()
            .chain(self.oidc.iter().map(|o| o.app.clone()))
            .collect()
    }
}

/// Reads the authentik labels of every protected app the conf pass published.
pub fn desired(
    planned: &plan::Desired,
    containers: &[Workload],
    rules: &LabelRules,
    settings: &AuthentikSettings,
) -> Desired {
    let by_name: BTreeMap<&str, &Workload> =
        containers.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut out = Desired::default();
    for app in &planned.apps {
        if app.spec.access != Access::Protected {
            continue;
        }
        let Some(c) = by_name.get(app.spec.container.as_str()) else {
            continue;
        };
        match spec::read(c, &app.spec, rules, settings) {
            Ok(w) => out.wants.push(w),
            Err(e) => {
                match spec::claimed_slug(c, rules) {
                    Some(s) => {
                        out.held.insert(s);
                    }
                    None => out.hold_removals.push(c.name.clone()),
                }
                out.rejected.push(e);
            }
        }
    }
    for r in &planned.rejected {
        if !r.wants_protection {
            continue;
        }
        match by_name
            .get(r.container.as_str())
            .and_then(|c| spec::claimed_slug(c, rules))
        {
            Some(s) => {
                out.held.insert(s);
            }
            None => out.hold_removals.push(r.container.clone()),
        }
    }
    oidc_wants(planned, containers, rules, settings, &mut out);
    out
}

/// Reads the single sign-on labels of every container that has `auth.oidc`, published or not.
fn oidc_wants(
    planned: &plan::Desired,
    containers: &[Workload],
    rules: &LabelRules,
    settings: &AuthentikSettings,
    out: &mut Desired,
) {
    for c in containers.iter().filter(|c| oidc::asks(c, rules)) {
        let app = planned.apps.iter().find(|a| a.spec.container == c.name);
        let conf_rejected = planned.rejected.iter().any(|r| r.container == c.name);
        let protected = app.map_or(
            conf_rejected && c.labels.contains_key(&format!("{}.protect", rules.prefix)),
            |a| a.spec.access == Access::Protected,
        );
        let published = app.and_then(|a| {
            let first = a.spec.server_names.first()?;
            let hosts = a
                .spec
                .server_names
                .iter()
                .map(|n| spec::external_host(n, settings))
                .collect();
            Some((first, hosts))
        });
        let result = if conf_rejected {
            Err(None)
        } else {
            oidc::read(c, published, protected, rules, settings).map_err(Some)
        };
        match result {
            Ok(Some(w)) => out.oidc.push(w),
            Ok(None) => {}
            Err(e) => {
                // Its objects stay as they are while its labels are rejected.
                match spec::claimed_slug(c, rules) {
                    Some(s) if protected => {
                        out.held
                            .insert(format!("{}-oidc", s.chars().take(45).collect::<String>()));
                    }
                    Some(s) => {
                        out.held.insert(s);
                    }
                    None => out.hold_removals.push(c.name.clone()),
                }
                out.rejected.extend(e);
            }
        }
    }
}

/// What to tell, once, about the objects another gatehouse instance marked: whether it is a
/// warning, and the line. The unnamed instance's objects seen by a named one are most likely
/// this install's own from before `GATEHOUSE_INSTANCE` was set: they are left alone all the same
/// (adopting or deleting them silently could take another running gatehouse's apps), with a hint.
pub(crate) fn others_notice(me: &Instance, other: &Instance, objects: &[String]) -> (bool, String) {
    const SHOWN: usize = 10;
    let mut list = objects
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > SHOWN {
        list.push_str(&format!(" and {} more", objects.len() - SHOWN));
    }
    let n = objects.len();
    let this = match me.name() {
        Some(name) => format!("GATEHOUSE_INSTANCE={name}"),
        None => "unnamed".to_owned(),
    };
    if other.is_unnamed() && !me.is_unnamed() {
        (
            true,
            format!(
                "{n} authentik object(s) carry the unnamed gatehouse instance's marks (meta_publisher \"gatehouse\", providers named gatehouse:<slug>): {list}. This gatehouse ({this}) leaves them alone. If they are this install's own from before GATEHOUSE_INSTANCE was set, take each application over with auth.adopt=true on its container, or delete them in authentik (the gatehouse:<slug> providers too); if a gatehouse without GATEHOUSE_INSTANCE still runs against this authentik, they are its own and nothing needs doing"
            ),
        )
    } else {
        (
            false,
            format!(
                "authentik holds {n} object(s) of {other} (meta_publisher {:?}): {list}; this gatehouse ({this}) leaves them alone",
                other.publisher()
            ),
        )
    }
}

/// What a round would do, read and planned but not applied (`gatehouse render`).
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// authentik's version (year.month), when it could be read.
    pub(crate) version: Option<ServerVersion>,
    pub plan: Plan,
    /// The instance whose marks name the providers.
    pub(crate) instance: Instance,
    /// The container that wants each application, by slug.
    pub(crate) containers: BTreeMap<String, String>,
    /// What the round would report, one sentence each: rejected labels, conflicts (an
    /// application gatehouse did not make, a missing outpost, flow or group), objects kept.
    pub(crate) problems: Vec<String>,
}

impl Preview {
    /// The plan's requests in words, in the order they would be sent.
    pub fn actions(&self, tense: Tense) -> Vec<String> {
        self.plan
            .ops
            .iter()
            .map(|op| {
                OpFor {
                    op,
                    instance: &self.instance,
                    containers: &self.containers,
                }
                .said(tense)
                .to_string()
            })
            .collect()
    }
}

/// The subject of the problem "removals are held back" (no container is named so: Docker
/// names have no spaces).
const REMOVALS_HELD: &str = "removals held";

/// The plan of one round from what authentik holds, and the problems the round reports, each
/// with a subject that stays the same while it lasts (pure). They come in a stable order:
/// removals held back, what is kept, rejected labels, then the other problems of each app.
pub(crate) fn plan_round(
    actual: &Actual,
    desired: &Desired,
    remembered: &FieldMemory,
    rules: &Rules,
    clock: &mut GraceClock,
    now: Instant,
    grace: Duration,
) -> (Plan, Vec<Problem>) {
    let plan = plan_with_oidc(
        Inputs {
            actual,
            wants: &desired.wants,
            remembered,
            held: &desired.held,
            hold_all: !desired.hold_removals.is_empty(),
            rules,
            now,
            grace,
        },
        &desired.oidc,
        clock,
    );
    let mut problems: Vec<Problem> = Vec::new();
    for r in &desired.rejected {
        problems.push(Problem::new(
            ProblemKind::Rejected,
            &r.container,
            format!("authentik not provisioned: {r}"),
        ));
    }
    for p in &plan.problems {
        problems.push(Problem::new(
            ProblemKind::Warning,
            &p.container,
            format!("container {}: {}", p.container, p.message),
        ));
    }
    for (slug, why) in &plan.kept {
        problems.push(Problem::new(ProblemKind::Kept, slug, why));
    }
    // Said once: the field is forgotten with this round, so the next one does not plan it.
    for c in &plan.user_changed {
        let subject = format!("field:{}:{}", c.slug, c.field);
        problems.push(Problem::new(ProblemKind::Kept, subject, c.to_string()));
    }
    if !plan.held_back.is_empty() {
        problems.push(Problem::new(
            ProblemKind::Warning,
            REMOVALS_HELD,
            format!(
                "not removing gatehouse's authentik application(s) {} although no container wants them: the labels of container(s) {} are rejected and do not tell which application is theirs; removals wait until those labels are fixed",
                plan.held_back.join(", "),
                desired.hold_removals.join(", ")
            ),
        ));
    }
    problems.sort_by(|a, b| told_order(a).cmp(&told_order(b)));
    (plan, problems)
}

/// Where a problem comes in a round's list.
fn told_order(p: &Problem) -> (u8, &str, &str) {
    let rank = match p.kind {
        ProblemKind::Warning if p.subject == REMOVALS_HELD => 0,
        ProblemKind::Kept => 1,
        ProblemKind::Rejected => 2,
        ProblemKind::Warning | ProblemKind::Refused => 3,
    };
    (rank, &p.subject, &p.message)
}

#[cfg(test)]
pub mod tests;
