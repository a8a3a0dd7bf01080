//! Issue 3 against the real Docker engine: shared mode, a socket proxy that refuses POST, and a
//! failed attach retried. The per-app attach and the compose-down races are in
//! `docker_compose_down.rs`, which runs alone.

mod common;

use std::process::Command;
use std::time::Duration;

use common::docker::{
    after, conf_exists, docker_ok, env_with, fetch, network_changes, on, react, wait_for,
    Gatehouse, Scope,
};

#[test]
fn docker_shared_mode_joins_apps_to_one_network() {
    let scope = Scope::new("shared");
    let cfg = common::docker::swag_config();
    let (swag, _) = scope.swag();
    let shared = scope.name("shared");
    let net_a = scope.network("a");
    let app_a = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    // Only on the default bridge: fine in shared mode, it joins the shared network.
    let app_b = scope.container("b").label("auth.expose", "true").start();
    // Joined the shared network itself (compose `external: true`): gatehouse leaves it be.
    let env = env_with(
        &scope,
        cfg.path(),
        &[
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_NETWORK_MODE", "shared"),
            ("GATEHOUSE_SHARED_NETWORK", shared.as_str()),
        ],
    );
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(react(), || {
            on(&swag, &shared) && on(&app_a, &shared) && on(&app_b, &shared)
        }),
        "shared network not joined; log:\n{}",
        gh.logs()
    );
    assert!(
        !on(&swag, &net_a),
        "shared mode must not attach SWAG to app networks"
    );
    assert_eq!(
        fetch(&swag, &app_a),
        "hello-from-app",
        "log:\n{}",
        gh.logs()
    );
    assert_eq!(fetch(&swag, &app_b), "hello-from-app");
    let created = docker_ok(&["network", "inspect", "-f", "{{json .Labels}}", &shared]);
    assert!(created.contains("gatehouse.managed"), "{created}");

    // A user-made member of the shared network.
    let app_c = scope
        .container("c")
        .label("auth.expose", "true")
        .network(&shared)
        .start();
    assert!(wait_for(react(), || conf_exists(cfg.path(), &app_c)));

    // Restart: nothing changes.
    gh.stop();
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(react(), || gh.logs().contains("pass done")),
        "{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(network_changes(&gh.logs()), Vec::<String>::new());

    // b stops: gatehouse takes the stopped container off the shared network it put it on; c
    // stops too, but it joined by itself and keeps its network.
    docker_ok(&["stop", "-t", "1", &app_b]);
    docker_ok(&["stop", "-t", "1", &app_c]);
    assert!(
        wait_for(react(), || !on(&app_b, &shared)),
        "b still on the shared network; log:\n{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(on(&app_c, &shared), "c's own network was taken away");
    assert!(on(&swag, &shared) && on(&app_a, &shared));
    let log = gh.stop();
    assert!(
        !network_changes(&log).iter().any(|l| l.contains(&app_c)),
        "{log}"
    );
}

/// HAProxy in front of the engine with one `http-request deny` rule (e.g. every POST refused
/// with 403, as docker-socket-proxy does with `POST=0`); stopped when dropped.
struct Proxy {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Sends one command to haproxy's admin socket and returns its answer.
    fn command(&self, command: &str) -> String {
        use std::io::{Read as _, Write as _};
        let admin = self._dir.path().join("admin.sock");
        let mut conn = std::os::unix::net::UnixStream::connect(&admin)
            .unwrap_or_else(|e| panic!("haproxy's admin socket {}: {e}", admin.display()));
        conn.write_all(format!("{command}\n").as_bytes())
            .expect("write to haproxy's admin socket");
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        answer
    }

    fn start(deny: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 64\n  stats socket {}/admin.sock level admin\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\nfrontend docker\n  bind {} mode 600\n  http-request deny {deny}\n  default_backend engine\nbackend engine\n  server engine /var/run/docker.sock\n",
                dir.path().display(),
                socket.display()
            ),
        )
        .expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run haproxy ({e}): this test needs it (apt-get install haproxy)")
            });
        assert!(
            wait_for(react(), || socket.exists()),
            "haproxy did not open its socket"
        );
        Self {
            child,
            socket,
            _dir: dir,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_socket_proxy_forbidding_post_turns_network_management_off_once() {
    let scope = Scope::new("ro");
    let cfg = common::docker::swag_config();
    // As linuxserver's socket-proxy with POST=0 and its default INFO=0.
    let proxy =
        Proxy::start("deny_status 403 if { method POST } || { path_reg ^(/v[0-9.]+)?/info$ }");
    let (swag, _) = scope.swag();
    let net_a = scope.network("a");
    let app_a = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    let mut env = env_with(
        &scope,
        cfg.path(),
        &[("GATEHOUSE_SWAG_CONTAINER", swag.as_str())],
    );
    env.push((
        "DOCKER_HOST".into(),
        format!("unix://{}", proxy.socket.display()),
    ));
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(react(), || conf_exists(cfg.path(), &app_a)),
        "conf not written behind the proxy; log:\n{}",
        gh.logs()
    );
    // Another app later: its conf is still written, and the message is not repeated.
    let net_b = scope.network("b");
    let app_b = scope
        .container("b")
        .label("auth.expose", "true")
        .network(&net_b)
        .start();
    assert!(
        wait_for(react(), || conf_exists(cfg.path(), &app_b)),
        "second conf not written; log:\n{}",
        gh.logs()
    );
    let log = gh.stop();
    assert_eq!(log.matches("network management is off").count(), 1, "{log}");
    // `/info` refused: events still followed (app b above), replayed by this host's clock.
    assert!(log.contains("did not tell its time"), "{log}");
    assert!(!on(&swag, &net_a) && !on(&swag, &net_b));
}

#[test]
fn docker_a_failed_attach_is_retried() {
    let scope = Scope::new("retry");
    let cfg = common::docker::swag_config();
    // The engine answers 500 to every POST while failing.acl holds an entry: until the test has
    // seen an attach fail, then it works (the test switches, not a clock).
    let dir = tempfile::tempdir().expect("tempdir");
    let failing = dir.path().join("failing.acl");
    std::fs::write(&failing, "yes\n").expect("write failing.acl");
    let proxy = Proxy::start(&format!(
        "deny_status 500 if {{ method POST }} {{ str(yes) -m str -f {} }}",
        failing.display()
    ));
    let (swag, _) = scope.swag();
    let net_a = scope.network("a");
    let app_a = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    let mut env = env_with(
        &scope,
        cfg.path(),
        &[
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            // No periodic resync to hide a missing retry.
            ("GATEHOUSE_RESYNC_SECS", "3600"),
        ],
    );
    env.push((
        "DOCKER_HOST".into(),
        format!("unix://{}", proxy.socket.display()),
    ));
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(react(), || gh.logs().contains("retrying with backoff")),
        "no failed attach; log:\n{}",
        gh.logs()
    );
    assert!(!on(&swag, &net_a));
    let cleared = proxy.command(&format!("clear acl {}", failing.display()));
    assert!(
        !proxy
            .command(&format!("show acl {}", failing.display()))
            .contains("yes"),
        "haproxy still fails POSTs: {cleared}"
    );
    // The next retry comes within the network step's backoff ceiling (30 s).
    assert!(
        wait_for(after(Duration::from_secs(30)), || on(&swag, &net_a)),
        "the failed attach was not retried; log:\n{}",
        gh.logs()
    );
    assert_eq!(fetch(&swag, &app_a), "hello-from-app");
    let log = gh.stop();
    assert!(!log.contains("network management is off"), "{log}");
}

/// A rejected app keeps its last good conf and the network SWAG reaches it by; one that never
/// had a conf gets no network either.
#[test]
fn docker_a_rejected_app_keeps_its_network_only_if_it_had_a_conf() {
    let scope = Scope::new("rejnet");
    let cfg = common::docker::swag_config();
    let (swag, _) = scope.swag();
    let net_new = scope.network("new");
    let never = scope
        .container("never")
        .labels(&[("auth.expose", "true"), ("auth.port", "80;evil")])
        .network(&net_new)
        .start();
    let net_kept = scope.network("kept");
    let kept = scope
        .container("kept")
        .label("auth.expose", "true")
        .network(&net_kept)
        .start();
    let env = env_with(
        &scope,
        cfg.path(),
        &[("GATEHOUSE_SWAG_CONTAINER", swag.as_str())],
    );
    let first = common::docker::gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(
        log.contains(&format!("rejected container {never}")) || log.contains(&never),
        "{log}"
    );
    assert!(on(&swag, &net_kept), "{log}");
    assert!(
        !on(&swag, &net_new),
        "SWAG joined the network of an app that has no conf: {log}"
    );
    assert!(!conf_exists(cfg.path(), &never));
    // kept's labels go bad: its last good conf stays, and so does SWAG on its network.
    scope.rm(&kept);
    scope
        .container("kept")
        .labels(&[("auth.expose", "true"), ("auth.port", "80;evil")])
        .network(&net_kept)
        .start();
    let second = common::docker::gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(conf_exists(cfg.path(), &kept), "{log}");
    assert!(on(&swag, &net_kept), "{log}");
    assert!(!on(&swag, &net_new), "{log}");
}

/// SWAG and authentik's server are not apps: `GATEHOUSE_SCOPE_LABEL` (which picks the apps) does
/// not hide them (issue 9, item 6). Both run in another scope, without this one's label.
#[test]
fn docker_swag_and_authentik_outside_the_scope_are_still_joined() {
    let scope = Scope::new("scoped");
    // Dropped first: its containers go before `scope` removes the networks SWAG joined.
    let elsewhere = Scope::new("unscoped");
    let cfg = common::docker::swag_config();
    let (swag, _) = elsewhere.swag();
    let ak_net = elsewhere.network("authentik");
    let authentik = elsewhere.container("authentik").network(&ak_net).start();
    let net_a = scope.network("a");
    let app_a = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    let env = env_with(
        &scope,
        cfg.path(),
        &[
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_AUTHENTIK_CONTAINER", authentik.as_str()),
        ],
    );
    let out = common::docker::gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        on(&swag, &net_a),
        "SWAG not attached to the app's network:\n{log}"
    );
    assert!(
        on(&swag, &ak_net),
        "SWAG not attached to authentik's network:\n{log}"
    );
    assert_eq!(fetch(&swag, &app_a), "hello-from-app");
}
