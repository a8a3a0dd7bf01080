//! Outposts: what gatehouse sends to `/outposts/instances/`.

use serde::Serialize;

/// `PATCH /outposts/instances/{pk}/`: the whole provider list (authentik replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutpostPatch {
    pub(crate) providers: Vec<i64>,
}
