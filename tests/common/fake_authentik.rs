//! An in-process fake authentik for tests and the benchmark: keeps state (flows, groups,
//! outposts with the embedded one, proxy providers, applications, policy bindings), answers in
//! the shapes of authentik's OpenAPI schema with pagination, and checks every request against
//! `../shared/reference/authentik/schema.yml`: the path and method against its `paths` (404 and
//! 405 otherwise), the query parameters against the operation's declared ones (400 for an
//! unknown one or a wrong type), and the body — `$ref`, `allOf`, required fields, enums, types,
//! formats (URLs as authentik's validator takes them), `nullable`, read-only fields not sent,
//! unknown properties rejected — so a wrong field name fails the test with a 400 naming it. Its
//! own answers are checked against the schema too. Tests can make it refuse a request
//! ([`FakeAuthentik::refuse`]) or act as another client between two requests
//! ([`FakeAuthentik::on_request`]). It can pretend to be an older server (no `invalidation_flow` before 2024.10), and
//! be stopped and started on the same port to simulate authentik being down.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

pub mod oauth2;
pub mod tokens;

pub const TOKEN: &str = "fake-authentik-token-123";
pub const EMBEDDED_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-000000000001";
pub const AUTHZ_FLOW_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000f1";
pub const INVAL_FLOW_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000f2";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub status: u16,
}

impl Recorded {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

/// Something to do to the state when a request matching `method` and a path starting with
/// `path` arrives, before it is answered (once): another client acting in between.
pub struct Hook {
    pub method: String,
    pub path: String,
    pub action: Box<dyn FnOnce(&mut State) + Send>,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hook({} {})", self.method, self.path)
    }
}

/// Answer `status` with `body` to requests matching `method` and a path prefix, as authentik
/// does when it refuses a change the schema allows (a validator, a constraint).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Debug)]
pub struct State {
    pub version: String,
    pub page_cap: usize,
    pub providers: Vec<Value>,
    pub applications: Vec<Value>,
    pub outposts: Vec<Value>,
    pub flows: Vec<Value>,
    pub groups: Vec<Value>,
    pub bindings: Vec<Value>,
    pub requests: Vec<Recorded>,
    pub hooks: Vec<Hook>,
    pub refusals: Vec<Refusal>,
    /// Answer every list page with a `next` naming the page just served (a server that
    /// misreports its pagination): a client following `next` blindly never stops.
    pub stuck_next: bool,
    next_id: u64,
    /// API tokens (`tokens.rs`); the first one is [`TOKEN`].
    pub tokens: Vec<Value>,
    /// OAuth2/OpenID providers, scope mappings and certificate keypairs ([`oauth2`]).
    pub oauth2: Vec<Value>,
    pub scope_mappings: Vec<Value>,
    pub certificates: Vec<Value>,
}

impl State {
    pub(crate) fn uuid(&mut self) -> String {
        self.next_id += 1;
        format!("8e1b4b6c-2d1f-4c0a-9d2e-{:012x}", 0x1000 + self.next_id)
    }
    pub(crate) fn int_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id as i64
    }
    /// A proxy provider made by the user (not gatehouse), optionally put on the embedded outpost.
    pub fn add_user_provider(&mut self, name: &str, on_embedded: bool) -> i64 {
        let pk = self.int_id();
        let inval = self.has_invalidation();
        self.providers.push(provider_obj(
            pk,
            name,
            "https://user.example.com",
            "",
            inval,
        ));
        if on_embedded {
            self.outposts[0]["providers"]
                .as_array_mut()
                .expect("providers")
                .push(json!(pk));
        }
        pk
    }

    pub(crate) fn has_invalidation(&self) -> bool {
        let mut parts = self.version.split('.');
        let y: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let m: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (y, m) >= (2024, 10)
    }
}

/// The whole schema document, loaded once per process.
fn doc() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/authentik/schema.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_yaml::from_str(&text).expect("schema.yml parses")
    })
}

/// The schema's `components.schemas`.
fn schemas() -> &'static Map<String, Value> {
    doc()["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
}

/// Checks a request line against the schema's `paths`: the path must be one of its templates
/// (under `/api/v3`), the method one of that path's operations, and every query parameter one
/// the operation declares (parameter `$ref`s resolved), of its type. `Err` carries the status
/// the fake answers with (404 unknown path, 405 unknown method, 400 bad query) and why.
pub fn check_operation(method: &str, path_and_query: &str) -> Result<(), (u16, String)> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let Some(p) = path.strip_prefix("/api/v3") else {
        return Err((404, format!("{path} is not under /api/v3")));
    };
    let segs: Vec<&str> = p.split('/').collect();
    let paths = doc()["paths"].as_object().expect("paths");
    // The matching template with the most literal segments (`/x/cache/` over `/x/{slug}/`).
    let item = paths
        .iter()
        .filter_map(|(t, item)| {
            let ts: Vec<&str> = t.split('/').collect();
            let fits = ts.len() == segs.len()
                && ts.iter().zip(&segs).all(|(t, s)| {
                    if t.starts_with('{') && t.ends_with('}') {
                        !s.is_empty()
                    } else {
                        t == s
                    }
                });
            let literal = ts.iter().filter(|t| !t.starts_with('{')).count();
            fits.then_some((literal, item))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, item)| item);
    let Some(item) = item else {
        return Err((404, format!("{path}: no such path in the schema")));
    };
    let Some(op) = item.get(method.to_ascii_lowercase()) else {
        return Err((
            405,
            format!("{method} {path}: no such operation in the schema"),
        ));
    };
    let declared: Vec<&Value> = item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(resolve_parameter)
        .filter(|p| p["in"] == "query")
        .collect();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let (k, v) = (decode(k), decode(v));
        let Some(param) = declared.iter().find(|p| p["name"] == k.as_str()) else {
            return Err((
                400,
                format!("{method} {path}: unknown query parameter {k:?}"),
            ));
        };
        let schema = &param["schema"];
        let schema = if schema["type"] == "array" {
            &schema["items"]
        } else {
            schema
        };
        let ok = match (schema["type"].as_str(), schema["format"].as_str()) {
            (Some("boolean"), _) => v == "true" || v == "false",
            (Some("integer"), _) => v.parse::<i64>().is_ok(),
            (Some("number"), _) => v.parse::<f64>().is_ok(),
            (Some("string"), Some("uuid")) => is_uuid(&v),
            _ => true,
        };
        if !ok {
            return Err((
                400,
                format!("{method} {path}: query parameter {k}={v:?} is not a {schema}"),
            ));
        }
    }
    Ok(())
}

fn resolve_parameter(p: &Value) -> &Value {
    match p.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/parameters/")
                .unwrap_or_else(|| panic!("parameter $ref {r}"));
            &doc()["components"]["parameters"][name]
        }
        None => p,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// Checks `v` against the named component schema. `dropped` names properties the emulated
/// server version does not have (treated as unknown).
pub fn validate(name: &str, v: &Value, dir: Direction, dropped: &[&str]) -> Vec<String> {
    let mut errs = Vec::new();
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    check(&schema, v, "body", dir, dropped, &mut errs);
    // Request schemas leave read-only fields out; say so when one is sent.
    let base = name
        .trim_start_matches("Patched")
        .trim_end_matches("Request");
    if let Some(props) = schemas().get(base).and_then(|b| b.get("properties")) {
        for e in &mut errs {
            let field = e
                .strip_prefix("body.")
                .and_then(|r| r.strip_suffix(": unknown field"));
            if let Some(f) = field {
                if props[f].get("readOnly").and_then(Value::as_bool) == Some(true) {
                    *e = format!("body.{f}: read-only field must not be sent");
                }
            }
        }
    }
    errs
}

fn resolve(schema: &Value) -> &Value {
    let mut s = schema;
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/components/schemas/").expect("local $ref");
        s = schemas()
            .get(name)
            .unwrap_or_else(|| panic!("unknown $ref {r}"));
    }
    s
}

/// A URL as authentik's validator takes it (Django's URLValidator, without its top-level-domain
/// rule, as authentik's DomainlessURLValidator): http or https, a host of DNS labels (letters,
/// digits, inner hyphens), an IPv4 address or a bracketed IPv6 one, an optional port of up to
/// five digits, then a path, query or fragment without whitespace. No user info.
pub fn is_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((v6, after)) => (v6.parse::<std::net::Ipv6Addr>().is_ok(), after),
            None => return false,
        },
        None => {
            let (h, p) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
            let label = |l: &str| {
                !l.is_empty()
                    && l.chars().count() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c >= '\u{a1}')
            };
            let ok = h.parse::<std::net::Ipv4Addr>().is_ok() || h.split('.').all(label);
            (ok, p)
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()));
    host_ok && port_ok && !tail.chars().any(char::is_whitespace)
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn check(
    schema: &Value,
    v: &Value,
    at: &str,
    dir: Direction,
    dropped: &[&str],
    errs: &mut Vec<String>,
) {
    // Siblings of $ref/allOf (nullable, readOnly) belong to the property; look at them first.
    if v.is_null() {
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || resolve(schema)
                .get("nullable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        if !nullable {
            errs.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(s, v, at, dir, dropped, errs);
        }
        return;
    }
    let s = resolve(schema);
    if !std::ptr::eq(s, schema) {
        return check(s, v, at, dir, dropped, errs);
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(sub, v, at, dir, dropped, errs);
        }
        return;
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!(
                "{at}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
    }
    let ty = s
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(if s.get("properties").is_some() {
            "object"
        } else {
            ""
        });
    match ty {
        "object" => {
            let Some(obj) = v.as_object() else {
                errs.push(format!("{at}: must be an object"));
                return;
            };
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties");
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if dropped.contains(&r) {
                        continue;
                    }
                    if !obj.contains_key(r) {
                        errs.push(format!("{at}.{r}: this field is required"));
                    }
                }
            }
            for (k, val) in obj {
                let prop = props
                    .and_then(|p| p.get(k))
                    .filter(|_| !dropped.contains(&k.as_str()));
                match prop {
                    Some(p) => {
                        let ro = p.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
                        if ro && dir == Direction::Request {
                            errs.push(format!("{at}.{k}: read-only field must not be sent"));
                            continue;
                        }
                        check(p, val, &format!("{at}.{k}"), dir, dropped, errs);
                    }
                    None => match additional {
                        Some(Value::Bool(true)) => {}
                        Some(Value::Object(a)) if a.is_empty() => {}
                        Some(a @ Value::Object(_)) => {
                            check(a, val, &format!("{at}.{k}"), dir, dropped, errs)
                        }
                        _ => errs.push(format!("{at}.{k}: unknown field")),
                    },
                }
            }
        }
        "array" => {
            let Some(items) = v.as_array() else {
                errs.push(format!("{at}: must be an array"));
                return;
            };
            if let Some(is) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(is, item, &format!("{at}[{i}]"), dir, dropped, errs);
                }
            }
        }
        "string" => {
            let Some(text) = v.as_str() else {
                errs.push(format!("{at}: must be a string"));
                return;
            };
            if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
                if (text.chars().count() as u64) < min {
                    errs.push(format!("{at}: shorter than {min}"));
                }
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
                if text.chars().count() as u64 > max {
                    errs.push(format!("{at}: longer than {max}"));
                }
            }
            match s.get("format").and_then(Value::as_str) {
                Some("uuid") if !is_uuid(text) => {
                    errs.push(format!("{at}: {text:?} is not a uuid"))
                }
                Some("uri") if !text.is_empty() && !is_url(text) => {
                    errs.push(format!("{at}: {text:?} is not a URL"))
                }
                _ => {}
            }
            // The only pattern on the objects used here: slugs.
            if s.get("pattern").and_then(Value::as_str) == Some("^[-a-zA-Z0-9_]+$")
                && !is_slug(text)
            {
                errs.push(format!("{at}: {text:?} does not match ^[-a-zA-Z0-9_]+$"));
            }
        }
        "integer" => match v.as_i64() {
            None => errs.push(format!("{at}: must be an integer")),
            Some(n)
                if s.get("minimum")
                    .and_then(Value::as_i64)
                    .is_some_and(|m| n < m)
                    || s.get("maximum")
                        .and_then(Value::as_i64)
                        .is_some_and(|m| n > m) =>
            {
                errs.push(format!("{at}: {n} out of range"));
            }
            Some(_) => {}
        },
        "number" if !v.is_number() => errs.push(format!("{at}: must be a number")),
        "boolean" if !v.is_boolean() => errs.push(format!("{at}: must be a boolean")),
        _ => {}
    }
}

/// The fake server. Dropping it stops it.
pub struct FakeAuthentik {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    handle: tokio::runtime::Handle,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeAuthentik {
    /// gatehouse's authentik settings for this fake, with the default flows.
    pub fn settings(&self) -> gatehouse::config::AuthentikSettings {
        gatehouse::config::AuthentikSettings {
            url: self.url(),
            token: TOKEN.into(),
            domain: "example.com".into(),
            external_scheme: "https".into(),
            outpost: None,
            authorization_flow: gatehouse::config::DEFAULT_AUTHORIZATION_FLOW.into(),
            invalidation_flow: gatehouse::config::DEFAULT_INVALIDATION_FLOW.into(),
            instance: gatehouse::plan::authentik::Instance::unnamed(),
        }
    }

    /// A current authentik (the schema's version, 2026.5.6).
    pub fn start() -> Self {
        Self::start_version("2026.5.6")
    }

    /// A fake answering as `version` (e.g. "2024.2.3": no invalidation flows).
    pub fn start_version(version: &str) -> Self {
        let _ = schemas();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let handle = rt.handle().clone();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(async {
                let _ = stop_rx.await;
            });
        });
        let mut st = State {
            version: version.to_owned(),
            page_cap: 100,
            providers: Vec::new(),
            applications: Vec::new(),
            outposts: Vec::new(),
            flows: Vec::new(),
            groups: Vec::new(),
            bindings: Vec::new(),
            requests: Vec::new(),
            hooks: Vec::new(),
            refusals: Vec::new(),
            stuck_next: false,
            next_id: 0,
            tokens: tokens::initial(),
            oauth2: Vec::new(),
            scope_mappings: Vec::new(),
            certificates: Vec::new(),
        };
        oauth2::seed(&mut st);
        st.flows.push(flow(
            AUTHZ_FLOW_PK,
            "default-provider-authorization-implicit-consent",
            "authorization",
        ));
        st.flows.push(flow(
            "8e1b4b6c-2d1f-4c0a-9d2e-0000000000f3",
            "default-provider-authorization-explicit-consent",
            "authorization",
        ));
        if st.has_invalidation() {
            st.flows.push(flow(
                INVAL_FLOW_PK,
                "default-provider-invalidation-flow",
                "invalidation",
            ));
        }
        st.outposts.push(outpost(
            EMBEDDED_PK,
            "authentik Embedded Outpost",
            Some("goauthentik.io/outposts/embedded"),
        ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fake = Self {
            addr,
            state: Arc::new(Mutex::new(st)),
            handle,
            server: Mutex::new(None),
            stop: Some(stop),
            thread: Some(thread),
        };
        fake.serve(listener);
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&self, listener: std::net::TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        let state = self.state.clone();
        let task = self.handle.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                conns.spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        *self.server.lock().unwrap() = Some(task);
    }

    /// authentik goes down: the port refuses connections, open ones are cut.
    pub fn stop(&self) {
        if let Some(t) = self.server.lock().unwrap().take() {
            t.abort();
        }
        // Wait until the listener is really closed.
        for _ in 0..100 {
            if std::net::TcpStream::connect(self.addr).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("fake authentik did not stop");
    }

    /// authentik comes back on the same port with the same state.
    pub fn resume(&self) {
        let listener = std::net::TcpListener::bind(self.addr).expect("rebind the same port");
        self.serve(listener);
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// gatehouse's token expires at `when` (RFC 3339), as tokens made in authentik's UI do.
    pub fn expire_token_at(&self, when: &str) {
        self.with(|s| s.tokens[0] = tokens::token_obj(tokens::TOKEN_ID, Some(when)));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear());
    }

    /// Requests the fake answered with 400: a body or query breaking the schema, a constraint
    /// (duplicate name or slug, one application per provider), or a [`Self::refuse`].
    pub fn schema_rejections(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.status == 400)
            .collect()
    }

    pub fn add_group(&self, name: &str) -> String {
        self.with(|s| {
            let pk = s.uuid();
            let num = s.int_id();
            s.groups.push(json!({
                "pk": pk, "num_pk": num, "name": name, "is_superuser": false, "parents": [],
                "parents_obj": [], "users": [], "users_obj": [], "attributes": {}, "roles": [],
                "roles_obj": [], "inherited_roles_obj": [], "children": [], "children_obj": []
            }));
            pk
        })
    }

    /// A proxy provider made by the user (not gatehouse), optionally put on the embedded outpost.
    pub fn add_user_provider(&self, name: &str, on_embedded: bool) -> i64 {
        self.with(|s| s.add_user_provider(name, on_embedded))
    }

    /// Runs `action` on the state when the first request `method` on a path starting with
    /// `path` arrives, before answering it.
    /// Sends one raw request (with the token) and returns the status, content type and body
    /// as text: for checking what the fake itself answers.
    pub fn raw(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String, String) {
        use std::io::{Read, Write};
        let addr = self.url().trim_start_matches("http://").to_owned();
        let mut conn = std::net::TcpStream::connect(&addr).expect("connect to the fake");
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        )
        .expect("send");
        let mut out = String::new();
        conn.read_to_string(&mut out).expect("read");
        let (head, text) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let kind = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        (status, kind, text.to_owned())
    }

    pub fn on_request(
        &self,
        method: &str,
        path: &str,
        action: impl FnOnce(&mut State) + Send + 'static,
    ) {
        self.with(|s| {
            s.hooks.push(Hook {
                method: method.into(),
                path: path.into(),
                action: Box::new(action),
            })
        });
    }

    /// Refuses every request `method` on a path starting with `path` with `status` and `body`.
    pub fn refuse(&self, method: &str, path: &str, status: u16, body: Value) {
        self.with(|s| {
            s.refusals.push(Refusal {
                method: method.into(),
                path: path.into(),
                status,
                body,
            })
        });
    }

    /// An application made by the user (no gatehouse marker).
    pub fn add_user_app(&self, slug: &str) -> String {
        self.with(|s| {
            let pk = s.uuid();
            s.applications
                .push(app_obj(&pk, slug, slug, None, &Map::new()));
            pk
        })
    }

    pub fn add_user_binding(&self, target: &str) {
        self.with(|s| {
            let pk = s.uuid();
            let policy = s.uuid();
            s.bindings.push(json!({
                "pk": pk, "policy": policy, "group": null, "user": null, "policy_obj": null,
                "group_obj": null, "user_obj": null, "target": target, "negate": false,
                "enabled": true, "order": 0, "timeout": 30, "failure_result": false
            }));
        })
    }

    pub fn providers(&self) -> Vec<Value> {
        self.with(|s| s.providers.clone())
    }
    pub fn applications(&self) -> Vec<Value> {
        self.with(|s| s.applications.clone())
    }
    pub fn bindings(&self) -> Vec<Value> {
        self.with(|s| s.bindings.clone())
    }
    pub fn embedded_providers(&self) -> Vec<i64> {
        self.with(|s| {
            s.outposts[0]["providers"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_i64)
                .collect()
        })
    }
}

impl Drop for FakeAuthentik {
    fn drop(&mut self) {
        if let Some(t) = self.server.lock().map(|mut s| s.take()).ok().flatten() {
            t.abort();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn flow(pk: &str, slug: &str, designation: &str) -> Value {
    json!({
        "pk": pk, "policybindingmodel_ptr_id": pk, "name": slug, "slug": slug, "title": slug,
        "designation": designation, "background": "", "background_url": "/static/bg.jpg",
        "background_themed_urls": null, "stages": [], "policies": [], "cache_count": 0,
        "policy_engine_mode": "any", "compatibility_mode": false, "export_url": "/export",
        "layout": "stacked", "denied_action": "message_continue", "authentication": "none"
    })
}

fn outpost(pk: &str, name: &str, managed: Option<&str>) -> Value {
    json!({
        "pk": pk, "name": name, "type": "proxy", "providers": [], "providers_obj": [],
        "service_connection": null, "service_connection_obj": null, "refresh_interval_s": 150,
        "token_identifier": format!("ak-outpost-{pk}-api"), "config": {}, "managed": managed
    })
}

fn provider_obj(pk: i64, name: &str, external: &str, authz: &str, with_inval: bool) -> Value {
    let mut v = json!({
        "pk": pk, "name": name, "authentication_flow": null,
        "authorization_flow": if authz.is_empty() { AUTHZ_FLOW_PK } else { authz },
        "invalidation_flow": INVAL_FLOW_PK,
        "property_mappings": [], "component": "ak-provider-proxy-form",
        "assigned_application_slug": null, "assigned_application_name": null,
        "assigned_backchannel_application_slug": null, "assigned_backchannel_application_name": null,
        "verbose_name": "Proxy Provider", "verbose_name_plural": "Proxy Providers",
        "meta_model_name": "authentik_providers_proxy.proxyprovider", "client_id": format!("client-{pk}"),
        "internal_host": "", "external_host": external, "internal_host_ssl_validation": true,
        "certificate": null, "skip_path_regex": "", "basic_auth_enabled": false,
        "basic_auth_password_attribute": "", "basic_auth_user_attribute": "", "mode": "proxy",
        "intercept_header_auth": true, "redirect_uris": [], "cookie_domain": "",
        "jwt_federation_sources": [], "jwt_federation_providers": [],
        "access_token_validity": "hours=24", "refresh_token_validity": "days=30", "outpost_set": []
    });
    if !with_inval {
        v.as_object_mut().unwrap().remove("invalidation_flow");
    }
    v
}

fn app_obj(
    pk: &str,
    slug: &str,
    name: &str,
    provider: Option<i64>,
    body: &Map<String, Value>,
) -> Value {
    let mut v = json!({
        "pk": pk, "name": name, "slug": slug, "provider": provider, "provider_obj": null,
        "backchannel_providers": [], "backchannel_providers_obj": [], "launch_url": null,
        "open_in_new_tab": false, "meta_launch_url": "", "meta_icon": "", "meta_icon_url": null,
        "meta_icon_themed_urls": null, "meta_description": "", "meta_publisher": "",
        "policy_engine_mode": "any", "group": "", "meta_hide": false
    });
    for (k, val) in body {
        v[k] = val.clone();
    }
    v
}

fn reply(status: StatusCode, body: Value) -> (StatusCode, Option<Value>) {
    (status, Some(body))
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let authorized = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes)
            .ok()
            .or(Some(Value::String("<not json>".into())))
    };
    let path = uri.path().to_owned();
    if tokens::is_ping(&path) {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Full::new(Bytes::new()))
            .unwrap();
    }
    let query: BTreeMap<String, Vec<String>> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .fold(BTreeMap::new(), |mut m, kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            m.entry(k.to_owned())
                .or_insert_with(Vec::new)
                .push(decode(v));
            m
        });
    let mut st = state.lock().unwrap();
    let full = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if let Some(i) = st
        .hooks
        .iter()
        .position(|h| h.method == method.as_str() && full.starts_with(&h.path))
    {
        let hook = st.hooks.remove(i);
        (hook.action)(&mut st);
    }
    let refusal = st
        .refusals
        .iter()
        .find(|r| r.method == method.as_str() && full.starts_with(&r.path))
        .cloned();
    let operation = check_operation(method.as_str(), &full);
    let unknown_path = matches!(operation, Err((404, _)));
    let (status, out) = if let Some(r) = refusal {
        (
            StatusCode::from_u16(r.status).expect("status"),
            Some(r.body),
        )
    } else if let Err((code, why)) = operation {
        reply(
            StatusCode::from_u16(code).expect("status"),
            json!({ "detail": why }),
        )
    } else if !authorized {
        reply(
            StatusCode::FORBIDDEN,
            json!({"detail": "Authentication credentials were not provided."}),
        )
    } else {
        route(&mut st, &method, &path, &query, body.as_ref())
    };
    st.requests.push(Recorded {
        method: method.to_string(),
        path: full,
        body,
        status: status.as_u16(),
    });
    drop(st);
    if unknown_path {
        // authentik answers a path it has no route for with Django's HTML page, not JSON.
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/html; charset=utf-8")
            .body(Full::new(Bytes::from_static(NOT_FOUND_HTML.as_bytes())))
            .unwrap();
    }
    let bytes = out
        .map(|v| Bytes::from(serde_json::to_vec(&v).unwrap()))
        .unwrap_or_default();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(bytes))
        .unwrap()
}

/// What authentik serves for a path under `/api/v3` it has no route for.
pub const NOT_FOUND_HTML: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1>\n  <p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(n) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn page(
    st: &State,
    items: Vec<Value>,
    q: &BTreeMap<String, Vec<String>>,
    item_schema: &str,
) -> (StatusCode, Option<Value>) {
    let size = q
        .get("page_size")
        .and_then(|v| v[0].parse().ok())
        .unwrap_or(20usize)
        .clamp(1, st.page_cap);
    let n: usize = q
        .get("page")
        .and_then(|v| v[0].parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let start = (n - 1) * size;
    let results: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let dropped = dropped_fields(st);
    for r in &results {
        let errs = validate(item_schema, r, Direction::Response, &dropped);
        assert!(
            errs.is_empty(),
            "fake authentik's own {item_schema} breaks the schema: {errs:?}"
        );
    }
    let body = json!({
        "pagination": {
            "next": if st.stuck_next { n } else if n < pages { n + 1 } else { 0 }, "previous": n.saturating_sub(1),
            "count": total, "current": n, "total_pages": pages,
            "start_index": if total == 0 { 0 } else { start + 1 }, "end_index": (start + results.len()),
        },
        "results": results,
        "autocomplete": {},
    });
    (StatusCode::OK, Some(body))
}

fn dropped_fields(st: &State) -> Vec<&'static str> {
    if st.has_invalidation() {
        vec![]
    } else {
        vec!["invalidation_flow"]
    }
}

fn checked(
    st: &State,
    schema: &str,
    body: Option<&Value>,
) -> Result<Map<String, Value>, (StatusCode, Option<Value>)> {
    let Some(body) = body else {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            json!({"non_field_errors": ["request body is missing"]}),
        ));
    };
    let errs = validate(schema, body, Direction::Request, &dropped_fields(st));
    if !errs.is_empty() {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            json!({ "non_field_errors": errs, "code": "invalid" }),
        ));
    }
    Ok(body.as_object().cloned().unwrap_or_default())
}

/// `external_host` goes through authentik's URL validator (a model field validator, not in the
/// schema).
fn bad_external_host(b: &Map<String, Value>) -> Option<(StatusCode, Option<Value>)> {
    b.get("external_host")
        .and_then(Value::as_str)
        .filter(|h| !is_url(h))
        .map(|_| field_error("external_host", "Enter a valid URL."))
}

/// `ProxyProviderSerializer.validate`: the attributes sent (on a PATCH, only those) are checked
/// as a whole, and a missing `mode` counts as `proxy`, which needs an internal host. So a
/// partial update of a forward-auth provider must send its mode.
/// `validate_basic_auth_enabled`: basic auth needs both attribute names in the request.
fn proxy_rules(b: &Map<String, Value>) -> Option<(StatusCode, Option<Value>)> {
    let proxy_mode = b.get("mode").and_then(Value::as_str).unwrap_or("proxy") == "proxy";
    let internal = b.get("internal_host").and_then(Value::as_str).unwrap_or("");
    if proxy_mode && internal.is_empty() {
        return Some(field_error(
            "internal_host",
            "Internal host cannot be empty when forward auth is disabled.",
        ));
    }
    let set = |k: &str| {
        b.get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    if b.get("basic_auth_enabled") == Some(&json!(true))
        && !(set("basic_auth_password_attribute") && set("basic_auth_user_attribute"))
    {
        return Some(field_error(
            "basic_auth_enabled",
            "User and password attributes must be set when basic auth is enabled.",
        ));
    }
    None
}

/// `ApplicationSerializer.validate_slug`: slugs the OAuth2 endpoints use are refused.
fn reserved_slug(b: &Map<String, Value>) -> Option<(StatusCode, Option<Value>)> {
    const RESERVED: [&str; 6] = [
        "authorize",
        "token",
        "device",
        "userinfo",
        "introspect",
        "revoke",
    ];
    let slug = b.get("slug").and_then(Value::as_str)?;
    RESERVED.contains(&slug).then(|| {
        field_error(
            "slug",
            &format!("The slug '{slug}' is reserved and cannot be used for applications."),
        )
    })
}

/// `PolicyBindingSerializer.validate`: a binding on an application has exactly one of policy,
/// group and user (a non-field error).
fn one_binding_subject(b: &Map<String, Value>) -> Option<(StatusCode, Option<Value>)> {
    let subjects = ["policy", "group", "user"];
    let set = subjects
        .iter()
        .filter(|k| {
            b.get(**k)
                .is_some_and(|v| !v.is_null() && v != "" && v != &json!(0))
        })
        .count();
    let warning = "'policy', 'group', 'user'";
    let msg = match set {
        1 => return None,
        0 => format!("One of {warning} must be set."),
        _ => format!("Only one of {warning} can be set."),
    };
    Some(reply(
        StatusCode::BAD_REQUEST,
        json!({ "non_field_errors": [msg] }),
    ))
}

fn field_error(field: &str, msg: &str) -> (StatusCode, Option<Value>) {
    reply(StatusCode::BAD_REQUEST, json!({ field: [msg] }))
}

fn respond(st: &State, status: StatusCode, schema: &str, v: Value) -> (StatusCode, Option<Value>) {
    let errs = validate(schema, &v, Direction::Response, &dropped_fields(st));
    assert!(
        errs.is_empty(),
        "fake authentik's own {schema} breaks the schema: {errs:?}"
    );
    (status, Some(v))
}

fn flow_exists(st: &State, pk: &Value) -> bool {
    st.flows.iter().any(|f| &f["pk"] == pk)
}

fn route(
    st: &mut State,
    method: &Method,
    path: &str,
    q: &BTreeMap<String, Vec<String>>,
    body: Option<&Value>,
) -> (StatusCode, Option<Value>) {
    let Some(p) = path.strip_prefix("/api/v3") else {
        return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
    };
    let segs: Vec<&str> = p.trim_matches('/').split('/').collect();
    if let Some(answer) = tokens::route(st, method, &segs, q) {
        return answer;
    }
    if let Some(answer) = oauth2::route(st, method, &segs, q, body) {
        return answer;
    }
    let filter = |items: &[Value], key: &str, field: &str| -> Vec<Value> {
        match q.get(key) {
            Some(vals) => items
                .iter()
                .filter(|i| vals.iter().any(|v| i[field].as_str() == Some(v)))
                .cloned()
                .collect(),
            None => items.to_vec(),
        }
    };
    match (method.clone(), segs.as_slice()) {
        (Method::GET, ["admin", "version"]) => {
            let v = st.version.clone();
            respond(
                st,
                StatusCode::OK,
                "Version",
                json!({
                    "version_current": v, "version_latest": v, "version_latest_valid": true,
                    "build_hash": "", "outdated": false, "outpost_outdated": false
                }),
            )
        }
        (Method::GET, ["flows", "instances"]) => {
            let items = filter(&st.flows, "slug", "slug");
            page(st, items, q, "Flow")
        }
        (Method::GET, ["core", "groups"]) => {
            let items = filter(&st.groups, "name", "name");
            page(st, items, q, "Group")
        }
        (Method::GET, ["outposts", "instances"]) => {
            let items = filter(&st.outposts, "name__iexact", "name");
            page(st, items, q, "Outpost")
        }
        (Method::GET, ["outposts", "instances", uuid]) => {
            match st.outposts.iter().find(|o| o["pk"].as_str() == Some(uuid)) {
                Some(o) => {
                    let v = o.clone();
                    respond(st, StatusCode::OK, "Outpost", v)
                }
                None => reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
            }
        }
        (Method::GET, ["providers", "proxy"]) => {
            let items = st.providers.clone();
            page(st, items, q, "ProxyProvider")
        }
        (Method::GET, ["core", "applications"]) => {
            let mut items = filter(&st.applications, "slug", "slug");
            items.sort_by(|a, b| a["slug"].as_str().cmp(&b["slug"].as_str()));
            page(st, items, q, "Application")
        }
        (Method::GET, ["policies", "bindings"]) => {
            // target_in is a model choice filter: a pk that is no binding target (an
            // application deleted meanwhile) fails the whole list.
            let unknown = q.get("target_in").and_then(|vals| {
                vals.iter().find(|v| {
                    !st.applications
                        .iter()
                        .any(|a| a["pk"].as_str() == Some(v.as_str()))
                        && !st
                            .flows
                            .iter()
                            .any(|f| f["pk"].as_str() == Some(v.as_str()))
                })
            });
            if let Some(v) = unknown {
                return field_error(
                    "target_in",
                    &format!("Select a valid choice. {v} is not one of the available choices."),
                );
            }
            let mut items = filter(&st.bindings, "target_in", "target");
            if q.contains_key("target") {
                items = filter(&items, "target", "target");
            }
            page(st, items, q, "PolicyBinding")
        }
        (Method::POST, ["providers", "proxy"]) => {
            let b = match checked(st, "ProxyProviderRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Some(e) = bad_external_host(&b).or_else(|| proxy_rules(&b)) {
                return e;
            }
            let name = b["name"].as_str().unwrap_or_default().to_owned();
            if st.providers.iter().any(|p| p["name"] == json!(name)) {
                return field_error("name", "Provider with this name already exists.");
            }
            if !flow_exists(st, &b["authorization_flow"]) {
                return field_error("authorization_flow", "Invalid pk - object does not exist.");
            }
            if b.get("invalidation_flow")
                .is_some_and(|f| !flow_exists(st, f))
            {
                return field_error("invalidation_flow", "Invalid pk - object does not exist.");
            }
            let pk = st.int_id();
            let inval = st.has_invalidation();
            let mut v = provider_obj(pk, &name, "", "", inval);
            for (k, val) in &b {
                v[k] = val.clone();
            }
            st.providers.push(v.clone());
            respond(st, StatusCode::CREATED, "ProxyProvider", v)
        }
        (Method::PATCH, ["providers", "proxy", id]) => {
            let b = match checked(st, "PatchedProxyProviderRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Some(e) = bad_external_host(&b).or_else(|| proxy_rules(&b)) {
                return e;
            }
            let Some(i) = st
                .providers
                .iter()
                .position(|p| p["pk"].as_i64().map(|n| n.to_string()).as_deref() == Some(*id))
            else {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            };
            for (k, val) in &b {
                st.providers[i][k] = val.clone();
            }
            let v = st.providers[i].clone();
            respond(st, StatusCode::OK, "ProxyProvider", v)
        }
        (Method::DELETE, ["providers", "proxy", id]) => {
            let Some(i) = st
                .providers
                .iter()
                .position(|p| p["pk"].as_i64().map(|n| n.to_string()).as_deref() == Some(*id))
            else {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            };
            let pk = st.providers.remove(i)["pk"].clone();
            for o in &mut st.outposts {
                o["providers"].as_array_mut().unwrap().retain(|p| p != &pk);
            }
            for a in &mut st.applications {
                if a["provider"] == pk {
                    a["provider"] = Value::Null;
                }
            }
            (StatusCode::NO_CONTENT, None)
        }
        (Method::POST, ["core", "applications"]) => {
            let b = match checked(st, "ApplicationRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Some(e) = reserved_slug(&b) {
                return e;
            }
            let slug = b["slug"].as_str().unwrap_or_default().to_owned();
            if st.applications.iter().any(|a| a["slug"] == json!(slug)) {
                return field_error("slug", "Application with this slug already exists.");
            }
            if let Some(p) = b.get("provider").filter(|p| !p.is_null()) {
                if !st.providers.iter().chain(&st.oauth2).any(|x| &x["pk"] == p) {
                    return field_error("provider", "Invalid pk - object does not exist.");
                }
                if st.applications.iter().any(|a| &a["provider"] == p) {
                    return field_error(
                        "provider",
                        "Application with this provider already exists.",
                    );
                }
            }
            let pk = st.uuid();
            let name = b["name"].as_str().unwrap_or_default().to_owned();
            let v = app_obj(&pk, &slug, &name, None, &b);
            st.applications.push(v.clone());
            respond(st, StatusCode::CREATED, "Application", v)
        }
        (Method::PATCH, ["core", "applications", slug]) => {
            let b = match checked(st, "PatchedApplicationRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(i) = st
                .applications
                .iter()
                .position(|a| a["slug"].as_str() == Some(slug))
            else {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            };
            if let Some(e) = reserved_slug(&b) {
                return e;
            }
            if let Some(p) = b.get("provider").filter(|p| !p.is_null()) {
                if !st.providers.iter().chain(&st.oauth2).any(|x| &x["pk"] == p) {
                    return field_error("provider", "Invalid pk - object does not exist.");
                }
                // One application per provider (a one-to-one field in authentik), as on POST.
                if st
                    .applications
                    .iter()
                    .enumerate()
                    .any(|(j, a)| j != i && &a["provider"] == p)
                {
                    return field_error(
                        "provider",
                        "Application with this provider already exists.",
                    );
                }
            }
            for (k, val) in &b {
                st.applications[i][k] = val.clone();
            }
            let v = st.applications[i].clone();
            respond(st, StatusCode::OK, "Application", v)
        }
        (Method::DELETE, ["core", "applications", slug]) => {
            let Some(i) = st
                .applications
                .iter()
                .position(|a| a["slug"].as_str() == Some(slug))
            else {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            };
            let pk = st.applications.remove(i)["pk"].clone();
            st.bindings.retain(|b| b["target"] != pk);
            (StatusCode::NO_CONTENT, None)
        }
        (Method::PATCH, ["outposts", "instances", uuid]) => {
            let b = match checked(st, "PatchedOutpostRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Some(ps) = b.get("providers").and_then(Value::as_array) {
                for p in ps {
                    if !st.providers.iter().any(|x| &x["pk"] == p) {
                        return field_error(
                            "providers",
                            &format!("Invalid pk \"{p}\" - object does not exist."),
                        );
                    }
                }
            }
            let Some(i) = st
                .outposts
                .iter()
                .position(|o| o["pk"].as_str() == Some(uuid))
            else {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            };
            for (k, val) in &b {
                st.outposts[i][k] = val.clone();
            }
            let v = st.outposts[i].clone();
            respond(st, StatusCode::OK, "Outpost", v)
        }
        (Method::POST, ["policies", "bindings"]) => {
            let b = match checked(st, "PolicyBindingRequest", body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if !st.applications.iter().any(|a| a["pk"] == b["target"]) {
                return field_error("target", "Invalid pk - object does not exist.");
            }
            if let Some(e) = one_binding_subject(&b) {
                return e;
            }
            if let Some(g) = b.get("group").filter(|g| !g.is_null()) {
                if !st.groups.iter().any(|x| &x["pk"] == g) {
                    return field_error("group", "Invalid pk - object does not exist.");
                }
            }
            let pk = st.uuid();
            let mut v = json!({
                "pk": pk, "policy": null, "group": null, "user": null, "policy_obj": null,
                "group_obj": null, "user_obj": null, "target": "", "negate": false,
                "enabled": true, "order": 0, "timeout": 30, "failure_result": false
            });
            for (k, val) in &b {
                v[k] = val.clone();
            }
            st.bindings.push(v.clone());
            respond(st, StatusCode::CREATED, "PolicyBinding", v)
        }
        (Method::DELETE, ["policies", "bindings", uuid]) => {
            let before = st.bindings.len();
            st.bindings.retain(|b| b["pk"].as_str() != Some(uuid));
            if st.bindings.len() == before {
                return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
            }
            (StatusCode::NO_CONTENT, None)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"detail": format!("no such endpoint in the fake: {method} {path}")}),
        ),
    }
}
