//! What `gatehouse check` reads of authentik besides what provisioning reads: who the token
//! belongs to, that user's API tokens (to see whether they expire), the base URL setting and the
//! embedded outpost's ping. Read-only; never asks for a token's key.

use hyper::Method;
use serde::Deserialize;

use super::transport::{encode, Client, NO_BODY};
use super::ApiError;

/// The user the token authenticates as (`GET /core/users/me/`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Me {
    pub user: MeUser,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MeUser {
    pub username: String,
    pub is_superuser: bool,
}

/// One API token as `/core/tokens/` lists it (never its key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenInfo {
    pub identifier: String,
    pub intent: Option<String>,
    pub expiring: bool,
    /// RFC 3339, e.g. `2026-11-30T10:15:00.123456Z`; `null` when it never expires.
    pub expires: Option<String>,
}

/// The part of `/admin/settings/` the check reads (authentik 2026.8 and later have `base_url`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInfo {
    pub base_url: Option<String>,
}

impl Client {
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.json(Method::GET, "/core/users/me/", NO_BODY).await
    }

    /// The API tokens of `username` (a non-superuser sees only its own anyway).
    pub async fn api_tokens_of(&self, username: &str) -> Result<Vec<TokenInfo>, ApiError> {
        let q = format!(
            "user__username={}&intent=api&ordering=expires",
            encode(username)
        );
        self.list("/core/tokens/", &q).await
    }

    pub async fn settings_info(&self) -> Result<SettingsInfo, ApiError> {
        self.json(Method::GET, "/admin/settings/", NO_BODY).await
    }

    /// The status of the embedded outpost's `/outpost.goauthentik.io/ping` (204 when it runs).
    pub async fn outpost_ping(&self) -> Result<u16, ApiError> {
        self.status_at_root("/outpost.goauthentik.io/ping").await
    }
}
