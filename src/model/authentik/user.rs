//! Users, their devices, brands and tokens, as far as `gatehouse admin create` reads and writes
//! them (`/core/users/`, `/authenticators/admin/all/`, `/core/brands/`,
//! `/core/users/service_account/`). Tolerant like the rest: every field has a default.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct User {
    pub(crate) pk: i64,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) is_active: bool,
    /// Group pks.
    pub(crate) groups: Vec<String>,
    pub(crate) email: String,
}

/// `GET /core/users/me/`: the user the API token belongs to (`UserSelf`, whose `groups` are
/// objects, unlike a listed user's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SessionUser {
    pub(crate) user: Owner,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Owner {
    pub(crate) pk: i64,
    pub(crate) username: String,
}

/// `POST /core/users/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserCreate {
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) is_active: bool,
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// A group with whether it makes its members superusers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SuperGroup {
    pub(crate) pk: String,
    pub(crate) name: String,
    pub(crate) is_superuser: bool,
    pub(crate) users: Vec<i64>,
}

/// `POST /core/groups/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCreate {
    pub(crate) name: String,
    pub(crate) is_superuser: bool,
    pub(crate) users: Vec<i64>,
}

/// One authenticator device of a user (`/authenticators/admin/all/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Device {
    pub(crate) pk: String,
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) confirmed: bool,
}

/// A brand, with its recovery flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Brand {
    pub(crate) brand_uuid: String,
    pub(crate) domain: String,
    pub(crate) default: bool,
    pub(crate) flow_recovery: Option<String>,
}

/// `POST /core/users/{id}/recovery/`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Link {
    pub(crate) link: String,
}

/// `POST /core/users/service_account/`: the account and its token (shown once).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceAccount {
    pub(crate) username: String,
    pub(crate) token: String,
    pub(crate) user_pk: i64,
}
