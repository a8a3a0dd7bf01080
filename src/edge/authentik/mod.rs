//! A small typed client for the authentik REST API v3 endpoints gatehouse uses, over hyper 1
//! (rustls with webpki roots for https, so the static image needs no CA files).
//!
//! Errors are classified: [`ApiError::is_transient`] (connection trouble, timeouts, 5xx, 429) is
//! retried with backoff by the caller; a 4xx carries authentik's field messages. The token is
//! sent in one header and never logged.
//!
//! [`Api`] is what the provisioner needs of authentik; [`Client`] implements it over HTTP
//! ([`transport`] sends, [`paging`] reads lists, [`requests`] names each endpoint), and an
//! in-memory authentik implements it for unit tests.

use std::future::Future;
use std::time::Duration;

use crate::model::authentik::{
    AppCreate, AppPatch, Application, BindingCreate, CertificateKeyPair, Flow, Group, OAuth2Create,
    OAuth2Patch, OAuth2Provider, Outpost, PolicyBinding, ProviderCreate, ProviderPatch,
    ProxyProvider, ScopeMapping, ScopeMappingCreate, ServerVersion, VersionInfo,
};

pub mod doctor;
#[cfg(test)]
pub mod memory;
mod paging;
mod requests;
mod transport;

pub use transport::Client;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("bad authentik URL {0}")]
    Url(String),
    #[error("cannot reach authentik: {0}")]
    Unreachable(String),
    #[error("authentik did not answer within {0:?}")]
    Timeout(Duration),
    #[error("authentik answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: String,
        path: String,
        message: String,
    },
    #[error("authentik's answer to {path} could not be read: {message}")]
    Decode { path: String, message: String },
}

impl ApiError {
    /// Worth retrying later: the server is down, overloaded or restarting.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Timeout(_) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Url(_) | Self::Decode { .. } => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The authentik endpoints gatehouse uses, with a count of requests made (reads and writes
/// apart). Each future is `Send`, so a worker generic over it can be spawned.
pub trait Api {
    fn reads_made(&self) -> u64;
    fn writes_made(&self) -> u64;
    fn version(&self) -> impl Future<Output = Result<VersionInfo, ApiError>> + Send;
    fn flow_by_slug(
        &self,
        slug: &str,
    ) -> impl Future<Output = Result<Option<Flow>, ApiError>> + Send;
    fn proxy_providers(&self) -> impl Future<Output = Result<Vec<ProxyProvider>, ApiError>> + Send;
    fn applications(&self) -> impl Future<Output = Result<Vec<Application>, ApiError>> + Send;
    fn outposts(&self) -> impl Future<Output = Result<Vec<Outpost>, ApiError>> + Send;
    fn groups(&self) -> impl Future<Output = Result<Vec<Group>, ApiError>> + Send;
    /// Bindings on the given targets (application pks); a target authentik no longer knows
    /// has none.
    fn bindings(
        &self,
        targets: &[String],
    ) -> impl Future<Output = Result<Vec<PolicyBinding>, ApiError>> + Send;
    fn create_provider(
        &self,
        body: &ProviderCreate,
    ) -> impl Future<Output = Result<ProxyProvider, ApiError>> + Send;
    /// Sends the changes with the provider's mode (see [`ProviderPatch::request`]).
    fn patch_provider(
        &self,
        pk: i64,
        body: &ProviderPatch,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn delete_provider(&self, pk: i64) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn create_application(
        &self,
        body: &AppCreate,
    ) -> impl Future<Output = Result<Application, ApiError>> + Send;
    fn patch_application(
        &self,
        slug: &str,
        body: &AppPatch,
    ) -> impl Future<Output = Result<Application, ApiError>> + Send;
    fn delete_application(&self, slug: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// One outpost, read right before changing its provider list.
    fn outpost(&self, pk: &str) -> impl Future<Output = Result<Outpost, ApiError>> + Send;
    /// Replaces the outpost's provider list.
    fn set_outpost_providers(
        &self,
        pk: &str,
        providers: &[i64],
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn create_binding(
        &self,
        body: &BindingCreate,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn delete_binding(&self, pk: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Every OAuth2/OpenID provider, with its client id and secret.
    fn oauth2_providers(
        &self,
    ) -> impl Future<Output = Result<Vec<OAuth2Provider>, ApiError>> + Send;
    /// Every scope mapping (at the path of `version`'s API).
    fn scope_mappings(
        &self,
        version: ServerVersion,
    ) -> impl Future<Output = Result<Vec<ScopeMapping>, ApiError>> + Send;
    /// The certificate keypair with this name that has a private key, if any.
    fn certificate_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<CertificateKeyPair>, ApiError>> + Send;
    fn create_oauth2_provider(
        &self,
        body: &OAuth2Create,
    ) -> impl Future<Output = Result<OAuth2Provider, ApiError>> + Send;
    fn patch_oauth2_provider(
        &self,
        pk: i64,
        body: &OAuth2Patch,
    ) -> impl Future<Output = Result<OAuth2Provider, ApiError>> + Send;
    fn delete_oauth2_provider(&self, pk: i64) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn create_scope_mapping(
        &self,
        version: ServerVersion,
        body: &ScopeMappingCreate,
    ) -> impl Future<Output = Result<ScopeMapping, ApiError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let status = |s| ApiError::Status {
            status: s,
            method: "GET".into(),
            path: "/".into(),
            message: String::new(),
        };
        assert!(status(502).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(400).is_transient());
        assert!(ApiError::Unreachable("refused".into()).is_transient());
    }
}
