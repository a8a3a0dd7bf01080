//! OAuth2/OpenID providers: what gatehouse reads from and sends to `/providers/oauth2/`, the
//! scope mappings (`/propertymappings/provider/scope/`) and certificate keypairs
//! (`/crypto/certificatekeypairs/`) it points them at.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{differs, name_and_flows};

/// A client secret: sent and read as the plain string, never shown by `Debug` (a request's
/// `Debug` form goes into log lines and keys) nor `Display`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself: only for the request body and the credential file.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(hidden)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(hidden)")
    }
}

/// One allowed redirect URI, as authentik holds them from 2024.8.5 / 2024.10.3 on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RedirectUri {
    /// `strict` or `regex`.
    pub(crate) matching_mode: String,
    pub(crate) url: String,
}

/// The redirect URIs of a provider: a newline-separated string on older servers, a list of
/// [`RedirectUri`] on newer ones (see [`super::ServerVersion`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RedirectUris {
    List(Vec<RedirectUri>),
    Text(String),
}

impl Default for RedirectUris {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl RedirectUris {
    /// Whether both hold the same URIs: with their matching modes when both are lists; by URL
    /// only when either is text (which has no modes).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::List(_), Self::List(_)) => self.entries() == other.entries(),
            _ => {
                let urls = |r: &Self| -> Vec<String> {
                    r.entries()
                        .into_iter()
                        .map(|(_, u)| u)
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect()
                };
                urls(self) == urls(other)
            }
        }
    }

    /// The URIs as (regex?, url), sorted: the same set in either format compares equal.
    pub(crate) fn entries(&self) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = match self {
            Self::List(l) => l
                .iter()
                .map(|r| (r.matching_mode == "regex", r.url.clone()))
                .collect(),
            // The text format has no matching modes.
            Self::Text(t) => t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| (false, l.to_owned()))
                .collect(),
        };
        out.sort();
        out.dedup();
        out
    }
}

/// An OAuth2/OpenID provider, as far as gatehouse reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OAuth2Provider {
    pub(crate) pk: i64,
    pub(crate) name: String,
    pub(crate) authorization_flow: Option<String>,
    pub(crate) invalidation_flow: Option<String>,
    pub(crate) property_mappings: Vec<String>,
    pub(crate) client_type: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) signing_key: Option<String>,
    pub(crate) redirect_uris: RedirectUris,
    /// From 2026.5 on; `None` on older servers.
    pub(crate) grant_types: Option<Vec<String>>,
    pub(crate) assigned_application_slug: Option<String>,
}

/// `POST /providers/oauth2/`: the provider gatehouse wants for one application.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OAuth2Create {
    pub(crate) name: String,
    pub(crate) authorization_flow: String,
    /// Only on servers that have invalidation flows (2024.10 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invalidation_flow: Option<String>,
    pub(crate) property_mappings: Vec<String>,
    /// `confidential` or `public`.
    pub(crate) client_type: String,
    pub(crate) client_id: String,
    /// Generated once by gatehouse for a confidential client; kept in authentik afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<Secret>,
    pub(crate) signing_key: Option<String>,
    pub(crate) redirect_uris: RedirectUris,
    /// Only from 2026.5 on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grant_types: Option<Vec<String>>,
}

/// `PATCH /providers/oauth2/{pk}/`: the fields whose wanted value differs (`Some` only there).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OAuth2Patch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) authorization_flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invalidation_flow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) property_mappings: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signing_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) redirect_uris: Option<RedirectUris>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grant_types: Option<Vec<String>>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

impl OAuth2Patch {
    /// The changes that turn `current` into `wanted`. The secret is never patched: it is
    /// made once (or kept from an adopted provider).
    pub(crate) fn between(current: &OAuth2Provider, wanted: &OAuth2Create) -> Self {
        let same_mappings = sorted(&current.property_mappings) == sorted(&wanted.property_mappings);
        let same_uris = current.redirect_uris.same_as(&wanted.redirect_uris);
        let (c, w) = (current, wanted);
        let (name, authorization_flow, invalidation_flow) = name_and_flows(
            (&c.name, &c.authorization_flow, &c.invalidation_flow),
            (&w.name, &w.authorization_flow, &w.invalidation_flow),
        );
        Self {
            name,
            authorization_flow,
            invalidation_flow,
            property_mappings: (!same_mappings).then(|| wanted.property_mappings.clone()),
            client_type: differs(current.client_type.as_ref(), &wanted.client_type),
            client_id: differs(Some(&current.client_id), &wanted.client_id),
            signing_key: wanted
                .signing_key
                .as_ref()
                .and_then(|w| differs(current.signing_key.as_ref(), w)),
            redirect_uris: (!same_uris).then(|| wanted.redirect_uris.clone()),
            grant_types: wanted.grant_types.as_ref().and_then(|w| {
                let now = current.grant_types.as_deref().map(sorted);
                (now.as_ref() != Some(&sorted(w))).then(|| w.clone())
            }),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The fields that change, by name (values as sent).
    pub(crate) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        super::to_map(self)
    }
}

/// A scope mapping (`/propertymappings/provider/scope/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScopeMapping {
    pub(crate) pk: String,
    pub(crate) managed: Option<String>,
    pub(crate) name: String,
    pub(crate) scope_name: String,
}

/// `POST /propertymappings/provider/scope/`: the one scope mapping gatehouse makes, shared by
/// the apps with `auth.oidc.email_verified=true`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ScopeMappingCreate {
    pub(crate) name: String,
    pub(crate) scope_name: String,
    pub(crate) expression: String,
    pub(crate) description: String,
}

/// A certificate keypair (`/crypto/certificatekeypairs/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CertificateKeyPair {
    pub(crate) pk: String,
    pub(crate) name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_or_display() {
        let body = OAuth2Create {
            client_secret: Some(Secret::new("s3cr3t-value".into())),
            ..OAuth2Create::default()
        };
        assert!(!format!("{body:?}").contains("s3cr3t"));
        assert!(!format!("{}", Secret::new("s3cr3t".into())).contains("s3cr3t"));
        // but it is sent
        let json = serde_json::to_string(&body).unwrap();
        assert!(json.contains("\"client_secret\":\"s3cr3t-value\""));
    }

    #[test]
    fn redirect_uris_compare_alike_in_either_format() {
        let list: RedirectUris = serde_json::from_value(serde_json::json!([
            {"matching_mode": "strict", "url": "https://b/cb", "redirect_uri_type": "authorization"},
            {"matching_mode": "regex", "url": "^https://a/.*$"}
        ]))
        .unwrap();
        let text: RedirectUris =
            serde_json::from_value(serde_json::json!("https://b/cb\n^https://a/.*$")).unwrap();
        assert!(list.same_as(&text) && text.same_as(&list));
        let strict: RedirectUris = serde_json::from_value(serde_json::json!([
            {"matching_mode": "strict", "url": "https://b/cb"},
            {"matching_mode": "strict", "url": "^https://a/.*$"}
        ]))
        .unwrap();
        assert!(!strict.same_as(&list), "lists compare their modes");
    }
}
