//! Sending one request to authentik and reading its answer: hyper 1 with rustls (webpki roots),
//! a timeout per request, the token in one header (never logged), and the server's error text
//! turned into one short, escaped line.

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

use super::ApiError;

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

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

    pub(super) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    pub(super) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub(super) async fn send<B: Serialize + ?Sized>(
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
            .map_err(|_| ApiError::Timeout(self.timeout))
            .and_then(|r| r.map_err(|e| ApiError::Unreachable(error_chain(&e))));
        let code = res.as_ref().map_or_else(
            |_| crate::edge::requests::NO_ANSWER.to_owned(),
            |r| r.status().as_u16().to_string(),
        );
        crate::edge::requests::AUTHENTIK.add(method.as_str(), &code);
        let res = res?;
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

    /// The status of a GET to `path` under authentik's root (not under `/api/v3`), sent without
    /// the token: what a browser or SWAG would get there.
    pub(super) async fn status_at_root(&self, path: &str) -> Result<u16, ApiError> {
        let root = self.base.trim_end_matches("/api/v3");
        let uri = format!("{root}{path}");
        let req = Request::builder()
            .method(Method::GET)
            .uri(&uri)
            .body(Full::new(Bytes::new()))
            .map_err(|e| ApiError::Url(format!("{uri}: {e}")))?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        let res = tokio::time::timeout(self.timeout, self.http.request(req))
            .await
            .map_err(|_| ApiError::Timeout(self.timeout))?
            .map_err(|e| ApiError::Unreachable(error_chain(&e)))?;
        Ok(res.status().as_u16())
    }

    pub(super) async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let bytes = self.send(method, path, body).await?;
        // serde's message may quote the answer: bounded and escaped like any server text.
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            path: path.to_owned(),
            message: excerpt(&e.to_string()),
        })
    }
}

/// No request body (a GET or DELETE).
pub(super) const NO_BODY: Option<&Value> = None;

/// Percent-encodes everything but unreserved characters.
pub(super) fn encode(s: &str) -> String {
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
    fn the_token_is_not_in_debug_output() {
        let c = Client::new("http://ak:9000", "very-secret").unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
