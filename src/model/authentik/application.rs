//! Applications: what gatehouse sends to `/core/applications/`.

use serde::{Deserialize, Serialize};

use super::Application;

/// `POST /core/applications/`: the application gatehouse wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppCreate {
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) meta_publisher: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) meta_icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) meta_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) meta_launch_url: Option<String>,
    /// Filled in when the request is made (the provider may be made in the same round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<i64>,
}

/// `PATCH /core/applications/{slug}/`: the fields whose wanted value differs from what
/// authentik holds (`Some` only there). An optional field authentik holds as unset or `""`
/// alike; `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_launch_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<i64>,
}

/// `Some(wanted)` where `wanted` is set and authentik holds something else (unset is `""`).
fn differs(current: Option<&str>, wanted: Option<&String>) -> Option<String> {
    wanted
        .filter(|w| current.unwrap_or("") != w.as_str())
        .cloned()
}

impl AppPatch {
    /// The changes that turn `current` into `wanted`; the provider is left to the caller.
    pub(crate) fn between(current: &Application, wanted: &AppCreate) -> Self {
        Self {
            name: differs(Some(&current.name), Some(&wanted.name)),
            slug: differs(Some(&current.slug), Some(&wanted.slug)),
            meta_publisher: differs(
                current.meta_publisher.as_deref(),
                Some(&wanted.meta_publisher),
            ),
            group: differs(current.group.as_deref(), wanted.group.as_ref()),
            meta_icon: differs(current.meta_icon.as_deref(), wanted.meta_icon.as_ref()),
            meta_description: differs(
                current.meta_description.as_deref(),
                wanted.meta_description.as_ref(),
            ),
            meta_launch_url: differs(
                current.meta_launch_url.as_deref(),
                wanted.meta_launch_url.as_ref(),
            ),
            provider: None,
        }
    }

    /// Nothing differs.
    pub(crate) fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The fields sent, with their values, by name.
    pub(crate) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        super::to_map(self)
    }
}

impl AppCreate {
    /// The fields sent, with their values, by name.
    pub(crate) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        super::to_map(self)
    }
}
