//! Policy bindings: what gatehouse sends to `/policies/bindings/`.

use serde::Serialize;

/// `POST /policies/bindings/`: a group allowed on an application. authentik wants exactly one
/// of policy, group and user; gatehouse binds groups only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindingCreate {
    pub(crate) group: String,
    pub(crate) target: String,
    pub(crate) order: i64,
    pub(crate) enabled: bool,
    pub(crate) negate: bool,
    pub(crate) timeout: i64,
}

impl BindingCreate {
    /// Members of group `group` (pk) may open application `target` (pk).
    pub(crate) fn group(group: &str, target: &str, order: i64) -> Self {
        Self {
            group: group.to_owned(),
            target: target.to_owned(),
            order,
            enabled: true,
            negate: false,
            timeout: 30,
        }
    }
}
