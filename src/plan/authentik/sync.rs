//! What authentik holds vs what the labels want -> the requests to make (pure).
//!
//! Ownership: gatehouse only ever changes or removes objects that carry its own instance's
//! marks (see [`marker`]: an application's publisher, a provider's name) and the
//! group bindings with [`BINDING_ORDER`] on its own applications. Anything else — the user's
//! providers on the embedded outpost, their own applications and policy bindings, and the
//! objects of other gatehouse instances sharing this authentik — is read but never written,
//! except an application the user explicitly lets gatehouse adopt (`auth.adopt=true`).
//! On its own applications, an optional field whose label is gone is cleared only while it
//! holds the value gatehouse set (see [`fields`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::fields::{self, Decision, Field, FieldMemory};
use super::marker::{self, Instance};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{
    AppCreate, AppPatch, Application, Group, Outpost, PolicyBinding, ProviderCreate, ProviderPatch,
    ProxyMode, ProxyProvider, ServerVersion,
};
use crate::render::wording::{self, Describe, Tense};

pub use super::marker::PUBLISHER;
/// Group bindings gatehouse makes for `auth.allow_groups` have this order (binding has no free
/// text field); bindings with any other order, or on a policy or user, are the user's.
pub const BINDING_ORDER: i64 = 1_000_000;
/// The `managed` marker of authentik's embedded outpost.
pub const EMBEDDED_OUTPOST: &str = "goauthentik.io/outposts/embedded";
/// `meta_icon` is a writable string on applications from this version on; before, the field is
/// read-only and icons are set through `set_icon_url`/`set_icon`, endpoints 2025.12 answers with
/// 405 (goauthentik/terraform-provider-authentik#833). gatehouse sets icons on 2025.12 and later
/// only, and says so for older servers, rather than patching a read-only field on every resync.
pub const ICON_WRITABLE_SINCE: ServerVersion = ServerVersion::new(2025, 12);

/// What was read from authentik.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    pub version: Option<ServerVersion>,
    /// Flow pks, `None` when no flow has the configured slug.
    pub authorization_flow: Option<String>,
    pub invalidation_flow: Option<String>,
    pub providers: Vec<ProxyProvider>,
    pub applications: Vec<Application>,
    pub outposts: Vec<Outpost>,
    pub groups: Vec<Group>,
    /// Bindings targeting the applications gatehouse owns (or wants to adopt).
    pub bindings: Vec<PolicyBinding>,
}

/// What the sync needs besides the wants.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// This gatehouse (`GATEHOUSE_INSTANCE`): it owns only objects carrying its marks.
    pub instance: Instance,
    /// `GATEHOUSE_AUTHENTIK_OUTPOST`; `None`: the embedded outpost.
    pub default_outpost: Option<String>,
    pub authorization_flow_slug: String,
    pub invalidation_flow_slug: String,
}

/// A provider that exists, or the one created earlier in this pass for a slug.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProviderRef {
    Existing(i64),
    New(String),
}

/// An application that exists (its pk), or the one created earlier in this pass for a slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRef {
    Existing(String),
    New(String),
}

/// One request to make, in the order they are listed in [`Plan::ops`].
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateProvider {
        slug: String,
        body: ProviderCreate,
    },
    PatchProvider {
        slug: String,
        pk: i64,
        body: ProviderPatch,
    },
    /// `provider` is filled into the body when the request is made.
    CreateApplication {
        slug: String,
        body: AppCreate,
        provider: ProviderRef,
    },
    PatchApplication {
        slug: String,
        body: AppPatch,
        provider: Option<ProviderRef>,
        adopt: bool,
    },
    /// Read-modify-write of the outpost's provider list: read right before the write, then
    /// `added` put in and `removed` taken out (see [`outpost_providers`]); what the user changed
    /// meanwhile stays. By slug.
    SetOutpostProviders {
        pk: String,
        name: String,
        added: Vec<(String, ProviderRef)>,
        removed: Vec<(String, i64)>,
    },
    CreateBinding {
        slug: String,
        app: AppRef,
        group_pk: String,
        group_name: String,
    },
    DeleteBinding {
        slug: String,
        pk: String,
    },
    DeleteApplication {
        slug: String,
    },
    DeleteProvider {
        slug: String,
        pk: i64,
    },
}

impl Op {
    /// The application slug the request is for (`None` for outposts, shared by many).
    pub fn slug(&self) -> Option<&str> {
        match self {
            Self::CreateProvider { slug, .. }
            | Self::PatchProvider { slug, .. }
            | Self::CreateApplication { slug, .. }
            | Self::PatchApplication { slug, .. }
            | Self::CreateBinding { slug, .. }
            | Self::DeleteBinding { slug, .. }
            | Self::DeleteApplication { slug }
            | Self::DeleteProvider { slug, .. } => Some(slug),
            Self::SetOutpostProviders { .. } => None,
        }
    }
}

/// A request with the containers of the applications it concerns, to put it in words.
#[derive(Debug, Clone, Copy)]
pub struct OpFor<'a> {
    pub op: &'a Op,
    /// The instance whose marks name the providers.
    pub instance: &'a Instance,
    /// The container that wants each application, by slug (see [`containers_of`]).
    pub containers: &'a BTreeMap<String, String>,
}

/// The container that wants each application, by slug.
pub fn containers_of(wants: &[AppWant]) -> BTreeMap<String, String> {
    wants
        .iter()
        .map(|w| (w.slug.clone(), w.container.clone()))
        .collect()
}

impl OpFor<'_> {
    /// ` for container <name>`, or nothing when no container wants `slug`.
    fn whose(&self, slug: &str) -> String {
        self.containers
            .get(slug)
            .map(|c| format!(" for container {c}"))
            .unwrap_or_default()
    }
}

/// `name: "Jelly Fin", group: "Media"`: the fields a request sets, values as JSON (quoted and
/// escaped: label values are hostile), leaving out the ones named in `skip`.
fn fields(body: &Map<String, Value>, skip: &[&str]) -> String {
    body.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `auth.group`, …: the labels whose field a request clears (sets to `""`).
fn cleared_labels(body: &Map<String, Value>) -> Vec<String> {
    body.iter()
        .filter(|(_, v)| v.as_str() == Some(""))
        .filter_map(|(k, _)| Field::from_api(k))
        .map(|f| format!("auth.{}", f.label()))
        .collect()
}

impl Describe for OpFor<'_> {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gone = "no container publishes it any more";
        match self.op {
            Op::CreateProvider { slug, body } => {
                let host = &body.external_host;
                write!(
                    f,
                    "{} authentik provider {} (forward auth for {host}",
                    tense.verb("create", "created"),
                    self.instance.provider_name(slug)
                )?;
                let open: Vec<&str> = body
                    .skip_path_regex
                    .lines()
                    .filter(|l| !l.is_empty())
                    .collect();
                if !open.is_empty() {
                    write!(f, ", no sign-in for paths matching {}", open.join(" "))?;
                }
                write!(f, "){}", self.whose(slug))
            }
            Op::PatchProvider { slug, body, .. } => write!(
                f,
                "{} authentik provider {}{} ({})",
                tense.verb("update", "updated"),
                self.instance.provider_name(slug),
                self.whose(slug),
                fields(&body.fields(), &[])
            ),
            Op::CreateApplication { slug, body, .. } => write!(
                f,
                "{} authentik application {slug} with provider {}{} ({})",
                tense.verb("create", "created"),
                self.instance.provider_name(slug),
                self.whose(slug),
                fields(&body.fields(), &["slug", "meta_publisher", "provider"])
            ),
            Op::PatchApplication {
                slug,
                body,
                provider,
                adopt,
            } => {
                let body = body.fields();
                let mut changed = vec![fields(&body, &[])];
                if provider.is_some() {
                    changed.push(format!("provider: {}", self.instance.provider_name(slug)));
                }
                changed.retain(|c| !c.is_empty());
                let cleared = cleared_labels(&body);
                if !cleared.is_empty() {
                    let (is, them) = if cleared.len() == 1 {
                        ("is", "it")
                    } else {
                        ("are", "them")
                    };
                    changed = vec![format!(
                        "{}; cleared: {} {is} no longer set, and authentik still held what gatehouse had set from {them}",
                        changed.join(", "),
                        wording::list(&cleared)
                    )];
                }
                if *adopt {
                    write!(
                        f,
                        "{} authentik application {slug}{} (auth.adopt=true; {})",
                        tense.verb("adopt", "adopted"),
                        self.whose(slug),
                        changed.join(", ")
                    )
                } else {
                    write!(
                        f,
                        "{} authentik application {slug}{} ({})",
                        tense.verb("update", "updated"),
                        self.whose(slug),
                        changed.join(", ")
                    )
                }
            }
            Op::SetOutpostProviders {
                name,
                added,
                removed,
                ..
            } => {
                let named = |slug: &str| match self.containers.get(slug) {
                    Some(c) => format!("{} (container {c})", self.instance.provider_name(slug)),
                    None => self.instance.provider_name(slug),
                };
                if !added.is_empty() {
                    let list: Vec<String> = added.iter().map(|(s, _)| named(s)).collect();
                    write!(
                        f,
                        "{} provider {} to authentik outpost {name:?}",
                        tense.verb("add", "added"),
                        wording::list(&list)
                    )?;
                    if !removed.is_empty() {
                        f.write_str("; ")?;
                    }
                }
                if !removed.is_empty() {
                    let list: Vec<String> = removed
                        .iter()
                        .map(|(s, _)| {
                            if self.containers.contains_key(s) {
                                format!("{} (it moves to another outpost)", self.instance.provider_name(s))
                            } else {
                                format!("{} ({gone})", self.instance.provider_name(s))
                            }
                        })
                        .collect();
                    write!(
                        f,
                        "{} provider {} out of authentik outpost {name:?}",
                        tense.verb("take", "took"),
                        wording::list(&list)
                    )?;
                }
                Ok(())
            }
            Op::CreateBinding {
                slug, group_name, ..
            } => write!(
                f,
                "{} group {group_name} on authentik application {slug}{} (auth.allow_groups)",
                tense.verb("allow", "allowed"),
                self.whose(slug)
            ),
            Op::DeleteBinding { slug, .. } => write!(
                f,
                "{} a group binding gatehouse made from authentik application {slug}{}: its group is no longer in auth.allow_groups",
                tense.verb("remove", "removed"),
                self.whose(slug)
            ),
            Op::DeleteApplication { slug } => write!(
                f,
                "{} authentik application {slug}: {gone}",
                tense.verb("delete", "deleted")
            ),
            Op::DeleteProvider { slug, .. } => write!(
                f,
                "{} authentik provider {}: {gone}",
                tense.verb("delete", "deleted"),
                self.instance.provider_name(slug)
            ),
        }
    }
}

/// The application slugs whose wanted state a request depends on.
pub fn concerned(op: &Op) -> Vec<&str> {
    match op {
        Op::SetOutpostProviders { added, removed, .. } => added
            .iter()
            .map(|(s, _)| s.as_str())
            .chain(removed.iter().map(|(s, _)| s.as_str()))
            .collect(),
        other => other.slug().into_iter().collect(),
    }
}

/// A problem with one app, reported once while it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub container: String,
    pub message: String,
}

/// Removals waiting out the grace period, by application slug.
#[derive(Debug, Clone, Default)]
pub struct RemovalClock {
    since: BTreeMap<String, Instant>,
}

impl RemovalClock {
    pub fn pending(&self) -> usize {
        self.since.len()
    }
}

/// The requests to make, and what was left alone and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub problems: Vec<Problem>,
    /// Gatehouse's objects kept although no app wants them: (slug, why).
    pub kept: Vec<(String, String)>,
    /// When a held removal falls due.
    pub next_due: Option<Duration>,
    /// Slugs of gatehouse's objects no app wants, not removed because all removals are held.
    pub held_back: Vec<String>,
    /// Optional fields whose label is gone but whose value the user changed in authentik since
    /// gatehouse set it: left alone (and forgotten, so this is said once).
    pub user_changed: Vec<UserChanged>,
    /// What to remember of the values gatehouse set, as things stand before this round's
    /// requests: each application create or patch authentik accepts is added to it with
    /// [`FieldMemory::record_body`], each application deleted is forgotten.
    pub memory: FieldMemory,
}

/// An optional field the user changed in authentik after gatehouse set it from a label that is
/// now gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChanged {
    pub container: String,
    pub slug: String,
    pub field: Field,
    /// What gatehouse had set.
    pub set: String,
    /// What authentik holds now.
    pub now: String,
}

impl fmt::Display for UserChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "container {}: label auth.{} is no longer set, but authentik application {}'s {} was changed in authentik since gatehouse set it ({:?}, now {:?}); leaving it as it is",
            self.container,
            self.field.label(),
            self.slug,
            self.field,
            self.set,
            self.now
        )
    }
}

impl Plan {
    pub fn writes(&self) -> usize {
        self.ops.len()
    }
}

pub fn is_owned_binding(b: &PolicyBinding) -> bool {
    b.order == BINDING_ORDER && b.group.is_some() && b.policy.is_none() && b.user.is_none()
}

/// The application pks whose bindings the sync needs: this instance's apps, and the ones to
/// adopt.
pub fn binding_targets(
    wants: &[AppWant],
    applications: &[Application],
    instance: &Instance,
) -> Vec<String> {
    let adopt: BTreeSet<&str> = wants
        .iter()
        .filter(|w| w.adopt)
        .map(|w| w.slug.as_str())
        .collect();
    applications
        .iter()
        .filter(|a| instance.owns_app(a) || adopt.contains(a.slug.as_str()))
        .map(|a| a.pk.clone())
        .collect()
}

/// The objects of gatehouse instances other than `me`, by instance: `application <slug>` and
/// `provider <name>`, sorted. They are left alone; this is for telling the user so.
pub fn others_objects(actual: &Actual, me: &Instance) -> BTreeMap<Instance, Vec<String>> {
    let mut out: BTreeMap<Instance, Vec<String>> = BTreeMap::new();
    for a in &actual.applications {
        if let Some(owner) = marker::app_owner(a).filter(|o| o != me) {
            out.entry(owner)
                .or_default()
                .push(format!("application {}", a.slug));
        }
    }
    for p in &actual.providers {
        if let Some((owner, _)) = marker::provider_owner(p).filter(|(o, _)| o != me) {
            out.entry(owner)
                .or_default()
                .push(format!("provider {}", p.name));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Compares and plans. `remembered` holds the optional field values gatehouse set before (see
/// [`fields`]): a field whose label is gone is cleared only while authentik holds that value.
/// `held` are slugs of containers whose labels are rejected right now: their
/// objects stay. With `hold_all` (a rejected container whose slug cannot be told) no object
/// leaves: no delete, no removal from an outpost. Removals wait `grace` after an app is first
/// seen unwanted.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    actual: &Actual,
    wants: &[AppWant],
    remembered: &FieldMemory,
    held: &BTreeSet<String>,
    hold_all: bool,
    rules: &Rules,
    clock: &mut RemovalClock,
    now: Instant,
    grace: Duration,
) -> Plan {
    let mut out = Plan::default();
    let version = actual.version;
    let with_invalidation = version.is_some_and(ServerVersion::has_invalidation_flow);
    let icons = version.is_some_and(|v| v >= ICON_WRITABLE_SINCE);

    let apps: BTreeMap<&str, &Application> = actual
        .applications
        .iter()
        .map(|a| (a.slug.as_str(), a))
        .collect();
    let owned_providers: BTreeMap<&str, &ProxyProvider> = actual
        .providers
        .iter()
        .filter_map(|p| rules.instance.provider_slug(p).map(|s| (s, p)))
        .collect();
    let owned_pks: BTreeMap<i64, &str> = owned_providers
        .iter()
        .map(|(slug, p)| (p.pk, *slug))
        .collect();
    let groups: BTreeMap<&str, &Group> =
        actual.groups.iter().map(|g| (g.name.as_str(), g)).collect();

    let mut creates = Vec::new();
    let mut app_ops = Vec::new();
    let mut binding_ops = Vec::new();
    let mut deletes = Vec::new();
    // Desired outpost membership: outpost pk -> providers gatehouse wants in it.
    let mut membership: BTreeMap<&str, Vec<(ProviderRef, String)>> = BTreeMap::new();
    let mut wanted_slugs: BTreeSet<&str> = BTreeSet::new();

    let flows_missing = match (&actual.authorization_flow, &actual.invalidation_flow) {
        (None, _) => Some(format!(
            "authentik has no flow with slug {} (GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW)",
            rules.authorization_flow_slug
        )),
        (_, None) if with_invalidation => Some(format!(
            "authentik has no flow with slug {} (GATEHOUSE_AUTHENTIK_INVALIDATION_FLOW)",
            rules.invalidation_flow_slug
        )),
        _ => None,
    };

    let mut sorted: Vec<&AppWant> = wants.iter().collect();
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.container.cmp(&b.container)));
    // The want that gets each slug: the first (the others are conflicts, below).
    let mut winners: BTreeMap<&str, &AppWant> = BTreeMap::new();
    for w in &sorted {
        winners.entry(w.slug.as_str()).or_insert(w);
    }
    let mut clears = owned_fields(
        actual,
        &winners,
        remembered,
        &rules.instance,
        icons,
        &mut out,
    );
    for want in sorted {
        let problem = |message: String| Problem {
            container: want.container.clone(),
            message,
        };
        if !wanted_slugs.insert(want.slug.as_str()) {
            out.problems.push(problem(format!(
                "application slug {} is already used by another container: set a different auth.slug",
                want.slug
            )));
            continue;
        }
        clock.since.remove(&want.slug);
        if let Some(why) = &flows_missing {
            out.problems
                .push(problem(format!("not provisioned: {why}")));
            continue;
        }
        let existing = apps.get(want.slug.as_str()).copied();
        let adopting = existing.is_some_and(|a| !rules.instance.owns_app(a));
        let owner = existing.and_then(marker::app_owner);
        // Taking over moves an application only from the user, or from the unnamed instance to
        // a named one (an install given a name), never back nor between named instances: two
        // gatehouses both set to adopt would otherwise take it from each other every round.
        let adoptable = match &owner {
            None => true,
            Some(other) => other.is_unnamed() && !rules.instance.is_unnamed(),
        };
        if adopting && !(want.adopt && adoptable) {
            out.problems.push(problem(match owner {
                Some(other) if adoptable => format!(
                    "application {} in authentik is managed by {other} (meta_publisher {:?}); leaving it alone: two gatehouses cannot publish one slug, so set a different auth.slug here (or, if it is this install's own from before GATEHOUSE_INSTANCE was set, auth.adopt=true to take the application over)",
                    want.slug,
                    other.publisher()
                ),
                Some(other) => format!(
                    "application {} in authentik is managed by {other} (meta_publisher {:?}); leaving it alone: two gatehouses cannot publish one slug, so set a different auth.slug here (auth.adopt does not take applications from another gatehouse instance{})",
                    want.slug,
                    other.publisher(),
                    if want.adopt { "; clear the application's publisher in authentik first to hand it over" } else { "" }
                ),
                None => format!(
                    "application {} already exists in authentik and was not made by gatehouse; leaving it alone (set auth.adopt=true to let gatehouse manage it, or choose another auth.slug)",
                    want.slug
                ),
            }));
            continue;
        }
        let outpost_name = want.outpost.as_ref().or(rules.default_outpost.as_ref());
        let outpost = match outpost_name {
            Some(name) => actual.outposts.iter().find(|o| &o.name == name),
            None => actual
                .outposts
                .iter()
                .find(|o| o.managed.as_deref() == Some(EMBEDDED_OUTPOST)),
        };
        let Some(outpost) = outpost else {
            out.problems.push(problem(match outpost_name {
                Some(n) => format!("authentik has no outpost named {n:?}"),
                None => "authentik has no embedded outpost (managed goauthentik.io/outposts/embedded); set GATEHOUSE_AUTHENTIK_OUTPOST or auth.outpost".to_owned(),
            }));
            continue;
        };
        let mut group_pks = Vec::new();
        let unknown: Vec<&str> = want
            .allow_groups
            .iter()
            .filter(|g| match groups.get(g.as_str()) {
                Some(found) => {
                    group_pks.push((found.pk.clone(), g.to_string()));
                    false
                }
                None => true,
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            out.problems.push(problem(format!(
                "label auth.allow_groups names group(s) authentik does not have: {}",
                unknown.join(", ")
            )));
            continue;
        }
        if want.icon.is_some() && !icons {
            out.problems.push(problem(format!(
                "label auth.icon is not applied: authentik before {ICON_WRITABLE_SINCE} takes icons only as uploads"
            )));
        }

        // Provider.
        let desired_provider = provider_body(want, actual, with_invalidation, &rules.instance);
        let provider_ref = match owned_providers.get(want.slug.as_str()) {
            Some(p) => {
                let patch = ProviderPatch::between(p, &desired_provider);
                if !patch.is_empty() {
                    creates.push(Op::PatchProvider {
                        slug: want.slug.clone(),
                        pk: p.pk,
                        body: patch,
                    });
                }
                ProviderRef::Existing(p.pk)
            }
            None => {
                creates.push(Op::CreateProvider {
                    slug: want.slug.clone(),
                    body: desired_provider,
                });
                ProviderRef::New(want.slug.clone())
            }
        };
        membership
            .entry(outpost.pk.as_str())
            .or_default()
            .push((provider_ref.clone(), want.slug.clone()));

        // Application.
        let desired_app = app_body(want, icons, &rules.instance);
        let app_ref = match existing {
            None => {
                app_ops.push(Op::CreateApplication {
                    slug: want.slug.clone(),
                    body: desired_app,
                    provider: provider_ref,
                });
                AppRef::New(want.slug.clone())
            }
            Some(a) => {
                let mut patch = AppPatch::between(a, &desired_app);
                for field in clears.remove(want.slug.as_str()).unwrap_or_default() {
                    *app_field(&mut patch, field) = Some(String::new());
                }
                let provider = match &provider_ref {
                    ProviderRef::Existing(pk) if a.provider == Some(*pk) => None,
                    other => Some(other.clone()),
                };
                if !patch.is_empty() || provider.is_some() {
                    app_ops.push(Op::PatchApplication {
                        slug: want.slug.clone(),
                        body: patch,
                        provider,
                        adopt: adopting,
                    });
                }
                AppRef::Existing(a.pk.clone())
            }
        };

        // Group bindings.
        let ours: Vec<&PolicyBinding> = match &app_ref {
            AppRef::Existing(pk) => actual
                .bindings
                .iter()
                .filter(|b| &b.target == pk && is_owned_binding(b))
                .collect(),
            AppRef::New(_) => Vec::new(),
        };
        for (gpk, gname) in &group_pks {
            if !ours.iter().any(|b| b.group.as_deref() == Some(gpk)) {
                binding_ops.push(Op::CreateBinding {
                    slug: want.slug.clone(),
                    app: app_ref.clone(),
                    group_pk: gpk.clone(),
                    group_name: gname.clone(),
                });
            }
        }
        for b in ours {
            if !group_pks.iter().any(|(g, _)| b.group.as_deref() == Some(g)) {
                binding_ops.push(Op::DeleteBinding {
                    slug: want.slug.clone(),
                    pk: b.pk.clone(),
                });
            }
        }
    }

    // Removals: gatehouse's applications and providers no app wants.
    let mut leaving: BTreeSet<&str> = owned_providers
        .keys()
        .copied()
        .filter(|s| !wanted_slugs.contains(s))
        .collect();
    leaving.extend(
        actual
            .applications
            .iter()
            .filter(|a| rules.instance.owns_app(a) && !wanted_slugs.contains(a.slug.as_str()))
            .map(|a| a.slug.as_str()),
    );
    clock
        .since
        .retain(|slug, _| leaving.contains(slug.as_str()));
    // Providers that stay in their outpost as they are: apps skipped for a problem this round
    // (nothing working is lost), held apps, and apps in their grace period.
    let placed: BTreeSet<&str> = membership
        .values()
        .flatten()
        .map(|(_, slug)| slug.as_str())
        .collect();
    let mut stay: BTreeSet<i64> = wanted_slugs
        .iter()
        .filter(|s| !placed.contains(*s))
        .filter_map(|s| owned_providers.get(s).map(|p| p.pk))
        .collect();
    for slug in leaving {
        if held.contains(slug)
            || hold_all
            || now.saturating_duration_since(*clock.since.get(slug).unwrap_or(&now)) < grace
        {
            if let Some(p) = owned_providers.get(slug) {
                stay.insert(p.pk);
            }
        }
        if held.contains(slug) {
            out.kept.push((
                slug.to_owned(),
                format!("kept application {slug} in authentik while its container's labels are rejected"),
            ));
            clock.since.remove(slug);
            continue;
        }
        if hold_all {
            out.held_back.push(slug.to_owned());
            clock.since.remove(slug);
            continue;
        }
        let since = *clock.since.entry(slug.to_owned()).or_insert(now);
        let waited = now.saturating_duration_since(since);
        if waited < grace {
            let left = grace - waited;
            out.kept.push((
                slug.to_owned(),
                format!(
                    "application {slug} is no longer wanted; removing it from authentik in {}s unless it comes back",
                    left.as_secs_f32().ceil()
                ),
            ));
            out.next_due = Some(out.next_due.map_or(left, |d| d.min(left)));
            continue;
        }
        let app = apps
            .get(slug)
            .copied()
            .filter(|a| rules.instance.owns_app(a));
        let user_bindings = app.map_or(0, |a| {
            actual
                .bindings
                .iter()
                .filter(|b| b.target == a.pk && !is_owned_binding(b))
                .count()
        });
        if user_bindings > 0 {
            out.kept.push((
                slug.to_owned(),
                format!(
                    "kept application {slug} in authentik (taken out of the outpost): it has {user_bindings} policy binding(s) gatehouse did not make; delete it in authentik when you no longer need it"
                ),
            ));
            continue;
        }
        if app.is_some() {
            deletes.push(Op::DeleteApplication {
                slug: slug.to_owned(),
            });
        }
        if let Some(p) = owned_providers.get(slug) {
            deletes.push(Op::DeleteProvider {
                slug: slug.to_owned(),
                pk: p.pk,
            });
        }
        clock.since.remove(slug);
    }

    // Outposts: keep every provider gatehouse does not own; gatehouse's only where wanted.
    let mut outpost_ops = Vec::new();
    for o in &actual.outposts {
        let wanted_here = membership.get(o.pk.as_str());
        let wanted_existing: BTreeSet<i64> = wanted_here
            .map(|v| {
                v.iter()
                    .filter_map(|(r, _)| match r {
                        ProviderRef::Existing(pk) => Some(*pk),
                        ProviderRef::New(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut removed = Vec::new();
        for pk in &o.providers {
            match owned_pks.get(pk) {
                Some(slug) if !wanted_existing.contains(pk) && !stay.contains(pk) => {
                    removed.push(((*slug).to_owned(), *pk))
                }
                _ => {}
            }
        }
        let mut added = Vec::new();
        for (r, slug) in wanted_here.into_iter().flatten() {
            let there = matches!(r, ProviderRef::Existing(pk) if o.providers.contains(pk));
            if !there {
                added.push((slug.clone(), r.clone()));
            }
        }
        if !added.is_empty() || !removed.is_empty() {
            outpost_ops.push(Op::SetOutpostProviders {
                pk: o.pk.clone(),
                name: o.name.clone(),
                added,
                removed,
            });
        }
    }

    out.ops = creates
        .into_iter()
        .chain(app_ops)
        .chain(outpost_ops)
        .chain(binding_ops)
        .chain(deletes)
        .collect();
    out
}

/// An outpost's provider list after gatehouse's change: `current` as read right before the
/// write, `removed` taken out, `added` appended where missing. Everything else stays in its
/// place, so a provider the user added since the round began is not dropped.
pub fn outpost_providers(current: &[i64], added: &[i64], removed: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = current
        .iter()
        .copied()
        .filter(|pk| !removed.contains(pk))
        .collect();
    for pk in added {
        if !out.contains(pk) {
            out.push(*pk);
        }
    }
    out
}

fn provider_body(
    want: &AppWant,
    actual: &Actual,
    with_invalidation: bool,
    instance: &Instance,
) -> ProviderCreate {
    ProviderCreate {
        name: instance.provider_name(&want.slug),
        authorization_flow: actual.authorization_flow.clone().unwrap_or_default(),
        invalidation_flow: with_invalidation
            .then(|| actual.invalidation_flow.clone().unwrap_or_default()),
        external_host: want.external_host.clone(),
        mode: ProxyMode::ForwardSingle,
        skip_path_regex: want.skip_path_regex.clone(),
    }
}

fn app_body(want: &AppWant, icons: bool, instance: &Instance) -> AppCreate {
    AppCreate {
        name: want.name.clone(),
        slug: want.slug.clone(),
        meta_publisher: instance.publisher().to_owned(),
        group: want.group.clone(),
        meta_icon: want.icon.clone().filter(|_| icons),
        meta_description: want.description.clone(),
        meta_launch_url: want.launch_url.clone(),
        provider: None,
    }
}

/// The slot of an optional field in an application patch.
fn app_field(patch: &mut AppPatch, field: Field) -> &mut Option<String> {
    match field {
        Field::Group => &mut patch.group,
        Field::Icon => &mut patch.meta_icon,
        Field::Description => &mut patch.meta_description,
        Field::LaunchUrl => &mut patch.meta_launch_url,
    }
}

/// The optional fields of this instance's applications (see [`fields`]): into `out`, what to
/// remember and the values the user changed; returned, by slug, the fields to clear because
/// their label is gone and authentik still holds what gatehouse set.
fn owned_fields(
    actual: &Actual,
    winners: &BTreeMap<&str, &AppWant>,
    remembered: &FieldMemory,
    instance: &Instance,
    icons: bool,
    out: &mut Plan,
) -> BTreeMap<String, Vec<Field>> {
    let mut clears: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    for a in actual.applications.iter().filter(|a| instance.owns_app(a)) {
        let want = winners.get(a.slug.as_str()).copied();
        for field in Field::ALL {
            let current = field.of_app(a);
            let before = remembered.get(&a.slug, &a.pk, field);
            let writable = field != Field::Icon || icons;
            let decision = match want {
                Some(w) => fields::decide(field.of_want(w), current, before, writable),
                // No container wants it (gone, or its labels are rejected): nothing is sent,
                // and what gatehouse set stays remembered while authentik holds it.
                None => fields::decide(None, current, before, false),
            };
            match decision {
                Decision::Leave { keep } => {
                    if let Some(v) = keep {
                        out.memory.set(&a.slug, &a.pk, field, v);
                    }
                }
                Decision::Send { value, keep } => {
                    if let Some(v) = keep {
                        out.memory.set(&a.slug, &a.pk, field, v);
                    }
                    // The label's own values go out with the application's patch already.
                    if value.is_empty() {
                        clears.entry(a.slug.clone()).or_default().push(field);
                    }
                }
                Decision::UserChanged { set, now } => {
                    if let Some(w) = want {
                        out.user_changed.push(UserChanged {
                            container: w.container.clone(),
                            slug: a.slug.clone(),
                            field,
                            set: set.to_owned(),
                            now: now.to_owned(),
                        });
                    }
                }
            }
        }
    }
    clears
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
