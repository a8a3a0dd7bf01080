//! The status page, `/api/status`, `/metrics`, `/healthz` and `/readyz` of a running
//! `gatehouse run`: the real Docker engine with a few apps and one rejected container, the
//! schema-checked fake authentik, and headless Chromium (Debian's `chromium`) loading the page.
//! Needs Docker Engine and chromium (fails loudly without them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::docker::{react, wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};
use common::status::{self as http, parse_metrics, value};
use serde_json::Value;

/// A running gatehouse with two apps (one protected, one exposed) and one rejected container.
struct Stack {
    port: u16,
    gh: Gatehouse,
    fake: FakeAuthentik,
    web: String,
    secure: String,
    broken: String,
    sso: String,
    _swag: tempfile::TempDir,
    _scope: Scope,
}

fn stack(test: &str, extra: &[(&str, &str)]) -> Stack {
    let scope = Scope::new(test);
    let swag_dir = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let (swag, _) = scope.swag();
    let port = http::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env = scope.gatehouse_env(swag_dir.path());
    env.extend(
        [
            ("GATEHOUSE_LISTEN", listen.as_str()),
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_AUTHENTIK_URL", fake.url().as_str()),
            ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN),
            ("GATEHOUSE_DOMAIN", "example.com"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let gh = Gatehouse::start(&["run"], &env);
    let apps_net = scope.network("apps");
    let web = scope
        .container("web")
        .network(&apps_net)
        .labels(&[
            ("auth.expose", "true"),
            ("auth.subdomain", "web"),
            ("auth.port", "8080"),
        ])
        .start();
    let secure = scope
        .container("secure")
        .network(&apps_net)
        .labels(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "secure"),
            ("auth.port", "8080"),
        ])
        .start();
    let broken = scope
        .container("broken")
        .network(&apps_net)
        .labels(&[("auth.expose", "true"), ("auth.port", "http")])
        .start();
    // An app that signs its users in itself (OIDC): authentik makes it a client secret.
    let sso = scope
        .container("sso")
        .network(&apps_net)
        .labels(&[
            ("auth.expose", "true"),
            ("auth.subdomain", "sso"),
            ("auth.port", "8080"),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", "/login/generic_oauth"),
        ])
        .start();
    let stack = Stack {
        sso,
        port,
        gh,
        fake,
        web,
        secure,
        broken,
        _swag: swag_dir,
        _scope: scope,
    };
    let settled = wait_for(react(), || {
        let Some(status) = stack.status() else {
            return false;
        };
        status["apps"].as_array().is_some_and(|a| a.len() == 3)
            && status["rejected"].as_array().is_some_and(|r| r.len() == 1)
            && status["authentik"]["reachable"] == true
            && on_outpost(&stack.fake, "secure")
            && status["apps"]
                .as_array()
                .is_some_and(|a| a.iter().any(|app| app["authentik"].is_object()))
    });
    assert!(
        settled,
        "the status never showed 3 apps, 1 rejected and authentik reachable: {:?}\nlog:\n{}",
        stack.status(),
        stack.gh.logs()
    );
    stack
}

/// The provider of `slug` is on the embedded outpost: the last write of its round (so the
/// round's requests are all counted).
fn on_outpost(fake: &FakeAuthentik, slug: &str) -> bool {
    let name = format!("gatehouse:{slug}");
    fake.providers()
        .iter()
        .find(|p| p["name"] == name.as_str())
        .and_then(|p| p["pk"].as_i64())
        .is_some_and(|pk| fake.embedded_providers().contains(&pk))
}

impl Stack {
    fn get(&self, path: &str) -> http::Answer {
        http::get(self.port, path)
            .unwrap_or_else(|| panic!("no answer to GET {path}; log:\n{}", self.gh.logs()))
    }

    fn status(&self) -> Option<Value> {
        let a = http::get(self.port, "/api/status")?;
        serde_json::from_str(&a.body).ok()
    }

    fn app<'a>(&self, status: &'a Value, container: &str) -> &'a Value {
        status["apps"]
            .as_array()
            .and_then(|a| a.iter().find(|app| app["container"] == container))
            .unwrap_or_else(|| panic!("{container} not in {status}"))
    }
}

#[test]
fn docker_status_endpoints_show_apps_rejections_and_metrics_without_secrets() {
    let s = stack("status", &[]);
    let status = s.status().expect("status json");
    let web = s.app(&status, &s.web);
    assert_eq!(web["access"], "exposed");
    assert_eq!(web["links"][0], "https://web.example.com");
    assert_eq!(web["upstream"], format!("http://{}:8080", s.web));
    assert!(
        web["conf_file"].as_str().unwrap().ends_with(".conf"),
        "{web}"
    );
    assert!(
        web["networks"].as_array().is_some_and(|n| !n.is_empty()),
        "{web}"
    );
    assert!(
        web["last_change"]["what"]
            .as_str()
            .unwrap_or_default()
            .contains("wrote"),
        "{web}"
    );
    let secure = s.app(&status, &s.secure);
    assert_eq!(secure["access"], "protected");
    assert_eq!(secure["authentik"]["application"], "secure");
    assert_eq!(secure["authentik"]["outpost"], "authentik Embedded Outpost");
    assert_eq!(status["rejected"][0]["container"], s.broken.as_str());
    assert!(
        status["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("auth.port"),
        "{status}"
    );
    assert_eq!(status["authentik"]["version"], "2026.5");
    // `run` repeats `gatehouse check`'s checks for the page, the first time 5 s after start.
    let checked = wait_for(react(), || {
        s.status()
            .is_some_and(|st| st["checks"].as_array().is_some_and(|c| !c.is_empty()))
    });
    assert!(checked, "no checks on the page: {:?}", s.status());
    let status = s.status().expect("status json");
    let engine_check = status["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "docker.engine"))
        .unwrap_or_else(|| panic!("no docker.engine check: {status}"));
    assert_eq!(engine_check["level"], "ok", "{engine_check}");
    assert_eq!(
        (status["live"].clone(), status["ready"].clone()),
        (Value::Bool(true), Value::Bool(true))
    );

    let page = s.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    for needle in [
        s.web.as_str(),
        s.secure.as_str(),
        s.broken.as_str(),
        "docker.engine",
        "https://secure.example.com",
    ] {
        assert!(
            page.body.contains(needle),
            "{needle} not on the page:\n{}",
            page.body
        );
    }

    let metrics = s.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"].starts_with("text/plain; version=0.0.4"));
    let (samples, types) =
        parse_metrics(&metrics.body).unwrap_or_else(|e| panic!("{e}\n{}", metrics.body));
    assert_eq!(types["gatehouse_pass_duration_seconds"], "histogram");
    assert_eq!(
        value(&samples, "gatehouse_apps", &[("state", "protected")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "gatehouse_apps", &[("state", "exposed")]),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "gatehouse_rejected_containers", &[]),
        Some(1.0)
    );
    assert_eq!(value(&samples, "gatehouse_authentik_up", &[]), Some(1.0));
    assert_eq!(
        value(
            &samples,
            "gatehouse_authentik_info",
            &[("version", "2026.5")]
        ),
        Some(1.0)
    );
    assert!(
        value(&samples, "gatehouse_passes_total", &[("result", "success")]).unwrap_or(0.0) >= 1.0
    );
    assert!(value(&samples, "gatehouse_checks", &[("level", "ok")]).unwrap_or(0.0) >= 1.0);
    assert!(
        value(
            &samples,
            "gatehouse_docker_requests_total",
            &[("method", "GET"), ("code", "200")]
        )
        .unwrap_or(0.0)
            >= 2.0
    );
    // The SWAG stand-in was attached to the apps' networks: POST requests that went through.
    assert!(
        value(
            &samples,
            "gatehouse_docker_requests_total",
            &[("method", "POST"), ("code", "200")]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{}",
        metrics.body
    );
    let ak_posts = value(
        &samples,
        "gatehouse_authentik_requests_total",
        &[("method", "POST"), ("code", "201")],
    );
    assert!(
        ak_posts.unwrap_or(0.0) >= 2.0,
        "provider and application created: {}",
        metrics.body
    );
    let last_ok = value(
        &samples,
        "gatehouse_last_successful_pass_timestamp_seconds",
        &[],
    )
    .unwrap_or(0.0);
    assert!(last_ok > 1.7e9, "{last_ok}");
    let rss = value(&samples, "process_resident_memory_bytes", &[]).unwrap_or(0.0);
    assert!(rss > 0.0);

    let healthz = s.get("/healthz");
    assert_eq!(healthz.status, 200, "{}", healthz.body);
    let readyz = s.get("/readyz");
    assert_eq!(readyz.status, 200, "{}", readyz.body);
    assert_eq!(s.get("/nope").status, 404);
    let post = http::request(s.port, "POST", "/").expect("answer");
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");

    let sso = s.app(&status, &s.sso);
    assert_eq!(sso["oidc"], true, "{sso}");
    assert_eq!(sso["authentik"]["outpost"], Value::Null, "{sso}");
    // The OIDC app's client secret exists (authentik made it, gatehouse handed it to the app).
    let client_secret = || {
        s.fake
            .with(|st| st.oauth2.first().map(|p| p["client_secret"].clone()))
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    assert!(
        wait_for(react(), || client_secret().is_some()),
        "no OAuth2 provider; log:\n{}",
        s.gh.logs()
    );
    let client_secret = client_secret().unwrap_or_default();
    assert!(client_secret.len() >= 16, "{client_secret}");
    // No secret on any endpoint: the API token, the OIDC app's client secret, nor the providers'
    // client ids (a step from their secrets).
    let client_ids: Vec<String> = s
        .fake
        .providers()
        .iter()
        .filter_map(|p| p["client_id"].as_str().map(str::to_owned))
        .collect();
    assert!(!client_ids.is_empty());
    for path in [
        "/",
        "/api/status",
        "/metrics",
        "/healthz",
        "/readyz",
        "/nope",
    ] {
        let body = s.get(path).body;
        assert!(
            !body.contains(fake_authentik::TOKEN),
            "the token is on {path}"
        );
        assert!(
            !body.contains(&client_secret),
            "the client secret is on {path}"
        );
        for id in &client_ids {
            assert!(!body.contains(id.as_str()), "a client id is on {path}");
        }
    }
}

#[test]
fn docker_status_stays_ready_when_authentik_is_down() {
    // Passes (and so authentik rounds) every 2 s: the round after the stop finds authentik down.
    let s = stack("statusready", &[("GATEHOUSE_RESYNC_SECS", "2")]);
    s.fake.stop();
    assert!(
        wait_for(react(), || s
            .status()
            .is_some_and(|st| st["authentik"]["reachable"] == false)),
        "authentik down never showed: {:?}",
        s.status()
    );
    let readyz = s.get("/readyz");
    assert_eq!(
        readyz.status, 200,
        "authentik down made it unready: {}",
        readyz.body
    );
    let metrics = s.get("/metrics").body;
    let (samples, _) = parse_metrics(&metrics).expect("valid metrics");
    assert_eq!(value(&samples, "gatehouse_authentik_up", &[]), Some(0.0));
    let page = s.get("/").body;
    assert!(page.contains("authentik unreachable"), "{page}");
}

/// Where the browser test leaves its screenshot (`GATEHOUSE_SCREENSHOT` overrides it).
fn screenshot_path() -> PathBuf {
    std::env::var_os("GATEHOUSE_SCREENSHOT").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png"),
        PathBuf::from,
    )
}

fn chromium(args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &profile_arg,
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run chromium ({e}): install Debian's chromium (.ci/run does)")
        })
}

#[test]
fn docker_status_page_renders_in_headless_chromium() {
    let s = stack("statusbrowser", &[]);
    assert!(
        wait_for(react(), || s.status().is_some_and(|st| st["checks"]
            .as_array()
            .is_some_and(|c| !c.is_empty()))),
        "no checks on the page"
    );
    let url = format!("http://127.0.0.1:{}/", s.port);
    let out = chromium(&["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "<h1>gatehouse</h1>",
        "Published apps",
        s.web.as_str(),
        s.secure.as_str(),
        "https://web.example.com",
        "Rejected containers",
        s.broken.as_str(),
        "label auth.port=",
        "docker.engine",
        "authentik 2026.5",
    ] {
        assert!(
            dom.contains(needle),
            "{needle:?} not in the rendered DOM:\n{dom}"
        );
    }
    let shot = screenshot_path();
    let shot_arg = format!("--screenshot={}", shot.display());
    let out = chromium(&["--window-size=900,1400", &shot_arg, &url]);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "not a screenshot: {} bytes",
        png.len()
    );
}
#[test]
fn the_parser_refuses_what_prometheus_would() {
    let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{m=\"GET\",c=\"a\\\"b\"} 3\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n";
    let (samples, _) = parse_metrics(ok).expect("valid");
    assert_eq!(
        value(&samples, "a_total", &[("m", "GET"), ("c", "a\"b")]),
        Some(3.0)
    );
    for bad in [
        "a_total 1\n",
        "# TYPE a counter\na{m=GET} 1\n",
        "# TYPE a counter\na 1 2 3\n",
        "# TYPE a counter\na one\n",
        "# TYPE a counter\na 1\na 2\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    ] {
        assert!(parse_metrics(bad).is_err(), "accepted {bad:?}");
    }
}

/// Makes docs/status-page.png: a stack with realistic names (`cargo test --test docker_status
/// -- --ignored docs_status_page_screenshot`). Containers carry the scope label and are removed
/// at the end.
#[test]
#[ignore = "writes docs/status-page.png"]
fn docs_status_page_screenshot() {
    let scope = Scope::new("docshot");
    let swag_dir = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let (swag, _) = scope.swag();
    let port = http::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env = scope.gatehouse_env(swag_dir.path());
    env.extend(
        [
            ("GATEHOUSE_LISTEN", listen.as_str()),
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_AUTHENTIK_URL", fake.url().as_str()),
            ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN),
            ("GATEHOUSE_DOMAIN", "example.com"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let net = "gatehouse-docs-media";
    common::docker::create_network(net, &[("--label", scope.scope_label.as_str())]);
    let apps: &[(&str, &[&str])] = &[
        ("jellyfin", &["auth.protect=true", "auth.port=8096"]),
        (
            "nextcloud",
            &["auth.expose=true", "auth.port=80", "auth.subdomain=cloud"],
        ),
        (
            "grafana",
            &[
                "auth.protect=true",
                "auth.port=3000",
                "auth.bypass=/api/health",
            ],
        ),
        (
            "paperless",
            &["auth.protect=true", "auth.port=eight thousand"],
        ),
    ];
    let mut names = Vec::new();
    for (name, labels) in apps {
        let mut args = vec!["create", "--name", name, "--network", net, "--label"];
        args.push(&scope.scope_label);
        for l in *labels {
            args.extend(["--label", l]);
        }
        args.push(common::docker::IMAGE);
        common::docker::docker_ok(&args);
        common::docker::docker_ok(&["start", name]);
        names.push(*name);
    }
    let gh = Gatehouse::start(&["run"], &env);
    let ok = wait_for(react(), || {
        http::get(port, "/api/status")
            .and_then(|a| serde_json::from_str::<Value>(&a.body).ok())
            .is_some_and(|s| {
                s["apps"].as_array().is_some_and(|a| a.len() == 3)
                    && s["authentik"]["reachable"] == true
                    && s["checks"].as_array().is_some_and(|c| !c.is_empty())
            })
            && on_outpost(&fake, "grafana")
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    let url = format!("http://127.0.0.1:{port}/");
    let out = chromium(&["--window-size=900,2000", &shot_arg, &url]);
    for name in names {
        scope.rm(name);
    }
    let log = gh.stop();
    let _ = Command::new("docker")
        .args(["network", "disconnect", "-f", net, &swag])
        .output();
    common::docker::docker_ok(&["network", "rm", net]);
    assert!(ok, "not settled; log:\n{log}");
    assert!(out.status.success());
}
