//! The HTTP server inside `gatehouse run` (`GATEHOUSE_LISTEN`): `/` (the status page),
//! `/api/status` (the same as JSON), `/metrics` (Prometheus), `/healthz` and `/readyz`.
//!
//! Every answer is rendered from the [`Board`]; no request reaches Docker or authentik. The
//! server is small on purpose: HTTP/1.1 only, GET and HEAD only, at most
//! [`MAX_CONNECTIONS`] connections at once, each closed after [`CONNECTION_AT_MOST`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::board::{Board, View};
use super::snapshot::Snapshot;

/// Connections served at once; more wait in the kernel's backlog.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// A client gets this long to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one connection (with keep-alive, several requests) stays open.
pub(crate) const CONNECTION_AT_MOST: Duration = Duration::from_secs(60);

/// Binds `addr` (the caller says what to do when it cannot).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves `board` on `listener` from a thread of its own, with its own single-threaded
/// runtime, until the process ends: rendering pages never takes turns with a pass on the watch
/// loop's runtime. Fails when the thread or its runtime cannot be started.
pub fn spawn(
    listener: std::net::TcpListener,
    board: Board,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("status-page".into())
        .spawn(move || {
            lower_priority();
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener, board).await,
                    Err(e) => tracing::error!(error = %e, "status page: cannot listen"),
                }
            });
        })
}

/// Gives this thread a lower scheduling priority (nice 10) than the watch loop's: when the CPU is
/// short (a flood of requests on a small machine), passes go first. Best effort: Linux applies
/// `setpriority` to the calling thread when given its thread id.
fn lower_priority() {
    // SAFETY: gettid takes no argument and cannot fail; setpriority only changes this thread's
    // nice value, and its failure is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        if let Ok(tid) = libc::id_t::try_from(tid) {
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid, 10);
        }
    }
}

async fn serve(listener: TcpListener, board: Board) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::debug!(error = %e, "status page: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let board = board.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let answer = respond(&board, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(answer) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_AT_MOST, conn).await;
            drop(permit);
        });
    }
}

/// The answer to `method path`.
pub(crate) fn respond(board: &Board, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n".into());
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let view = board.view();
    match path {
        "/" | "/index.html" => answer(
            StatusCode::OK,
            "text/html; charset=utf-8",
            super::page::render(&view),
        ),
        "/api/status" => answer(StatusCode::OK, "application/json", status_json(&view)),
        "/metrics" => answer(
            StatusCode::OK,
            super::metrics::CONTENT_TYPE,
            super::metrics::render(
                &view,
                &super::metrics::Requests::process(),
                super::metrics::rss_bytes(),
            ),
        ),
        "/healthz" => probe(view.live()),
        "/readyz" => probe(view.ready()),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: try /, /api/status, /metrics, /healthz or /readyz\n".into(),
        ),
    }
}

/// `/api/status`: the snapshot, with the time it was taken and the verdicts of the probes.
#[derive(Serialize)]
struct StatusJson<'a> {
    now: u64,
    live: bool,
    ready: bool,
    ready_reason: String,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

pub(crate) fn status_json(view: &View) -> String {
    let ready = view.ready();
    let body = StatusJson {
        now: view.now,
        live: view.live().is_ok(),
        ready: ready.is_ok(),
        ready_reason: match ready {
            Ok(m) | Err(m) => m,
        },
        snapshot: &view.snapshot,
    };
    let mut text = serde_json::to_string_pretty(&body).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn probe(verdict: Result<String, String>) -> Response<Full<Bytes>> {
    match verdict {
        Ok(m) => plain(StatusCode::OK, format!("{m}\n")),
        Err(m) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("not ok: {m}\n")),
    }
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    answer(status, "text/plain; charset=utf-8", body)
}

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    // Inline CSS only: no script, no outside asset, nothing to inject.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_methods_and_headers() {
        let board = Board::new(Duration::from_secs(60), false);
        let ok = |path: &str| respond(&board, &Method::GET, path);
        assert_eq!(ok("/").status(), StatusCode::OK);
        assert_eq!(ok("/").headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            ok("/api/status").headers()[CONTENT_TYPE],
            "application/json"
        );
        assert_eq!(
            ok("/metrics").headers()[CONTENT_TYPE],
            super::super::metrics::CONTENT_TYPE
        );
        assert_eq!(ok("/healthz").status(), StatusCode::OK);
        // No pass yet: alive, not ready.
        assert_eq!(ok("/readyz").status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ok("/x").status(), StatusCode::NOT_FOUND);
        assert_eq!(respond(&board, &Method::HEAD, "/").status(), StatusCode::OK);
        let post = respond(&board, &Method::POST, "/");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert!(ok("/").headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
    }

    #[test]
    fn status_json_carries_the_verdicts() {
        let board = Board::new(Duration::from_secs(60), false);
        board.pass_done(
            Some(crate::status::board::tests::seen(&[])),
            None,
            Duration::ZERO,
            "start",
        );
        let v: serde_json::Value = serde_json::from_str(&status_json(&board.view())).unwrap();
        assert_eq!(v["ready"], true);
        assert_eq!(v["live"], true);
        assert_eq!(v["apps"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["rejected"][0]["container"], "broken");
        assert_eq!(v["passes"]["ok_total"], 1);
    }
}
