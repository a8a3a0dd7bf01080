//! The authentik planner (pure): what authentik holds vs what the labels want -> the requests
//! to make. Each want is checked, then planned by kind ([`super::provider`],
//! [`super::application`], [`super::binding`]); then what no app wants goes
//! ([`super::removal`]) and the outposts get their providers ([`super::outpost`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::fields::{Field, FieldMemory};
use super::types::{Actual, AppProblem, Op, Plan, ProviderRef, Rules, ICON_WRITABLE_SINCE};
use super::{application, binding, oauth2, outpost, provider, removal};
use crate::labels::authentik::AppWant;
use crate::labels::oidc::OidcWant;
use crate::model::authentik::{
    Application, Group, OAuth2Provider, Outpost, ProxyProvider, ServerVersion,
};
use crate::plan::grace::GraceClock;

/// What one plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub(crate) actual: &'a Actual,
    pub(crate) wants: &'a [AppWant],
    /// The optional field values gatehouse set before (see [`super::fields`]): a field whose
    /// label is gone is cleared only while authentik holds that value.
    pub(crate) remembered: &'a FieldMemory,
    /// Slugs of containers whose labels are rejected right now: their objects stay.
    pub(crate) held: &'a BTreeSet<String>,
    /// A rejected container whose slug cannot be told: no object leaves (no delete, no
    /// removal from an outpost).
    pub(crate) hold_all: bool,
    pub(crate) rules: &'a Rules,
    pub(crate) now: Instant,
    /// Removals wait this long after an app is first seen unwanted.
    pub(crate) grace: Duration,
}

/// What authentik holds, looked up once for the planners of each kind.
pub(super) struct Index<'a> {
    pub(crate) input: Inputs<'a>,
    pub(crate) apps: BTreeMap<&'a str, &'a Application>,
    /// This instance's providers, by application slug.
    pub(crate) owned_providers: BTreeMap<&'a str, &'a ProxyProvider>,
    pub(crate) owned_pks: BTreeMap<i64, &'a str>,
    pub(crate) groups: BTreeMap<&'a str, &'a Group>,
    /// Providers take an invalidation flow on this server.
    pub(crate) with_invalidation: bool,
    /// `meta_icon` is writable on this server.
    pub(crate) icons: bool,
    /// The apps that log their users in themselves (single sign-on).
    pub(crate) oidc: &'a [OidcWant],
    /// This instance's OAuth2 providers, by application slug.
    pub(crate) owned_oauth2: BTreeMap<&'a str, &'a OAuth2Provider>,
}

impl<'a> Index<'a> {
    fn new(input: Inputs<'a>, oidc: &'a [OidcWant]) -> Self {
        let actual = input.actual;
        let version = actual.version;
        let owned_providers: BTreeMap<&str, &ProxyProvider> = actual
            .providers
            .iter()
            .filter_map(|p| input.rules.instance.provider_slug(p).map(|s| (s, p)))
            .collect();
        Self {
            apps: actual
                .applications
                .iter()
                .map(|a| (a.slug.as_str(), a))
                .collect(),
            owned_pks: owned_providers
                .iter()
                .map(|(slug, p)| (p.pk, *slug))
                .collect(),
            owned_providers,
            groups: actual.groups.iter().map(|g| (g.name.as_str(), g)).collect(),
            with_invalidation: version.is_some_and(ServerVersion::has_invalidation_flow),
            icons: version.is_some_and(|v| v >= ICON_WRITABLE_SINCE),
            oidc,
            owned_oauth2: actual
                .oauth2_providers
                .iter()
                .filter_map(|p| input.rules.instance.oauth2_slug(p).map(|s| (s, p)))
                .collect(),
            input,
        }
    }
}

/// The requests planned so far, by kind (sent in this order), and where providers go.
#[derive(Default)]
pub(super) struct Draft<'a> {
    pub(crate) providers: Vec<Op>,
    pub(crate) applications: Vec<Op>,
    pub(crate) bindings: Vec<Op>,
    pub(crate) deletes: Vec<Op>,
    /// Desired outpost membership: outpost pk -> providers gatehouse wants in it.
    pub(crate) membership: BTreeMap<&'a str, Vec<(ProviderRef, String)>>,
    /// The slugs wanted (each by its first want; the others are conflicts).
    pub(crate) wanted: BTreeSet<&'a str>,
}

/// A want that passed the checks, with what they found.
struct Checked<'a> {
    existing: Option<&'a Application>,
    adopting: bool,
    outpost: &'a Outpost,
    /// The groups of `auth.allow_groups`: (pk, name).
    groups: Vec<(String, String)>,
}

/// Compares and plans. Removals wait `input.grace` after an app is first seen unwanted,
/// counted on `clock` across rounds.
pub fn plan(input: Inputs<'_>, clock: &mut GraceClock) -> Plan {
    plan_with_oidc(input, &[], clock)
}

/// [`plan`], with the apps that log their users in themselves ([`oauth2`]).
pub fn plan_with_oidc(input: Inputs<'_>, oidc: &[OidcWant], clock: &mut GraceClock) -> Plan {
    let ix = Index::new(input, oidc);
    let mut out = Plan::default();
    let mut draft = Draft::default();
    let mut sorted: Vec<&AppWant> = input.wants.iter().collect();
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.container.cmp(&b.container)));
    // The want that gets each slug: the first (the others are conflicts).
    let mut winners: BTreeMap<&str, &AppWant> = BTreeMap::new();
    for w in &sorted {
        winners.entry(w.slug.as_str()).or_insert(w);
    }
    for o in oidc {
        winners.entry(o.slug()).or_insert(&o.app);
    }
    let mut clears = application::owned_fields(&ix, &winners, &mut out);
    let flows_missing = provider::flows_missing(&ix);
    for want in sorted {
        let problem = |message: String| AppProblem {
            container: want.container.clone(),
            message,
        };
        if !draft.wanted.insert(want.slug.as_str()) {
            out.problems.push(problem(format!(
                "application slug {} is already used by another container: set a different auth.slug",
                want.slug
            )));
            continue;
        }
        clock.forget(&want.slug);
        match check(&ix, want, flows_missing.as_deref()) {
            Ok(checked) => {
                if let Some(m) = application::icon_warning(&ix, want) {
                    out.problems.push(problem(m));
                }
                let fields = clears.remove(want.slug.as_str()).unwrap_or_default();
                plan_want(&ix, want, checked, &fields, &mut draft);
            }
            Err(message) => out.problems.push(problem(message)),
        }
    }
    for o in oidc {
        clock.forget(o.slug());
    }
    oauth2::plan(&ix, &mut draft, &mut clears, &mut out);
    let stay = removal::plan(&ix, &mut draft, clock, &mut out);
    let outposts = outpost::plan(&ix, &draft.membership, &stay);
    out.ops = draft
        .providers
        .into_iter()
        .chain(draft.applications)
        .chain(outposts)
        .chain(draft.bindings)
        .chain(draft.deletes)
        .collect();
    out
}

/// Whether a want can be planned: its flows, its application's owner, its outpost and its
/// groups exist. Else why not, for its container.
fn check<'a>(
    ix: &Index<'a>,
    want: &AppWant,
    flows_missing: Option<&str>,
) -> Result<Checked<'a>, String> {
    if let Some(why) = flows_missing {
        return Err(format!("not provisioned: {why}"));
    }
    let existing = ix.apps.get(want.slug.as_str()).copied();
    let adopting = application::check_owner(ix, want, existing)?;
    let outpost = outpost::chosen(ix, want)?;
    let groups = binding::groups_of(ix, want)?;
    Ok(Checked {
        existing,
        adopting,
        outpost,
        groups,
    })
}

/// The requests for one want: its provider, the provider's outpost, its application and its
/// group bindings.
fn plan_want<'a>(
    ix: &Index<'a>,
    want: &AppWant,
    checked: Checked<'a>,
    clears: &[Field],
    draft: &mut Draft<'a>,
) {
    let provider = provider::plan(ix, want, &mut draft.providers);
    draft
        .membership
        .entry(checked.outpost.pk.as_str())
        .or_default()
        .push((provider.clone(), want.slug.clone()));
    let app = application::plan(
        application::AppInputs {
            want,
            existing: checked.existing,
            adopting: checked.adopting,
            provider,
            clears,
        },
        ix,
        &mut draft.applications,
    );
    binding::plan(ix, want, &app, &checked.groups, &mut draft.bindings);
}
