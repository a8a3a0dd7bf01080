//! authentik API objects, as far as gatehouse reads them. Tolerant on purpose: every field has a
//! default and unknown fields are ignored, so older and newer servers (2024.2 to 2026.x) that add,
//! drop or rename fields gatehouse does not use deserialise alike.

use serde::{Deserialize, Serialize};

mod application;
mod binding;
mod mfa;
mod oauth2;
mod outpost;
mod provider;
mod user;

pub use application::{AppCreate, AppPatch};
pub use binding::BindingCreate;
pub use mfa::{
    FlowCreate, FlowInfo, FlowStageBinding, FlowStageBindingCreate, MaxAge, MfaMode, SetupStage,
    TotpStageCreate, ValidateFields, ValidateStage, ValidateStageCreate,
};
pub use oauth2::{
    CertificateKeyPair, OAuth2Create, OAuth2Patch, OAuth2Provider, RedirectUri, RedirectUris,
    ScopeMapping, ScopeMappingCreate, Secret,
};
pub use outpost::{OutpostConfigPatch, OutpostCreate, OutpostHealth, OutpostPatch, TokenView};
pub use provider::{ProviderCreate, ProviderPatch, ProxyMode};
pub use user::{
    Brand, Device, GroupCreate, Link, Owner, ServiceAccount, SessionUser, SuperGroup, User,
    UserCreate,
};

/// A request body's fields as sent, by name (sorted).
fn to_map<T: Serialize>(body: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// `Some(wanted)` where authentik holds something else.
fn differs<T: PartialEq + Clone>(current: Option<&T>, wanted: &T) -> Option<T> {
    (current != Some(wanted)).then(|| wanted.clone())
}

/// A provider's name, authorization flow and invalidation flow, as authentik holds them.
type NameAndFlows<'a> = (&'a String, &'a Option<String>, &'a Option<String>);

/// What a provider patch sends of the name and flows every provider has, to turn `current`
/// into `wanted`: (name, authorization flow, invalidation flow), `Some` where they differ. An
/// invalidation flow not wanted (a server without them) is left alone.
fn name_and_flows(
    current: NameAndFlows<'_>,
    wanted: (&String, &String, &Option<String>),
) -> (Option<String>, Option<String>, Option<String>) {
    (
        differs(Some(current.0), wanted.0),
        differs(current.1.as_ref(), wanted.1),
        wanted
            .2
            .as_ref()
            .and_then(|w| differs(current.2.as_ref(), w)),
    )
}

/// One page of a list endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct Page<T> {
    pub(crate) pagination: Pagination,
    pub(crate) results: Vec<T>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            pagination: Pagination::default(),
            results: Vec::new(),
        }
    }
}

/// authentik's pagination block; `next` is 0 on the last page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Pagination {
    pub(crate) next: f64,
    pub(crate) count: f64,
    pub(crate) total_pages: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProxyProvider {
    pub(crate) pk: i64,
    pub(crate) name: String,
    pub(crate) authorization_flow: Option<String>,
    pub(crate) invalidation_flow: Option<String>,
    pub(crate) external_host: String,
    pub(crate) skip_path_regex: String,
    pub(crate) mode: Option<String>,
    pub(crate) assigned_application_slug: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Application {
    pub(crate) pk: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) provider: Option<i64>,
    pub(crate) group: Option<String>,
    pub(crate) meta_icon: Option<String>,
    pub(crate) meta_description: Option<String>,
    pub(crate) meta_launch_url: Option<String>,
    pub(crate) meta_publisher: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Outpost {
    pub(crate) pk: String,
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) providers: Vec<i64>,
    pub(crate) managed: Option<String>,
    pub(crate) config: serde_json::Map<String, serde_json::Value>,
    /// The identifier of the outpost's API token (`ak-outpost-<pk>-api`).
    pub(crate) token_identifier: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Flow {
    pub(crate) pk: String,
    pub(crate) slug: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Group {
    pub(crate) pk: String,
    pub(crate) name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PolicyBinding {
    pub(crate) pk: String,
    pub(crate) policy: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) user: Option<i64>,
    pub(crate) target: String,
    pub(crate) order: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionInfo {
    pub(crate) version_current: String,
}

/// A server version, `year.month` (patch level ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub(crate) year: u32,
    pub(crate) month: u32,
}

impl ServerVersion {
    pub(crate) const fn new(year: u32, month: u32) -> Self {
        Self { year, month }
    }

    /// Parses `2024.10.3`, `2026.5.6`, `2025.2.0-rc1`; `None` for anything else.
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split('.');
        let year = parts.next()?.parse().ok()?;
        let month: String = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(Self {
            year,
            month: month.parse().ok()?,
        })
    }

    /// Proxy providers have an invalidation flow (required) from 2024.10 on.
    pub(crate) fn has_invalidation_flow(self) -> bool {
        self >= Self::new(2024, 10)
    }

    /// Scope mappings are listed under `/propertymappings/provider/scope/` from 2024.8 on
    /// (`/propertymappings/scope/` before).
    pub(crate) fn scope_mappings_path(self) -> &'static str {
        if self >= Self::new(2024, 8) {
            "/propertymappings/provider/scope/"
        } else {
            "/propertymappings/scope/"
        }
    }

    /// OAuth2 providers take `grant_types` from 2026.5 on.
    pub(crate) fn has_grant_types(self) -> bool {
        self >= Self::new(2026, 5)
    }
}

/// Whether an OAuth2 provider's `redirect_uris` is a list of `{matching_mode, url}` (2024.8.5
/// and 2024.10.3 on) rather than a newline-separated string: by the full version, patch level
/// included. An unreadable version counts as a current one.
pub(crate) fn redirect_uris_as_list(raw: &str) -> bool {
    let mut parts = raw.trim().split('.');
    let num = |p: Option<&str>| -> Option<u32> {
        p?.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    let (Some(y), Some(m)) = (num(parts.next()), num(parts.next())) else {
        return true;
    };
    let patch = num(parts.next()).unwrap_or(0);
    match (y, m) {
        (y, _) if y < 2024 => false,
        (2024, m) if m < 8 => false,
        (2024, 8) => patch >= 5,
        (2024, 10) => patch >= 3,
        _ => true,
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.year, self.month)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
