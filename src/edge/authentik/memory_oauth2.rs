//! The in-memory authentik's OAuth2/OpenID providers.

use super::{refused, set, set_opt, World};
use crate::edge::authentik::ApiError;
use crate::model::authentik::{OAuth2Create, OAuth2Patch, OAuth2Provider};

impl World {
    pub(super) fn create_oauth2(
        &mut self,
        body: &OAuth2Create,
    ) -> Result<OAuth2Provider, ApiError> {
        if self.oauth2.iter().any(|p| p.name == body.name) {
            let m = "name: Provider with this name already exists.";
            return Err(refused(400, "POST", "/providers/oauth2/", m));
        }
        let p = OAuth2Provider {
            pk: self.id(),
            name: body.name.clone(),
            authorization_flow: Some(body.authorization_flow.clone()),
            invalidation_flow: body.invalidation_flow.clone(),
            property_mappings: body.property_mappings.clone(),
            client_type: Some(body.client_type.clone()),
            client_id: body.client_id.clone(),
            client_secret: body.client_secret.clone().unwrap_or_default(),
            signing_key: body.signing_key.clone(),
            redirect_uris: body.redirect_uris.clone(),
            grant_types: body.grant_types.clone(),
            assigned_application_slug: None,
        };
        self.oauth2.push(p.clone());
        Ok(p)
    }

    pub(super) fn patch_oauth2(
        &mut self,
        pk: i64,
        body: &OAuth2Patch,
    ) -> Result<OAuth2Provider, ApiError> {
        let p = self
            .oauth2
            .iter_mut()
            .find(|p| p.pk == pk)
            .ok_or_else(|| refused(404, "PATCH", "/providers/oauth2/", "Not found."))?;
        set(&mut p.name, &body.name);
        set_opt(&mut p.authorization_flow, &body.authorization_flow);
        set_opt(&mut p.invalidation_flow, &body.invalidation_flow);
        set(&mut p.property_mappings, &body.property_mappings);
        set_opt(&mut p.client_type, &body.client_type);
        set(&mut p.client_id, &body.client_id);
        set_opt(&mut p.signing_key, &body.signing_key);
        set(&mut p.redirect_uris, &body.redirect_uris);
        if body.grant_types.is_some() {
            p.grant_types = body.grant_types.clone();
        }
        Ok(p.clone())
    }

    pub(super) fn delete_oauth2(&mut self, pk: i64) -> Result<(), ApiError> {
        let before = self.oauth2.len();
        self.oauth2.retain(|p| p.pk != pk);
        if self.oauth2.len() == before {
            return Err(refused(404, "DELETE", "/providers/oauth2/", "Not found."));
        }
        for a in &mut self.applications {
            if a.provider == Some(pk) {
                a.provider = None;
            }
        }
        Ok(())
    }
}
