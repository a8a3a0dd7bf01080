//! Outposts: what gatehouse sends to `/outposts/instances/`.

use serde::Serialize;

/// `PATCH /outposts/instances/{pk}/`: the whole provider list (authentik replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutpostPatch {
    pub providers: Vec<i64>,
}
