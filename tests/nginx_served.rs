//! Confs gatehouse renders, served by real nginx from SWAG's tree: authentik in front of a
//! protected app, bypass paths around it, fail closed when authentik is down, exposed apps open.
//!
//! Each test runs in a private network namespace (see `in_fresh_netns`): nginx listens on 443 there,
//! a tiny upstream app and a stand-in for authentik's outpost (`127.0.0.1:9000`, where SWAG's
//! `authentik-server.conf` sends `/outpost.goauthentik.io/...` once its host is pointed at
//! loopback) are threads of the test, and requests are made with `curl -k --resolve`. Every wait
//! is bounded.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::nginx::{in_fresh_netns, reference_samples, SwagTree};
use gatehouse::labels::LabelRules;
use gatehouse::model::workload::{ConfDirState, Workload};
use gatehouse::plan;

const AUTH_ADDR: &str = "127.0.0.1:9000";
const APP_ADDR: &str = "127.0.0.1:8080";
const OPEN_ADDR: &str = "127.0.0.1:8081";
const SESSION: &str = "authentik_proxy_test=valid-session";

// ---- a tiny HTTP/1.1 server that records what it was asked ----

#[derive(Debug, Clone)]
struct Seen {
    target: String,
    headers: BTreeMap<String, String>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

type Respond = fn(&Seen) -> Answer;

struct Stub {
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Stub {
    fn start(addr: &str, respond: Respond) -> Self {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => serve_one(stream, respond, &seen),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            })
        };
        Self {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(mut stream: TcpStream, respond: Respond, seen: &Mutex<Vec<Seen>>) {
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let target = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let request = Seen { target, headers };
    let answer = respond(&request);
    seen.lock().unwrap().push(request);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&answer.body);
    let _ = stream.write_all(out.as_bytes());
}

/// authentik's outpost: `/auth/nginx` says 200 (with the user's headers) for a valid session
/// cookie, 401 otherwise; `/start` is the sign-in page.
fn authentik(req: &Seen) -> Answer {
    if req.target.starts_with("/outpost.goauthentik.io/auth/nginx") {
        let ok = req.header("cookie").is_some_and(|c| c.contains(SESSION));
        if ok {
            Answer {
                status: 200,
                headers: vec![
                    ("X-authentik-username", "akadmin".into()),
                    ("X-authentik-email", "admin@example.test".into()),
                ],
                body: String::new(),
            }
        } else {
            Answer {
                status: 401,
                headers: vec![],
                body: String::new(),
            }
        }
    } else if req.target.starts_with("/outpost.goauthentik.io/start") {
        Answer {
            status: 200,
            headers: vec![],
            body: "authentik sign-in page".into(),
        }
    } else {
        Answer {
            status: 404,
            headers: vec![],
            body: String::new(),
        }
    }
}

fn authentik_broken(_: &Seen) -> Answer {
    Answer {
        status: 503,
        headers: vec![],
        body: "outpost unavailable".into(),
    }
}

fn app(req: &Seen) -> Answer {
    Answer {
        status: 200,
        headers: vec![],
        body: format!(
            "protected app page {} user={}",
            req.target,
            req.header("x-authentik-username").unwrap_or("-")
        ),
    }
}

fn open_app(req: &Seen) -> Answer {
    Answer {
        status: 200,
        headers: vec![],
        body: format!("open app page {}", req.target),
    }
}

// ---- requests ----

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

fn get(host: &str, path: &str, cookie: Option<&str>) -> Reply {
    let mut cmd = Command::new("curl");
    // --path-as-is: send dot segments as written, as an attacker would.
    cmd.args([
        "-sS",
        "-k",
        "-i",
        "--path-as-is",
        "--max-time",
        "10",
        "--resolve",
    ])
    .arg(format!("{host}:443:127.0.0.1"));
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    cmd.arg(format!("https://{host}{path}"));
    let out = cmd
        .output()
        .expect("cannot run curl (apt-get install curl)");
    assert!(
        out.status.success(),
        "curl https://{host}{path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

// ---- the stage: SWAG's tree with gatehouse's confs, pointed at loopback ----

fn container(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Workload::default()
    }
}

/// Plans the two apps through the public API and drops their confs into a SWAG tree whose
/// authentik upstream and resolver are loopback.
fn swag_tree() -> SwagTree {
    let containers = [
        container(
            "app",
            &[
                ("auth.protect", "true"),
                ("auth.address", "127.0.0.1"),
                ("auth.port", "8080"),
                ("auth.bypass", "/api"),
            ],
        ),
        container(
            "open",
            &[
                ("auth.expose", "true"),
                ("auth.address", "127.0.0.1"),
                ("auth.port", "8081"),
            ],
        ),
    ];
    let samples = reference_samples();
    let desired = plan::desired(
        &containers,
        &ConfDirState::default(),
        &samples,
        &LabelRules::default(),
    );
    assert!(desired.rejected.is_empty(), "{:#?}", desired.rejected);
    assert_eq!(desired.apps.len(), 2);

    let tree = SwagTree::new();
    for app in &desired.apps {
        tree.add_conf(&app.file, &app.content);
    }
    tree.edit("nginx/authentik-server.conf", |t| {
        let out = t.replace(
            "set $upstream_authentik authentik-server;",
            "set $upstream_authentik 127.0.0.1;",
        );
        assert_eq!(
            out.matches("127.0.0.1;").count(),
            2,
            "authentik-server.conf changed shape"
        );
        assert!(
            out.contains(":9000"),
            "authentik-server.conf no longer uses port 9000"
        );
        out
    });
    tree.edit("nginx/resolver.conf", |t| {
        let out = t.replace("resolver 127.0.0.11 ", "resolver 127.0.0.1 ");
        assert_ne!(out, t, "resolver.conf changed shape");
        out
    });
    tree.assert_nginx_t("the served stage");
    tree
}

/// Waits (bounded) until a stub has seen `n` requests: nginx may still be writing to it when curl
/// returns.
fn settle(stub: &Stub, n: usize) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while stub.seen().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stub.seen()
}

#[test]
fn nginx_served_unauthenticated_request_redirects_to_authentik_sign_in() {
    in_fresh_netns(|| {
        let auth = Stub::start(AUTH_ADDR, authentik);
        let upstream = Stub::start(APP_ADDR, app);
        let tree = swag_tree();
        let nginx = tree.serve();

        let r = get("app.example.test", "/private/page?q=1&x=a%20b", None);
        assert_eq!(r.status, 302, "{r:#?}\n{}", nginx.log());
        assert_eq!(
            r.header("location"),
            Some(
                "https://app.example.test/outpost.goauthentik.io/start?rd=https%3A%2F%2Fapp.example.test%2Fprivate%2Fpage%3Fq%3D1%26x%3Da%2520b"
            ),
            "{r:#?}"
        );
        let calls = settle(&auth, 1);
        assert_eq!(calls.len(), 1, "{calls:#?}");
        assert_eq!(calls[0].target, "/outpost.goauthentik.io/auth/nginx");
        assert_eq!(
            calls[0].header("x-original-url"),
            Some("https://app.example.test/private/page?q=1&x=a%20b")
        );
        assert!(upstream.seen().is_empty(), "{:#?}", upstream.seen());

        // A sibling of the bypass path and a different case of it are not bypassed.
        for path in ["/apis", "/API/x", "/v2/api"] {
            let r = get("app.example.test", path, None);
            assert_eq!(r.status, 302, "{path}: {r:#?}");
        }
        // The sign-in URL itself is served by authentik, without auth.
        auth.clear();
        let r = get(
            "app.example.test",
            "/outpost.goauthentik.io/start?rd=https%3A%2F%2Fapp.example.test%2F",
            None,
        );
        assert_eq!(r.status, 200, "{r:#?}");
        assert_eq!(r.body, "authentik sign-in page");
        let calls = settle(&auth, 1);
        assert_eq!(calls.len(), 1, "{calls:#?}");
        assert!(calls[0]
            .target
            .starts_with("/outpost.goauthentik.io/start?rd="));
        assert!(upstream.seen().is_empty(), "{:#?}", upstream.seen());
    });
}

#[test]
fn nginx_served_authenticated_request_reaches_the_app() {
    in_fresh_netns(|| {
        let auth = Stub::start(AUTH_ADDR, authentik);
        let upstream = Stub::start(APP_ADDR, app);
        let tree = swag_tree();
        let nginx = tree.serve();

        let r = get("app.example.test", "/private/page?q=1", Some(SESSION));
        assert_eq!(r.status, 200, "{r:#?}\n{}", nginx.log());
        assert_eq!(r.body, "protected app page /private/page?q=1 user=akadmin");
        let calls = settle(&auth, 1);
        assert_eq!(calls.len(), 1, "one auth check per request: {calls:#?}");
        let seen = settle(&upstream, 1);
        assert_eq!(seen.len(), 1);
        // authentik-location.conf passes the user on to the app.
        assert_eq!(seen[0].header("x-authentik-username"), Some("akadmin"));
        assert_eq!(
            seen[0].header("x-authentik-email"),
            Some("admin@example.test")
        );
    });
}

#[test]
fn nginx_served_bypass_path_reaches_the_app_without_authentik() {
    in_fresh_netns(|| {
        let auth = Stub::start(AUTH_ADDR, authentik);
        let upstream = Stub::start(APP_ADDR, app);
        let tree = swag_tree();
        let nginx = tree.serve();

        for path in ["/api", "/api/", "/api/items?id=7"] {
            let r = get("app.example.test", path, None);
            assert_eq!(r.status, 200, "{path}: {r:#?}\n{}", nginx.log());
            assert_eq!(r.body, format!("protected app page {path} user=-"));
        }
        assert_eq!(settle(&upstream, 3).len(), 3);
        // Give nginx a moment in case it were to call authentik late; it must not.
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            auth.seen().is_empty(),
            "authentik was asked: {:#?}",
            auth.seen()
        );
    });
}

#[test]
fn nginx_served_authentik_down_means_the_app_is_not_served() {
    in_fresh_netns(|| {
        // Nothing listens on the outpost's address.
        let upstream = Stub::start(APP_ADDR, app);
        let tree = swag_tree();
        let nginx = tree.serve();

        for cookie in [None, Some(SESSION)] {
            let r = get("app.example.test", "/private", cookie);
            assert!(
                r.status >= 500,
                "authentik down, cookie {cookie:?}: {r:#?}\n{}",
                nginx.log()
            );
            assert!(!r.body.contains("protected app page"), "{r:#?}");
        }
        assert!(upstream.seen().is_empty(), "{:#?}", upstream.seen());

        // authentik answering with an error is no better than authentik gone.
        let auth = Stub::start(AUTH_ADDR, authentik_broken);
        let r = get("app.example.test", "/private", Some(SESSION));
        assert!(r.status >= 500, "{r:#?}");
        assert!(!r.body.contains("protected app page"), "{r:#?}");
        assert!(!settle(&auth, 1).is_empty(), "the broken outpost was asked");
        assert!(upstream.seen().is_empty(), "{:#?}", upstream.seen());

        // The bypass path does not depend on authentik.
        let r = get("app.example.test", "/api/health", None);
        assert_eq!(r.status, 200, "{r:#?}");
        assert_eq!(settle(&upstream, 1).len(), 1);
    });
}

#[test]
fn nginx_served_exposed_app_needs_no_authentik() {
    in_fresh_netns(|| {
        let auth = Stub::start(AUTH_ADDR, authentik);
        let open = Stub::start(OPEN_ADDR, open_app);
        let tree = swag_tree();
        let nginx = tree.serve();

        let r = get("open.example.test", "/anything?x=1", None);
        assert_eq!(r.status, 200, "{r:#?}\n{}", nginx.log());
        assert_eq!(r.body, "open app page /anything?x=1");
        assert_eq!(settle(&open, 1).len(), 1);
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            auth.seen().is_empty(),
            "authentik was asked: {:#?}",
            auth.seen()
        );
    });
}

/// A bypass path opens that path and what is below it, nothing else: dot segments and escapes
/// that lead out of it still need authentik.
#[test]
fn nginx_served_bypass_cannot_be_used_to_reach_other_paths() {
    in_fresh_netns(|| {
        let auth = Stub::start(AUTH_ADDR, authentik);
        let upstream = Stub::start(APP_ADDR, app);
        let tree = swag_tree();
        let nginx = tree.serve();

        for path in [
            "/api/../private",
            "/api/%2e%2e/private",
            "/api/..%2fprivate",
            "/api%2f..%2fprivate",
            "/./private",
            "//api/../private",
            "/api/./../private",
        ] {
            let r = get("app.example.test", path, None);
            assert_eq!(r.status, 302, "{path}: {r:#?}\n{}", nginx.log());
            assert!(r.header("location").is_some_and(
                |l| l.starts_with("https://app.example.test/outpost.goauthentik.io/start?rd=")
            ));
        }
        assert!(upstream.seen().is_empty(), "{:#?}", upstream.seen());
        assert_eq!(settle(&auth, 7).len(), 7, "each one asked authentik");
    });
}
