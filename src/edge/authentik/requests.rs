//! The endpoints gatehouse uses, one function each: [`Api`] over HTTP.

use hyper::Method;

use super::transport::{encode, Client, NO_BODY};
use super::{Api, ApiError};
use crate::model::authentik::{
    AppCreate, AppPatch, Application, BindingCreate, CertificateKeyPair, Flow, Group, OAuth2Create,
    OAuth2Patch, OAuth2Provider, Outpost, OutpostPatch, PolicyBinding, ProviderCreate,
    ProviderPatch, ProxyProvider, ScopeMapping, ScopeMappingCreate, ServerVersion, VersionInfo,
};

impl Api for Client {
    fn reads_made(&self) -> u64 {
        self.reads()
    }

    fn writes_made(&self) -> u64 {
        self.writes()
    }

    async fn version(&self) -> Result<VersionInfo, ApiError> {
        self.json(Method::GET, "/admin/version/", NO_BODY).await
    }

    async fn flow_by_slug(&self, slug: &str) -> Result<Option<Flow>, ApiError> {
        let flows: Vec<Flow> = self
            .list("/flows/instances/", &format!("slug={}", encode(slug)))
            .await?;
        Ok(flows.into_iter().find(|f| f.slug == slug))
    }

    async fn proxy_providers(&self) -> Result<Vec<ProxyProvider>, ApiError> {
        self.list("/providers/proxy/", "ordering=pk").await
    }

    async fn applications(&self) -> Result<Vec<Application>, ApiError> {
        // superuser_full_list: every application, not only the ones the token's user may open.
        self.list(
            "/core/applications/",
            "ordering=slug&superuser_full_list=true",
        )
        .await
    }

    async fn outposts(&self) -> Result<Vec<Outpost>, ApiError> {
        self.list("/outposts/instances/", "ordering=name").await
    }

    async fn groups(&self) -> Result<Vec<Group>, ApiError> {
        self.list("/core/groups/", "ordering=name&include_users=false")
            .await
    }

    /// Bindings on the given targets; the filter is repeated per target.
    async fn bindings(&self, targets: &[String]) -> Result<Vec<PolicyBinding>, ApiError> {
        let mut out = Vec::new();
        // Keep URLs short: 40 uuids per request.
        for chunk in targets.chunks(40) {
            let q: Vec<String> = chunk
                .iter()
                .map(|t| format!("target_in={}", encode(t)))
                .collect();
            let got: Vec<PolicyBinding> = match self.list("/policies/bindings/", &q.join("&")).await
            {
                Ok(got) => got,
                // One of the targets is gone (an application deleted since it was listed):
                // authentik refuses the whole filter, so ask per target.
                Err(e) if e.status() == Some(400) => {
                    let mut got = Vec::new();
                    for t in chunk {
                        got.extend(self.bindings_of(t).await?);
                    }
                    got
                }
                Err(e) => return Err(e),
            };
            out.extend(got.into_iter().filter(|b| chunk.contains(&b.target)));
        }
        Ok(out)
    }

    async fn create_provider(&self, body: &ProviderCreate) -> Result<ProxyProvider, ApiError> {
        self.json(Method::POST, "/providers/proxy/", Some(body))
            .await
    }

    /// Sends the changes with the provider's mode (see [`ProviderPatch::request`]).
    async fn patch_provider(&self, pk: i64, body: &ProviderPatch) -> Result<(), ApiError> {
        self.send(
            Method::PATCH,
            &format!("/providers/proxy/{pk}/"),
            Some(&body.request()),
        )
        .await
        .map(drop)
    }

    async fn delete_provider(&self, pk: i64) -> Result<(), ApiError> {
        self.send(Method::DELETE, &format!("/providers/proxy/{pk}/"), NO_BODY)
            .await
            .map(drop)
    }

    async fn create_application(&self, body: &AppCreate) -> Result<Application, ApiError> {
        self.json(Method::POST, "/core/applications/", Some(body))
            .await
    }

    async fn patch_application(
        &self,
        slug: &str,
        body: &AppPatch,
    ) -> Result<Application, ApiError> {
        self.json(
            Method::PATCH,
            &format!("/core/applications/{}/", encode(slug)),
            Some(body),
        )
        .await
    }

    async fn delete_application(&self, slug: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/core/applications/{}/", encode(slug)),
            NO_BODY,
        )
        .await
        .map(drop)
    }

    /// One outpost, read right before changing its provider list.
    async fn outpost(&self, pk: &str) -> Result<Outpost, ApiError> {
        self.json(
            Method::GET,
            &format!("/outposts/instances/{}/", encode(pk)),
            NO_BODY,
        )
        .await
    }

    async fn set_outpost_providers(&self, pk: &str, providers: &[i64]) -> Result<(), ApiError> {
        let body = OutpostPatch {
            providers: providers.to_vec(),
        };
        self.send(
            Method::PATCH,
            &format!("/outposts/instances/{}/", encode(pk)),
            Some(&body),
        )
        .await
        .map(drop)
    }

    async fn create_binding(&self, body: &BindingCreate) -> Result<(), ApiError> {
        self.send(Method::POST, "/policies/bindings/", Some(body))
            .await
            .map(drop)
    }

    async fn delete_binding(&self, pk: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/policies/bindings/{}/", encode(pk)),
            NO_BODY,
        )
        .await
        .map(drop)
    }

    async fn oauth2_providers(&self) -> Result<Vec<OAuth2Provider>, ApiError> {
        self.list("/providers/oauth2/", "ordering=pk").await
    }

    async fn scope_mappings(&self, version: ServerVersion) -> Result<Vec<ScopeMapping>, ApiError> {
        self.list(version.scope_mappings_path(), "ordering=name")
            .await
    }

    async fn certificate_by_name(
        &self,
        name: &str,
    ) -> Result<Option<CertificateKeyPair>, ApiError> {
        let found: Vec<CertificateKeyPair> = self
            .list(
                "/crypto/certificatekeypairs/",
                &format!("has_key=true&name={}", encode(name)),
            )
            .await?;
        Ok(found.into_iter().find(|c| c.name == name))
    }

    async fn create_oauth2_provider(
        &self,
        body: &OAuth2Create,
    ) -> Result<OAuth2Provider, ApiError> {
        self.json(Method::POST, "/providers/oauth2/", Some(body))
            .await
    }

    async fn patch_oauth2_provider(
        &self,
        pk: i64,
        body: &OAuth2Patch,
    ) -> Result<OAuth2Provider, ApiError> {
        self.json(
            Method::PATCH,
            &format!("/providers/oauth2/{pk}/"),
            Some(body),
        )
        .await
    }

    async fn delete_oauth2_provider(&self, pk: i64) -> Result<(), ApiError> {
        self.send(Method::DELETE, &format!("/providers/oauth2/{pk}/"), NO_BODY)
            .await
            .map(drop)
    }

    async fn create_scope_mapping(
        &self,
        version: ServerVersion,
        body: &ScopeMappingCreate,
    ) -> Result<ScopeMapping, ApiError> {
        self.json(Method::POST, version.scope_mappings_path(), Some(body))
            .await
    }
}
