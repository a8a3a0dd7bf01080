//! Issue 2 against the real Docker engine: labelled containers become proxy-confs, live.

mod common;

use std::path::Path;
use std::time::Duration;

use common::docker::{after, env_with, gatehouse_once, react, wait_for, Gatehouse, Scope};

fn conf(dir: &Path, sub: &str) -> std::path::PathBuf {
    dir.join("nginx/proxy-confs")
        .join(format!("gatehouse.{sub}.subdomain.conf"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every `*.subdomain.conf` file in proxy-confs with its modification time.
fn mtimes(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("nginx/proxy-confs"))
        .expect("proxy-confs")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".conf"))
        .map(|e| {
            let m = e.metadata().expect("metadata").modified().expect("mtime");
            (e.file_name().to_string_lossy().into_owned(), m)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn docker_labels_become_confs_live_and_go_after_grace() {
    let scope = Scope::new("live");
    let cfg = common::docker::swag_config();
    let sub = scope.name("web");
    let gh = Gatehouse::start(
        &["run"],
        &env_with(&scope, cfg.path(), &[("GATEHOUSE_REMOVE_GRACE_SECS", "1")]),
    );
    let app = scope
        .container("web")
        .labels(&[("auth.protect", "true"), ("auth.bypass", "/api")])
        .start();
    let path = conf(cfg.path(), &sub);
    assert!(
        wait_for(react(), || path.exists()),
        "conf did not appear; log:\n{}",
        gh.logs()
    );
    let text = read(&path);
    assert!(text.starts_with(gatehouse::render::MARKER), "{text}");
    assert!(
        text.contains("    include /config/nginx/authentik-server.conf;"),
        "{text}"
    );
    assert!(
        text.contains(&format!("set $upstream_app {app};")),
        "{text}"
    );
    assert!(text.contains("set $upstream_port 8080;"), "{text}");
    assert!(text.contains("location ~ ^/api(/|$) {"), "{text}");

    // Recreated with other labels: the same file changes in place (no grace wait for a rename of
    // content), now exposed on another port.
    scope.rm(&app);
    scope
        .container("web")
        .labels(&[("auth.expose", "true"), ("auth.port", "9090")])
        .start();
    assert!(
        wait_for(react(), || {
            let t = read(&path);
            t.contains("set $upstream_port 9090;") && !t.contains("authentik-server.conf;\n")
        }),
        "conf was not updated; log:\n{}",
        gh.logs()
    );
    assert!(read(&path).contains("access=exposed"));

    // Removed: the conf goes after the grace period.
    scope.rm(&app);
    assert!(
        wait_for(after(Duration::from_secs(1)), || !path.exists()),
        "conf was not removed; log:\n{}",
        gh.logs()
    );
    let logs = gh.stop();
    assert!(
        logs.contains(&format!(
            "wrote gatehouse.{sub}.subdomain.conf for container {app} (protected by authentik)"
        )),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "removed gatehouse.{sub}.subdomain.conf: container {app} is gone"
        )),
        "{logs}"
    );
}

#[test]
fn docker_grace_period_survives_a_recreate_without_flapping() {
    let scope = Scope::new("grace");
    let cfg = common::docker::swag_config();
    let sub = scope.name("app");
    // Longer than the whole test may take (it never waits for the grace to end): the recreate
    // below must come within it on a slow machine too.
    let grace = (react() * 2).as_secs().to_string();
    let gh = Gatehouse::start(
        &["run"],
        &env_with(
            &scope,
            cfg.path(),
            &[("GATEHOUSE_REMOVE_GRACE_SECS", grace.as_str())],
        ),
    );
    let app = scope.container("app").label("auth.protect", "true").start();
    let path = conf(cfg.path(), &sub);
    assert!(wait_for(react(), || path.exists()), "{}", gh.logs());
    scope.rm(&app);
    // Within the grace period the conf stays; gatehouse says why.
    assert!(
        wait_for(react(), || gh.logs().contains("removing in")),
        "{}",
        gh.logs()
    );
    assert!(path.exists(), "conf removed before the grace period ended");
    scope.container("app").label("auth.protect", "true").start();
    std::thread::sleep(Duration::from_millis(500));
    assert!(path.exists());
    let logs = gh.stop();
    assert!(!logs.contains("removed gatehouse."), "{logs}");
}

#[test]
fn docker_restart_with_nothing_changed_writes_no_file() {
    let scope = Scope::new("idem");
    let cfg = common::docker::swag_config();
    scope.container("a").label("auth.protect", "true").start();
    scope
        .container("b")
        .labels(&[
            ("auth.expose", "true"),
            (
                "auth.subdomain",
                &format!("{}-b,{}-bee", scope.prefix, scope.prefix),
            ),
        ])
        .start();
    scope
        .container("c")
        .labels(&[
            ("swag", "enable"),
            ("swag_auth", "authentik"),
            ("swag_port", "8080"),
        ])
        .start();
    let env = scope.gatehouse_env(cfg.path());
    let first = gatehouse_once(&["run", "--once"], &env);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = mtimes(cfg.path());
    let written: Vec<_> = before
        .iter()
        .filter(|(n, _)| n.starts_with("gatehouse."))
        .collect();
    assert_eq!(written.len(), 3, "{before:?}");
    std::thread::sleep(Duration::from_millis(1100));
    let second = gatehouse_once(&["run", "--once"], &env);
    assert!(second.status.success());
    assert_eq!(
        mtimes(cfg.path()),
        before,
        "a pass over an unchanged world touched files"
    );
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(!log.contains("wrote "), "{log}");
    // The watch loop's first pass also writes nothing.
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(react(), || gh.logs().contains("pass done")),
        "{}",
        gh.logs()
    );
    let logs = gh.stop();
    assert_eq!(mtimes(cfg.path()), before, "{logs}");
}

#[test]
fn docker_rejected_labels_skip_that_app_only_and_once_exits_non_zero() {
    let scope = Scope::new("reject");
    let cfg = common::docker::swag_config();
    scope
        .container("good")
        .label("auth.protect", "true")
        .start();
    let bad = scope
        .container("bad")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "evil;}")])
        .start();
    let out = gatehouse_once(&["run", "--once"], &scope.gatehouse_env(cfg.path()));
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!(
            "rejected container {bad}: label auth.subdomain=\"evil;}}\""
        )),
        "{log}"
    );
    assert!(conf(cfg.path(), &scope.name("good")).exists());
    let files = mtimes(cfg.path());
    assert_eq!(
        files
            .iter()
            .filter(|(n, _)| n.starts_with("gatehouse."))
            .count(),
        1,
        "{files:?}"
    );
}

#[test]
fn docker_hand_written_confs_are_never_touched() {
    let scope = Scope::new("hands");
    let cfg = common::docker::swag_config();
    let sub = scope.name("mine");
    let dir = cfg.path().join("nginx/proxy-confs");
    // The user's own conf for the same name, and a file under gatehouse's name without the marker.
    let theirs = dir.join("mine.subdomain.conf");
    std::fs::write(
        &theirs,
        format!("server {{\n    listen 443 ssl;\n    server_name {sub}.*;\n}}\n"),
    )
    .unwrap();
    let squatter = dir.join(format!("gatehouse.{}.subdomain.conf", scope.name("other")));
    std::fs::write(&squatter, "# written by hand\n").unwrap();
    scope
        .container("mine")
        .label("auth.protect", "true")
        .start();
    scope
        .container("other")
        .label("auth.protect", "true")
        .start();
    let out = gatehouse_once(&["run", "--once"], &scope.gatehouse_env(cfg.path()));
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("which gatehouse does not own; leaving it alone"),
        "{log}"
    );
    assert!(
        log.contains("does not carry gatehouse's marker; leaving it alone"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(&squatter).unwrap(),
        "# written by hand\n"
    );
    assert!(std::fs::read_to_string(&theirs).unwrap().contains(&sub));
    assert!(!conf(cfg.path(), &sub).exists());
}

#[test]
fn docker_render_is_a_dry_run() {
    let scope = Scope::new("dry");
    let cfg = common::docker::swag_config();
    scope.container("x").label("auth.protect", "true").start();
    let out = gatehouse_once(&["render"], &scope.gatehouse_env(cfg.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "# would write gatehouse.{}.subdomain.conf",
            scope.name("x")
        )),
        "{stdout}"
    );
    assert!(stdout.contains("include /config/nginx/authentik-location.conf;"));
    assert!(
        !conf(cfg.path(), &scope.name("x")).exists(),
        "render wrote a file"
    );
}
