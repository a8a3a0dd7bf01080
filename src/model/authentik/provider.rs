//! Proxy providers: what gatehouse sends to `/providers/proxy/`.

use serde::{Deserialize, Serialize};

use super::{differs, name_and_flows, ProxyProvider};

/// A proxy provider's mode. gatehouse makes forward-auth providers for a single application.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyMode {
    Proxy,
    #[default]
    ForwardSingle,
    ForwardDomain,
}

impl ProxyMode {
    #[cfg(test)]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::ForwardSingle => "forward_single",
            Self::ForwardDomain => "forward_domain",
        }
    }
}

/// `POST /providers/proxy/`: the provider gatehouse wants for one application.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderCreate {
    pub(crate) name: String,
    pub(crate) authorization_flow: String,
    /// Only on servers that have invalidation flows (2024.10 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invalidation_flow: Option<String>,
    pub(crate) external_host: String,
    pub(crate) mode: ProxyMode,
    pub(crate) skip_path_regex: String,
}

/// `PATCH /providers/proxy/{pk}/`: the fields whose wanted value differs from what authentik
/// holds (`Some` only there).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) authorization_flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invalidation_flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<ProxyMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) skip_path_regex: Option<String>,
    /// The mode the provider is to have, sent with every patch (see [`Self::request`]).
    #[serde(skip)]
    pub(crate) wanted_mode: ProxyMode,
}

impl ProviderCreate {
    #[cfg(test)]
    /// The fields sent, with their values, by name.
    pub(crate) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        super::to_map(self)
    }
}

impl ProviderPatch {
    /// The changes that turn `current` into `wanted`.
    pub(crate) fn between(current: &ProxyProvider, wanted: &ProviderCreate) -> Self {
        let current_mode = current
            .mode
            .as_deref()
            .and_then(|m| serde_json::from_value(serde_json::Value::from(m)).ok());
        let (c, w) = (current, wanted);
        let (name, authorization_flow, invalidation_flow) = name_and_flows(
            (&c.name, &c.authorization_flow, &c.invalidation_flow),
            (&w.name, &w.authorization_flow, &w.invalidation_flow),
        );
        Self {
            name,
            authorization_flow,
            invalidation_flow,
            external_host: differs(Some(&current.external_host), &wanted.external_host),
            mode: differs(current_mode.as_ref(), &wanted.mode),
            skip_path_regex: differs(Some(&current.skip_path_regex), &wanted.skip_path_regex),
            wanted_mode: wanted.mode,
        }
    }

    /// Nothing differs.
    pub(crate) fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The fields that change, with their new values, by name.
    pub(crate) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        super::to_map(self)
    }

    /// The body to send: the changes, and always `mode`. authentik validates the fields of a
    /// partial update on their own, and a patch without `mode` as one of a proxy-mode provider,
    /// which needs an internal host: `400 {"internal_host": ["Internal host cannot be empty when
    /// forward auth is disabled."]}` (2026.2 and 2026.5).
    pub(crate) fn request(&self) -> Self {
        Self {
            mode: Some(self.mode.unwrap_or(self.wanted_mode)),
            ..self.clone()
        }
    }
}
