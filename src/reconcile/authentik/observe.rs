//! Observe: what authentik holds, read for one round (GET requests only).

use std::collections::BTreeSet;

use super::Provisioner;
use crate::edge::authentik::{Api, ApiError};
use crate::labels::authentik::AppWant;
use crate::labels::oidc::OidcWant;
use crate::model::authentik::{
    redirect_uris_as_list, Application, OAuth2Provider, PolicyBinding, ScopeMapping, ServerVersion,
};
use crate::plan::authentik::{binding_targets, is_owned_binding, Actual, SIGNING_KEY_NAME};

impl<A: Api> Provisioner<A> {
    /// Reads what the planner needs: the version (once per connection), the flows, providers,
    /// applications and outposts, and the groups and bindings when they can matter.
    pub(super) async fn observe(
        &mut self,
        wants: &[AppWant],
        oidc: &[OidcWant],
    ) -> Result<Actual, ApiError> {
        let c = &self.client;
        let version = match self.version {
            Some(v) => v,
            None => {
                let raw = c.version().await?.version_current;
                let v = ServerVersion::parse(&raw).unwrap_or_else(|| {
                    tracing::warn!(version = %raw, "cannot read authentik's version; assuming a current one");
                    ServerVersion::new(2026, 1)
                });
                tracing::info!(version = %raw, invalidation_flow = v.has_invalidation_flow(), "connected to authentik {raw}");
                self.version = Some(v);
                self.redirect_text = !redirect_uris_as_list(&raw);
                v
            }
        };
        let authorization_flow = c
            .flow_by_slug(&self.rules.authorization_flow_slug)
            .await?
            .map(|f| f.pk);
        let invalidation_flow = if version.has_invalidation_flow() {
            c.flow_by_slug(&self.rules.invalidation_flow_slug)
                .await?
                .map(|f| f.pk)
        } else {
            None
        };
        let providers = c.proxy_providers().await?;
        let applications = c.applications().await?;
        let outposts = c.outposts().await?;
        let groups = if wants.iter().any(|w| !w.allow_groups.is_empty()) {
            c.groups().await?
        } else {
            Vec::new()
        };
        let bindings = self.bindings_needed(wants, &applications).await?;
        let (oauth2_providers, scope_mappings, signing_key) = self
            .oauth2_needed(version, oidc, &applications, &providers)
            .await?;
        Ok(Actual {
            version: Some(version),
            authorization_flow,
            invalidation_flow,
            providers,
            applications,
            outposts,
            groups,
            bindings,
            oauth2_providers,
            scope_mappings,
            signing_key,
            redirect_text: self.redirect_text,
        })
    }

    /// The OAuth2 providers, scope mappings and signing key, when they can matter: an app asks
    /// for single sign-on, one of gatehouse's applications has a provider that is no proxy
    /// provider, or gatehouse's OAuth2 providers were there when last read (or nothing was read
    /// yet since gatehouse started and an app of gatehouse's may be left over).
    async fn oauth2_needed(
        &mut self,
        version: ServerVersion,
        oidc: &[OidcWant],
        applications: &[Application],
        proxies: &[crate::model::authentik::ProxyProvider],
    ) -> Result<(Vec<OAuth2Provider>, Vec<ScopeMapping>, Option<String>), ApiError> {
        let me = &self.rules.instance;
        let other_provider = applications.iter().any(|a| {
            me.owns_app(a)
                && a.provider
                    .is_some_and(|pk| !proxies.iter().any(|p| p.pk == pk))
        });
        if oidc.is_empty() && !other_provider && !self.oauth2_possible {
            return Ok((Vec::new(), Vec::new(), None));
        }
        let c = &self.client;
        let providers = c.oauth2_providers().await?;
        self.oauth2_possible = providers.iter().any(|p| me.oauth2_slug(p).is_some());
        if oidc.is_empty() {
            return Ok((providers, Vec::new(), None));
        }
        let mappings = c.scope_mappings(version).await?;
        let key = c.certificate_by_name(SIGNING_KEY_NAME).await?.map(|k| k.pk);
        Ok((providers, mappings, key))
    }

    /// The bindings on gatehouse's applications (and the ones to adopt), when they can matter:
    /// an app asks for groups, an app of gatehouse's is to go (the user's own bindings keep
    /// it), or a group binding gatehouse made may be left over (one was there when last read,
    /// or nothing was read yet since gatehouse started), to be removed now that no
    /// auth.allow_groups asks for it. Otherwise the read is skipped.
    async fn bindings_needed(
        &mut self,
        wants: &[AppWant],
        applications: &[Application],
    ) -> Result<Vec<PolicyBinding>, ApiError> {
        let me = &self.rules.instance;
        let wanted: BTreeSet<&str> = wants.iter().map(|w| w.slug.as_str()).collect();
        let groups_wanted = wants.iter().any(|w| !w.allow_groups.is_empty());
        let leaving = applications
            .iter()
            .any(|a| me.owns_app(a) && !wanted.contains(a.slug.as_str()));
        if !(groups_wanted || leaving || self.stale_bindings_possible) {
            return Ok(Vec::new());
        }
        let targets = binding_targets(wants, applications, me);
        let bindings = if targets.is_empty() {
            Vec::new()
        } else {
            self.client.bindings(&targets).await?
        };
        self.stale_bindings_possible = groups_wanted || bindings.iter().any(is_owned_binding);
        Ok(bindings)
    }
}
