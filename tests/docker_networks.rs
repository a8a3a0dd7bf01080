//! Issue 3 against the real Docker engine: SWAG (a busybox stand-in) is attached to the networks
//! of the published apps, reaches them by name, and lets go in time for `docker compose down`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::docker::{docker_ok, env_with, fetch, networks_of, on, wait_for, Gatehouse, Scope};

fn state_file(cfg: &Path) -> String {
    std::fs::read_to_string(cfg.join("gatehouse/networks.json")).unwrap_or_default()
}

/// The log lines that record a network change.
fn network_changes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains(" INFO attached ")
                || l.contains(" INFO detached ")
                || l.contains(" INFO created network")
        })
        .map(str::to_owned)
        .collect()
}

fn conf_exists(cfg: &Path, sub: &str) -> bool {
    cfg.join("nginx/proxy-confs")
        .join(format!("gatehouse.{sub}.subdomain.conf"))
        .exists()
}

#[test]
fn docker_swag_joins_app_networks_and_lets_go_for_compose_down() {
    let scope = Scope::new("nets");
    let cfg = common::docker::swag_config();
    // SWAG on its own compose network, as `docker compose up` of SWAG's stack leaves it.
    let swag_net = scope.network("swag_default");
    let swag = scope.run("swag", &[], &["--network", &swag_net]);
    // A network the user attached SWAG to; gatehouse must never take it away.
    let user_net = scope.network("user");
    docker_ok(&["network", "connect", &user_net, &swag]);

    let net_a = scope.network("a");
    let net_b = scope.network("b");
    let app_a = scope.run("a", &[("auth.expose", "true")], &["--network", &net_a]);
    let app_b = scope.run("b", &[("auth.protect", "true")], &["--network", &net_b]);
    // On the user's network: reachable already, nothing to attach.
    let app_c = scope.run("c", &[("auth.expose", "true")], &["--network", &user_net]);
    // Only on the default bridge: rejected with the fix.
    let app_d = scope.run("d", &[("auth.expose", "true")], &[]);
    // Several networks, no label: rejected listing them; with the label: attached.
    let net_e1 = scope.network("e1");
    let net_e2 = scope.network("e2");
    let app_e = scope.run("e", &[("auth.expose", "true")], &["--network", &net_e1]);
    docker_ok(&["network", "connect", &net_e2, &app_e]);
    // authentik's server on its own stack's network, not published itself.
    let net_ak = scope.network("authentik_default");
    let authentik = scope.run("authentik-server", &[], &["--network", &net_ak]);

    let env = env_with(
        &scope,
        cfg.path(),
        &[
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_AUTHENTIK_CONTAINER", authentik.as_str()),
        ],
    );
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(Duration::from_secs(15), || on(&swag, &net_a)
            && on(&swag, &net_b)
            && on(&swag, &net_ak)
            && conf_exists(cfg.path(), &app_a)
            && conf_exists(cfg.path(), &app_b)),
        "SWAG was not attached to both app networks: {:?}; log:\n{}",
        networks_of(&swag),
        gh.logs()
    );
    // Names resolve from inside SWAG, over the attached networks.
    assert_eq!(
        fetch(&swag, &app_a),
        "hello-from-app",
        "log:\n{}",
        gh.logs()
    );
    assert_eq!(fetch(&swag, &app_b), "hello-from-app");
    assert_eq!(fetch(&swag, &app_c), "hello-from-app");
    assert_eq!(fetch(&swag, &authentik), "hello-from-app");
    assert!(conf_exists(cfg.path(), &app_c));
    let log = gh.logs();
    // Attachment and conf converge in one pass: attached first, conf written before that pass
    // ends (SWAG can resolve the app as soon as it loads the conf).
    let attached = log
        .find(&format!("attached {swag} to network {net_a}"))
        .expect("attach line");
    let wrote = log
        .find(&format!("wrote gatehouse.{app_a}.subdomain.conf"))
        .expect("write line");
    assert!(attached < wrote, "{log}");
    assert!(!log[attached..wrote].contains("pass done"), "{log}");
    assert!(
        log.contains(&format!(
            "container {app_d} is only on Docker's default bridge network"
        )),
        "{log}"
    );
    assert!(!conf_exists(cfg.path(), &app_d));
    assert!(
        log.contains(&format!("container {app_e} is on several networks")),
        "{log}"
    );
    assert!(!on(&swag, &net_e1) && !on(&swag, &net_e2));
    assert!(!conf_exists(cfg.path(), &app_e));
    let state = state_file(cfg.path());
    assert!(
        state.contains(&format!("\"network\": \"{net_a}\"")),
        "{state}"
    );
    assert!(
        !state.contains(&format!("\"network\": \"{user_net}\"")),
        "{state}"
    );

    // The app is recreated with the label naming one of its networks.
    scope.rm(&app_e);
    let app_e = scope.run(
        "e",
        &[("auth.expose", "true"), ("auth.network", net_e2.as_str())],
        &["--network", &net_e1],
    );
    docker_ok(&["network", "connect", &net_e2, &app_e]);
    assert!(
        wait_for(Duration::from_secs(15), || on(&swag, &net_e2)
            && conf_exists(cfg.path(), &app_e)),
        "label auth.network not followed; log:\n{}",
        gh.logs()
    );
    assert!(!on(&swag, &net_e1));

    // Restart gatehouse; while it is down, app a stops. The new one must remember that it
    // attached SWAG to a's network (release it: no leak), keep b's (no drop), and leave the
    // user's network alone.
    gh.stop();
    docker_ok(&["stop", "-t", "1", &app_a]);
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(Duration::from_secs(15), || !on(&swag, &net_a)),
        "SWAG still on a's network after restart; log:\n{}",
        gh.logs()
    );
    docker_ok(&["rm", &app_a]);
    docker_ok(&["network", "rm", &net_a]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(on(&swag, &net_b) && on(&swag, &net_e2) && on(&swag, &user_net));
    let changes = network_changes(&gh.logs());
    assert_eq!(
        changes.len(),
        1,
        "after the restart only a's network should change: {changes:#?}"
    );
    assert_eq!(fetch(&swag, &app_b), "hello-from-app");

    // `docker compose down` of b's stack, step by step and without retries: stop, remove the
    // container, remove the network. The network removal must succeed. `-t 0`: killed at once,
    // like an app that exits as soon as it gets SIGTERM (the least time to react).
    docker_ok(&["stop", "-t", "0", &app_b]);
    docker_ok(&["rm", &app_b]);
    let out = Command::new("docker")
        .args(["network", "rm", &net_b])
        .output()
        .expect("docker network rm");
    assert!(
        out.status.success(),
        "network rm failed right after the app was removed: {}; log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gh.logs()
    );

    // c leaves: the user's network stays on SWAG, and gatehouse never touched it.
    scope.rm(&app_c);
    std::thread::sleep(Duration::from_millis(800));
    assert!(on(&swag, &user_net), "the user's network was taken away");
    let log = gh.stop();
    assert!(
        !network_changes(&log).iter().any(|l| l.contains(&user_net)),
        "{log}"
    );
    let state = state_file(cfg.path());
    let recorded = |n: &str| state.contains(&format!("\"network\": \"{n}\""));
    assert!(!recorded(&net_a) && !recorded(&net_b), "{state}");
    assert!(recorded(&net_ak) && recorded(&net_e2), "{state}");
}

#[test]
fn docker_shared_mode_joins_apps_to_one_network() {
    let scope = Scope::new("shared");
    let cfg = common::docker::swag_config();
    let swag_net = scope.network("swag_default");
    let swag = scope.run("swag", &[], &["--network", &swag_net]);
    let shared = scope.name("shared");
    let net_a = scope.network("a");
    let app_a = scope.run("a", &[("auth.expose", "true")], &["--network", &net_a]);
    // Only on the default bridge: fine in shared mode, it joins the shared network.
    let app_b = scope.run("b", &[("auth.expose", "true")], &[]);
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
        wait_for(Duration::from_secs(15), || {
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
    let app_c = scope.run("c", &[("auth.expose", "true")], &["--network", &shared]);
    assert!(wait_for(Duration::from_secs(10), || conf_exists(
        cfg.path(),
        &app_c
    )));

    // Restart: nothing changes.
    gh.stop();
    let gh = Gatehouse::start(&["run"], &env);
    assert!(
        wait_for(Duration::from_secs(10), || gh.logs().contains("pass done")),
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
        wait_for(Duration::from_secs(10), || !on(&app_b, &shared)),
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
    fn start(deny: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\nfrontend docker\n  bind {} mode 600\n  http-request deny {deny}\n  default_backend engine\nbackend engine\n  server engine /var/run/docker.sock\n",
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
            wait_for(Duration::from_secs(5), || socket.exists()),
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
    let swag_net = scope.network("swag_default");
    let swag = scope.run("swag", &[], &["--network", &swag_net]);
    let net_a = scope.network("a");
    let app_a = scope.run("a", &[("auth.expose", "true")], &["--network", &net_a]);
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
        wait_for(Duration::from_secs(15), || conf_exists(cfg.path(), &app_a)),
        "conf not written behind the proxy; log:\n{}",
        gh.logs()
    );
    // Another app later: its conf is still written, and the message is not repeated.
    let net_b = scope.network("b");
    let app_b = scope.run("b", &[("auth.expose", "true")], &["--network", &net_b]);
    assert!(
        wait_for(Duration::from_secs(15), || conf_exists(cfg.path(), &app_b)),
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
    // The engine answers 500 to every POST for the next few seconds, then works again.
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 4;
    let proxy = Proxy::start(&format!(
        "deny_status 500 if {{ method POST }} {{ date() lt {until} }}"
    ));
    let swag_net = scope.network("swag_default");
    let swag = scope.run("swag", &[], &["--network", &swag_net]);
    let net_a = scope.network("a");
    let app_a = scope.run("a", &[("auth.expose", "true")], &["--network", &net_a]);
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
        wait_for(Duration::from_secs(5), || gh
            .logs()
            .contains("retrying with backoff")),
        "no failed attach; log:\n{}",
        gh.logs()
    );
    assert!(!on(&swag, &net_a));
    assert!(
        wait_for(Duration::from_secs(20), || on(&swag, &net_a)),
        "the failed attach was not retried; log:\n{}",
        gh.logs()
    );
    assert_eq!(fetch(&swag, &app_a), "hello-from-app");
    let log = gh.stop();
    assert!(!log.contains("network management is off"), "{log}");
}
