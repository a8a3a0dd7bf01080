//! The in-memory authentik's outposts made through the API (a remote host's own).

use super::{refused, World};
use crate::edge::authentik::ApiError;
use crate::model::authentik::{Outpost, OutpostConfigPatch, OutpostCreate};

impl World {
    pub(super) fn create_outpost(&mut self, body: &OutpostCreate) -> Result<Outpost, ApiError> {
        if self.outposts.iter().any(|o| o.name == body.name) {
            let m = "name: outpost with this name already exists.";
            return Err(refused(400, "POST", "/outposts/instances/", m));
        }
        let pk = format!("outpost-{}", self.id());
        let o = Outpost {
            token_identifier: format!("ak-outpost-{pk}-api"),
            pk,
            name: body.name.clone(),
            kind: Some(body.kind.to_owned()),
            providers: body.providers.clone(),
            managed: None,
            config: body.config.clone(),
        };
        self.outposts.push(o.clone());
        Ok(o)
    }

    pub(super) fn patch_outpost_config(
        &mut self,
        pk: &str,
        body: &OutpostConfigPatch,
    ) -> Result<(), ApiError> {
        let o = self
            .outposts
            .iter_mut()
            .find(|o| o.pk == pk)
            .ok_or_else(|| refused(404, "PATCH", "/outposts/instances/", "Not found."))?;
        o.config = body.config.clone();
        Ok(())
    }

    pub(super) fn delete_outpost(&mut self, pk: &str) -> Result<(), ApiError> {
        let before = self.outposts.len();
        self.outposts.retain(|o| o.pk != pk);
        if self.outposts.len() == before {
            return Err(refused(404, "DELETE", "/outposts/instances/", "Not found."));
        }
        Ok(())
    }
}
