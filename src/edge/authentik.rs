//! A small typed client for the authentik REST API v3 endpoints gatehouse uses, over hyper 1
//! (rustls with webpki roots for https, so the static image needs no CA files).
//!
//! Errors are classified: [`ApiError::is_transient`] (connection trouble, timeouts, 5xx, 429) is
//! retried with backoff by the caller; a 4xx carries authentik's field messages. The token is
//! sent in one header and never logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::model::authentik::{
    AppCreate, AppPatch, Application, BindingCreate, Flow, Group, Outpost, OutpostPatch, Page,
    PolicyBinding, ProviderCreate, ProviderPatch, ProxyProvider, VersionInfo,
};

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

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

/// authentik's API, with a count of requests made (reads and writes apart).
#[derive(Clone)]
pub struct Client {
    http: HyperClient<Connector, Full<Bytes>>,
    base: String,
    auth: HeaderValue,
    timeout: Duration,
    reads: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &"<redacted>")
            .finish()
    }
}

const PAGE_SIZE: u32 = 100;
/// No list gatehouse reads has more pages than this.
const MAX_PAGES: u32 = 10_000;

impl Client {
    /// A client for `url` (authentik's base URL). Nothing is sent yet.
    pub fn new(url: &str, token: &str) -> Result<Self, ApiError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ApiError::Url("token is not a valid header value".into()))?;
        auth.set_sensitive(true);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::Url(url.to_owned()));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            http,
            base: format!("{}/api/v3", url.trim_end_matches('/')),
            auth,
            timeout: Duration::from_secs(15),
            reads: Arc::new(AtomicU64::new(0)),
            writes: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn reads_made(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    pub fn writes_made(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Bytes, ApiError> {
        if method == Method::GET {
            self.reads.fetch_add(1, Ordering::Relaxed);
        } else {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let uri = format!("{}{path}", self.base);
        let payload = match body {
            Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Bytes::new(),
        };
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.auth.clone());
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(payload))
            .map_err(|e| ApiError::Url(format!("{uri}: {e}")))?;
        tracing::debug!(method = %method, path = %path, "authentik request");
        let res = tokio::time::timeout(self.timeout, self.http.request(req))
            .await
            .map_err(|_| ApiError::Timeout(self.timeout))?
            .map_err(|e| ApiError::Unreachable(error_chain(&e)))?;
        let status = res.status();
        let bytes = tokio::time::timeout(self.timeout, res.into_body().collect())
            .await
            .map_err(|_| ApiError::Timeout(self.timeout))?
            .map_err(|e| ApiError::Unreachable(e.to_string()))?
            .to_bytes();
        if status.is_success() {
            return Ok(bytes);
        }
        Err(ApiError::Status {
            status: status.as_u16(),
            method: method.to_string(),
            path: path.to_owned(),
            message: error_message(status, &bytes),
        })
    }

    async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Every object of a list endpoint, page by page. `query` is appended (already encoded).
    async fn list<T: DeserializeOwned>(&self, path: &str, query: &str) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let url = format!("{path}?page={page}&page_size={PAGE_SIZE}{sep}{query}");
            let p: Page<T> = self.json(Method::GET, &url, NO_BODY).await?;
            let got = p.results.len();
            out.extend(p.results);
            match next_page(page, p.pagination.next, got) {
                Some(n) => page = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// Bindings on one target; authentik refusing the target (it was deleted meanwhile) is no
    /// binding.
    async fn bindings_of(&self, target: &str) -> Result<Vec<PolicyBinding>, ApiError> {
        let q = format!("target_in={}", encode(target));
        match self.list("/policies/bindings/", &q).await {
            Err(e) if e.status() == Some(400) => {
                tracing::debug!(target = %target, error = %e, "authentik no longer knows this binding target");
                Ok(Vec::new())
            }
            other => other,
        }
    }

    pub async fn version(&self) -> Result<VersionInfo, ApiError> {
        self.json(Method::GET, "/admin/version/", NO_BODY).await
    }

    pub async fn flow_by_slug(&self, slug: &str) -> Result<Option<Flow>, ApiError> {
        let flows: Vec<Flow> = self
            .list("/flows/instances/", &format!("slug={}", encode(slug)))
            .await?;
        Ok(flows.into_iter().find(|f| f.slug == slug))
    }

    pub async fn proxy_providers(&self) -> Result<Vec<ProxyProvider>, ApiError> {
        self.list("/providers/proxy/", "ordering=pk").await
    }

    pub async fn applications(&self) -> Result<Vec<Application>, ApiError> {
        // superuser_full_list: every application, not only the ones the token's user may open.
        self.list(
            "/core/applications/",
            "ordering=slug&superuser_full_list=true",
        )
        .await
    }

    pub async fn outposts(&self) -> Result<Vec<Outpost>, ApiError> {
        self.list("/outposts/instances/", "ordering=name").await
    }

    pub async fn groups(&self) -> Result<Vec<Group>, ApiError> {
        self.list("/core/groups/", "ordering=name&include_users=false")
            .await
    }

    /// Bindings on the given targets; the filter is repeated per target.
    pub async fn bindings(&self, targets: &[String]) -> Result<Vec<PolicyBinding>, ApiError> {
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

    pub async fn create_provider(&self, body: &ProviderCreate) -> Result<ProxyProvider, ApiError> {
        self.json(Method::POST, "/providers/proxy/", Some(body))
            .await
    }

    /// Sends the changes with the provider's mode (see [`ProviderPatch::request`]).
    pub async fn patch_provider(&self, pk: i64, body: &ProviderPatch) -> Result<(), ApiError> {
        self.send(
            Method::PATCH,
            &format!("/providers/proxy/{pk}/"),
            Some(&body.request()),
        )
        .await
        .map(drop)
    }

    pub async fn delete_provider(&self, pk: i64) -> Result<(), ApiError> {
        self.send(Method::DELETE, &format!("/providers/proxy/{pk}/"), NO_BODY)
            .await
            .map(drop)
    }

    pub async fn create_application(&self, body: &AppCreate) -> Result<Application, ApiError> {
        self.json(Method::POST, "/core/applications/", Some(body))
            .await
    }

    pub async fn patch_application(
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

    pub async fn delete_application(&self, slug: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/core/applications/{}/", encode(slug)),
            NO_BODY,
        )
        .await
        .map(drop)
    }

    /// One outpost, read right before changing its provider list.
    pub async fn outpost(&self, pk: &str) -> Result<Outpost, ApiError> {
        self.json(
            Method::GET,
            &format!("/outposts/instances/{}/", encode(pk)),
            NO_BODY,
        )
        .await
    }

    pub async fn set_outpost_providers(&self, pk: &str, providers: &[i64]) -> Result<(), ApiError> {
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

    pub async fn create_binding(&self, body: &BindingCreate) -> Result<(), ApiError> {
        self.send(Method::POST, "/policies/bindings/", Some(body))
            .await
            .map(drop)
    }

    pub async fn delete_binding(&self, pk: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/policies/bindings/{}/", encode(pk)),
            NO_BODY,
        )
        .await
        .map(drop)
    }
}

/// No request body (a GET or DELETE).
const NO_BODY: Option<&Value> = None;

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The page after `page`, from the `next` authentik reported (0 on the last page). `None` also
/// when `next` does not move forward or the page was empty: a server that misreports cannot
/// keep gatehouse looping.
fn next_page(page: u32, next: f64, got: usize) -> Option<u32> {
    if next < 1.0 || got == 0 {
        return None;
    }
    let next = next as u32;
    if next <= page || page >= MAX_PAGES {
        tracing::warn!(
            page,
            next,
            "authentik's list pagination does not move forward; reading no further pages"
        );
        return None;
    }
    Some(next)
}

/// Longest excerpt of server text an error quotes.
const EXCERPT_CHARS: usize = 200;

/// At most [`EXCERPT_CHARS`] characters of `text`, control characters escaped, so a server's
/// answer cannot break or flood a log line.
fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.trim().chars();
    for c in chars.by_ref().take(EXCERPT_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// authentik's error body in one line: `detail`, or the field messages of a 400
/// (`{"slug": ["already exists"]}` -> `slug: already exists`). A body that is not JSON (an HTML
/// page: a path authentik has no route for, or something else answering at that URL) is not
/// quoted: the status says what it likely means.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let reason = status.canonical_reason().unwrap_or("error");
        let html = text.trim_start().starts_with('<');
        return match (status, html) {
            (StatusCode::NOT_FOUND, _) => format!(
                "{reason}, not an answer of authentik's API: check GATEHOUSE_AUTHENTIK_URL (authentik's base URL, without /api/v3), or this authentik version lacks the endpoint"
            ),
            (_, true) => format!("{reason} (an HTML page, not an answer of authentik's API: check GATEHOUSE_AUTHENTIK_URL)"),
            _ if text.trim().is_empty() => reason.to_owned(),
            _ => excerpt(&text),
        };
    };
    excerpt(&json_message(v))
}

fn json_message(v: Value) -> String {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(d)) = m.get("detail") {
                return d.clone();
            }
            let mut parts = Vec::new();
            for (field, msgs) in m {
                if field == "code" {
                    continue;
                }
                let text = match msgs {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                parts.push(format!("{field}: {text}"));
            }
            parts.join("; ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_messages_of_a_400_are_joined() {
        let m = error_message(
            StatusCode::BAD_REQUEST,
            br#"{"slug": ["Application with this slug already exists."], "external_host": ["Enter a valid URL."]}"#,
        );
        assert_eq!(
            m,
            "external_host: Enter a valid URL.; slug: Application with this slug already exists."
        );
        assert_eq!(
            error_message(
                StatusCode::FORBIDDEN,
                br#"{"detail": "Token invalid/expired"}"#
            ),
            "Token invalid/expired"
        );
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
    }

    #[test]
    fn server_text_is_quoted_short_and_escaped_and_html_not_at_all() {
        let hostile = format!("line\u{1b}[31m\r\nforged: {}", "x".repeat(500));
        let m = error_message(StatusCode::BAD_REQUEST, hostile.as_bytes());
        assert!(!m.chars().any(char::is_control), "{m:?}");
        assert!(m.starts_with("line\\u{1b}[31m\\r\\nforged"), "{m}");
        assert!(m.chars().count() <= EXCERPT_CHARS + 10, "{m}");
        let json = format!(r#"{{"name": ["{}"]}}"#, "y".repeat(500));
        assert!(
            error_message(StatusCode::BAD_REQUEST, json.as_bytes())
                .chars()
                .count()
                <= EXCERPT_CHARS + 1
        );
        let html = error_message(
            StatusCode::BAD_GATEWAY,
            b"<html><body>proxy error</body></html>",
        );
        assert!(
            !html.contains('<') && html.contains("GATEHOUSE_AUTHENTIK_URL"),
            "{html}"
        );
        let nf = error_message(
            StatusCode::NOT_FOUND,
            b"<!DOCTYPE html><title>Not Found</title>",
        );
        assert!(
            !nf.contains('<') && nf.contains("lacks the endpoint"),
            "{nf}"
        );
    }

    #[test]
    fn paging_follows_next_only_forward() {
        assert_eq!(next_page(1, 2.0, 100), Some(2));
        assert_eq!(next_page(1, 0.0, 100), None);
        assert_eq!(next_page(2, 2.0, 100), None);
        assert_eq!(next_page(3, 1.0, 100), None);
        assert_eq!(next_page(1, 2.0, 0), None);
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let c = Client::new("http://ak:9000", "very-secret").unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
    }

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
