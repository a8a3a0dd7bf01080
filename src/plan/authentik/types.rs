//! The planner's shared vocabulary (pure): what was read from authentik ([`Actual`]), the
//! rules of this instance ([`Rules`]), the requests to make ([`Op`]) and the plan they form
//! ([`Plan`]), and which objects are gatehouse's.
//!
//! Ownership: gatehouse only ever changes or removes objects that carry its own instance's
//! marks (see [`marker`]: an application's publisher, a provider's name) and the
//! group bindings with [`BINDING_ORDER`] on its own applications. Anything else — the user's
//! providers on the embedded outpost, their own applications and policy bindings, and the
//! objects of other gatehouse instances sharing this authentik — is read but never written,
//! except an application the user explicitly lets gatehouse adopt (`auth.adopt=true`).
//! On its own applications, an optional field whose label is gone is cleared only while it
//! holds the value gatehouse set (see [`super::fields`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use super::fields::{Field, FieldMemory};
use super::marker::{self, Instance};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{
    AppCreate, AppPatch, Application, Group, OAuth2Create, OAuth2Patch, OAuth2Provider, Outpost,
    PolicyBinding, ProviderCreate, ProviderPatch, ProxyProvider, ScopeMapping, ScopeMappingCreate,
    ServerVersion,
};

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
    pub(crate) version: Option<ServerVersion>,
    /// Flow pks, `None` when no flow has the configured slug.
    pub(crate) authorization_flow: Option<String>,
    pub(crate) invalidation_flow: Option<String>,
    pub(crate) providers: Vec<ProxyProvider>,
    pub(crate) applications: Vec<Application>,
    pub(crate) outposts: Vec<Outpost>,
    pub(crate) groups: Vec<Group>,
    /// Bindings targeting the applications gatehouse owns (or wants to adopt).
    pub(crate) bindings: Vec<PolicyBinding>,
    /// OAuth2/OpenID providers (read when an app asks for single sign-on, or one of
    /// gatehouse's may be left over).
    pub(crate) oauth2_providers: Vec<OAuth2Provider>,
    /// Scope mappings (read when an app asks for single sign-on).
    pub(crate) scope_mappings: Vec<ScopeMapping>,
    /// The pk of the certificate OAuth2 providers sign with (authentik's self-signed one).
    pub(crate) signing_key: Option<String>,
    /// The server takes `redirect_uris` as a newline-separated string (before 2024.8.5 and
    /// 2024.10.3), not a list.
    pub(crate) redirect_text: bool,
}

/// What the sync needs besides the wants.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// This gatehouse (`GATEHOUSE_INSTANCE`): it owns only objects carrying its marks.
    pub(crate) instance: Instance,
    /// `GATEHOUSE_AUTHENTIK_OUTPOST`; `None`: the embedded outpost.
    pub(crate) default_outpost: Option<String>,
    pub(crate) authorization_flow_slug: String,
    pub(crate) invalidation_flow_slug: String,
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
    /// `added` put in and `removed` taken out (see [`super::outpost::outpost_providers`]); what the user changed
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
    /// The client secret of a confidential client is filled in when the request is made.
    CreateOAuth2Provider {
        slug: String,
        body: OAuth2Create,
    },
    PatchOAuth2Provider {
        slug: String,
        pk: i64,
        body: OAuth2Patch,
    },
    DeleteOAuth2Provider {
        slug: String,
        pk: i64,
    },
    /// The shared `email_verified` scope mapping, made for the first app that needs it; the
    /// providers made or patched after it in the same round name it by
    /// [`super::oauth2::NEW_EMAIL_MAPPING`].
    CreateScopeMapping {
        slug: String,
        body: ScopeMappingCreate,
    },
}

impl Op {
    /// The application slug the request is for (`None` for outposts, shared by many).
    pub(crate) fn slug(&self) -> Option<&str> {
        match self {
            Self::CreateProvider { slug, .. }
            | Self::PatchProvider { slug, .. }
            | Self::CreateApplication { slug, .. }
            | Self::PatchApplication { slug, .. }
            | Self::CreateBinding { slug, .. }
            | Self::DeleteBinding { slug, .. }
            | Self::DeleteApplication { slug }
            | Self::DeleteProvider { slug, .. }
            | Self::CreateOAuth2Provider { slug, .. }
            | Self::PatchOAuth2Provider { slug, .. }
            | Self::DeleteOAuth2Provider { slug, .. }
            | Self::CreateScopeMapping { slug, .. } => Some(slug),
            Self::SetOutpostProviders { .. } => None,
        }
    }
}

/// The container that wants each application, by slug.
pub fn containers_of(wants: &[AppWant]) -> BTreeMap<String, String> {
    wants
        .iter()
        .map(|w| (w.slug.clone(), w.container.clone()))
        .collect()
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
pub struct AppProblem {
    pub(crate) container: String,
    pub(crate) message: String,
}

/// The requests to make, and what was left alone and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub(crate) problems: Vec<AppProblem>,
    /// Gatehouse's objects kept although no app wants them: (slug, why).
    pub(crate) kept: Vec<(String, String)>,
    /// When a held removal falls due.
    pub(crate) next_due: Option<Duration>,
    /// Slugs of gatehouse's objects no app wants, not removed because all removals are held.
    pub(crate) held_back: Vec<String>,
    /// Optional fields whose label is gone but whose value the user changed in authentik since
    /// gatehouse set it: left alone (and forgotten, so this is said once).
    pub(crate) user_changed: Vec<UserChanged>,
    /// What to remember of the values gatehouse set, as things stand before this round's
    /// requests: each application create or patch authentik accepts is added to it with
    /// [`FieldMemory::record_body`], each application deleted is forgotten.
    pub memory: FieldMemory,
}

/// An optional field the user changed in authentik after gatehouse set it from a label that is
/// now gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChanged {
    pub(crate) container: String,
    pub(crate) slug: String,
    pub(crate) field: Field,
    /// What gatehouse had set.
    pub(crate) set: String,
    /// What authentik holds now.
    pub(crate) now: String,
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
