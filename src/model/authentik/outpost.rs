//! Outposts: what gatehouse sends to `/outposts/instances/`, and what it reads of an outpost's
//! health and token.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `PATCH /outposts/instances/{pk}/`: the whole provider list (authentik replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutpostPatch {
    pub(crate) providers: Vec<i64>,
}

/// `POST /outposts/instances/`: a proxy outpost with no service connection (gatehouse runs the
/// container itself, authentik does not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutpostCreate {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) providers: Vec<i64>,
    pub(crate) service_connection: Option<String>,
    pub(crate) config: Map<String, Value>,
}

/// `PATCH /outposts/instances/{pk}/`: the whole config (authentik replaces it: gatehouse sends
/// what it read with its own keys set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutpostConfigPatch {
    pub(crate) config: Map<String, Value>,
}

/// One connected outpost process, as `GET /outposts/instances/{pk}/health/` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OutpostHealth {
    pub(crate) uid: String,
    /// RFC 3339.
    pub(crate) last_seen: String,
    pub(crate) version: String,
    pub(crate) version_should: String,
    pub(crate) version_outdated: bool,
    pub(crate) hostname: String,
}

/// `GET /core/tokens/{identifier}/view_key/`. Its `Debug` hides the key.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenView {
    pub(crate) key: String,
}

impl std::fmt::Debug for TokenView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenView { key: <redacted> }")
    }
}
