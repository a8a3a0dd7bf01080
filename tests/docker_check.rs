//! `gatehouse check` against the real Docker engine and the schema-checked fake authentik: a
//! good setup passes, broken ones (SWAG without autoreload, an app on a network SWAG cannot
//! reach, trusted proxy networks without SWAG on 2026.8, an expiring token, authentik down) fail
//! with one line each and a fix. Needs Docker Engine (fails loudly without it).

mod common;

use std::path::Path;

use common::docker::{current_gid, current_uid, gatehouse_once, Scope};
use common::fake_authentik::{self, FakeAuthentik};

/// gatehouse's environment for a check of this scope's SWAG and authentik stand-ins.
fn env(scope: &Scope, cfg: &Path, fake: &FakeAuthentik, ak: &str) -> Vec<(String, String)> {
    let mut env = scope.gatehouse_env(cfg);
    for (k, v) in [
        ("GATEHOUSE_SWAG_CONTAINER", scope.name("swag")),
        ("GATEHOUSE_AUTHENTIK_CONTAINER", ak.to_owned()),
        ("GATEHOUSE_AUTHENTIK_URL", fake.url()),
        (
            "GATEHOUSE_AUTHENTIK_TOKEN",
            fake_authentik::TOKEN.to_owned(),
        ),
        ("GATEHOUSE_DOMAIN", "example.com".to_owned()),
    ] {
        env.push((k.into(), v));
    }
    env
}

/// A SWAG config folder whose authentik-server.conf sends the outpost path to `ak`.
fn swag_config(ak: &str) -> tempfile::TempDir {
    let cfg = common::docker::swag_config();
    let conf = std::fs::read_to_string(
        common::docker::reference_swag().join("config/nginx/authentik-server.conf"),
    )
    .expect("reference authentik-server.conf")
    .replace(
        "set $upstream_authentik authentik-server;",
        &format!("set $upstream_authentik {ak};"),
    );
    std::fs::write(cfg.path().join("nginx/authentik-server.conf"), conf).expect("write conf");
    cfg
}

/// Runs the check: exit code and stdout.
fn check(env: &[(String, String)]) -> (i32, String) {
    let out = gatehouse_once(&["check"], env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(fake_authentik::TOKEN) && !stderr.contains(fake_authentik::TOKEN),
        "the token leaked:\n{stdout}\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout)
}

/// The line of check `name` (exactly one).
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l[5..].starts_with(&format!("{name}: ")))
        .collect();
    assert_eq!(lines.len(), 1, "one line for {name} in:\n{out}");
    lines[0]
}

fn assert_level(out: &str, name: &str, level: &str) {
    let l = line(out, name);
    assert!(l.starts_with(level), "{name} should be {level}:\n{out}");
    if level != "ok" {
        assert!(l.contains("; fix: "), "{name} has no fix: {l}");
    }
}

#[test]
fn docker_check_a_good_setup_passes_with_one_line_per_check() {
    let scope = Scope::new("check-good");
    let fake = FakeAuthentik::start();
    let net = scope.network("stack");
    let (uid, gid) = (current_uid().to_string(), current_gid().to_string());
    scope
        .container("swag")
        .network(&net)
        .env("SWAG_AUTORELOAD", "true")
        .env("PUID", &uid)
        .env("PGID", &gid)
        .start();
    let ak = scope.container("authentik-server").network(&net).start();
    scope
        .container("app")
        .network(&net)
        .label("auth.protect", "true")
        .start();
    let cfg = swag_config(&ak);
    let (code, out) = check(&env(&scope, cfg.path(), &fake, &ak));
    for name in [
        "docker.engine",
        "swag.config",
        "swag.container",
        "swag.autoreload",
        "swag.user",
        "swag.upstreams",
        "authentik.api",
        "authentik.token",
        "authentik.outpost",
        "authentik.trusted_proxies",
        "authentik.base_url",
        "swag.authentik_location",
    ] {
        assert_level(&out, name, "ok");
    }
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 12, "{out}");
    assert!(line(&out, "authentik.api").contains("2026.5.6"), "{out}");
    assert!(
        line(&out, "swag.authentik_location").contains("204"),
        "{out}"
    );
    // Nothing left behind by the writability probe.
    let left: Vec<_> = std::fs::read_dir(cfg.path().join("nginx/proxy-confs"))
        .expect("proxy-confs")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gatehouse"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // The check reads only: authentik got no write.
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
}

#[test]
fn docker_check_a_broken_setup_fails_with_a_fix_on_each_line() {
    let scope = Scope::new("check-broken");
    let fake = FakeAuthentik::start_version("2026.8.1");
    fake.expire_token_at("2099-01-01T00:00:00Z");
    let net = scope.network("stack");
    let lonely = scope.network("lonely");
    // SWAG without SWAG_AUTORELOAD, and without PUID/PGID (911:911); secrets in both
    // environments that the check must never show.
    scope
        .container("swag")
        .network(&net)
        .env("CF_DNS_API_TOKEN", "dns-secret-4711")
        .start();
    let ak = scope
        .container("authentik-server")
        .network(&net)
        .env("AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS", "127.0.0.0/8")
        .env("AUTHENTIK_SECRET_KEY", "ak-secret-0815")
        .start();
    // An app on a network SWAG is not on.
    let app = scope
        .container("app")
        .network(&lonely)
        .label("auth.protect", "true")
        .start();
    let cfg = swag_config(&ak);
    let env = env(&scope, cfg.path(), &fake, &ak);
    let (code, out) = check(&env);
    assert_eq!(code, 1, "{out}");
    assert!(
        !out.contains("dns-secret-4711") && !out.contains("ak-secret-0815"),
        "{out}"
    );
    assert_level(&out, "swag.autoreload", "FAIL");
    assert_level(&out, "swag.user", "WARN");
    assert_level(&out, "swag.upstreams", "FAIL");
    assert!(line(&out, "swag.upstreams").contains(&app), "{out}");
    assert_level(&out, "authentik.trusted_proxies", "FAIL");
    assert!(
        line(&out, "authentik.trusted_proxies").contains("127.0.0.0/8"),
        "{out}"
    );
    assert_level(&out, "authentik.token", "WARN");
    assert!(
        line(&out, "authentik.token").contains("2099-01-01"),
        "{out}"
    );
    assert_level(&out, "authentik.base_url", "WARN");
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );

    // authentik goes down: its checks fail, the others are still made.
    fake.stop();
    let (code, out) = check(&env);
    assert_eq!(code, 1, "{out}");
    assert_level(&out, "authentik.api", "FAIL");
    assert_level(&out, "swag.authentik_location", "FAIL");
    assert_level(&out, "docker.engine", "ok");
    assert_level(&out, "swag.autoreload", "FAIL");
}

#[test]
fn docker_check_without_an_engine_fails_the_engine_check_and_still_checks_the_folder() {
    let cfg = common::docker::swag_config();
    let env = vec![
        (
            "GATEHOUSE_SWAG_CONFIG".to_owned(),
            cfg.path().display().to_string(),
        ),
        (
            "DOCKER_HOST".to_owned(),
            "unix:///nonexistent/docker.sock".to_owned(),
        ),
    ];
    let (code, out) = check(&env);
    assert_eq!(code, 1, "{out}");
    assert_level(&out, "docker.engine", "FAIL");
    assert!(
        line(&out, "docker.engine").contains("/nonexistent/docker.sock"),
        "{out}"
    );
    assert_level(&out, "swag.config", "ok");
    assert_level(&out, "authentik", "ok");
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn docker_check_with_a_bad_setting_exits_64_before_checking_anything() {
    let out = gatehouse_once(
        &["check"],
        &[("GATEHOUSE_DEBOUNCE_MS".into(), "soon".into())],
    );
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_DEBOUNCE_MS"));
}
