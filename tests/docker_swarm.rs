//! Issue 14 on a real Swarm: a second Docker engine started by the test (its own socket, data
//! root and bridge; see tests/common/swarm.rs), switched into swarm mode, with the busybox test
//! image loaded into it. gatehouse runs as a child process against it; SWAG is a standalone
//! busybox container on that engine; authentik is the schema-checked fake.
//!
//! One test adds a worker node: a third engine in a network namespace of its own, joined to the
//! swarm; the service's task runs there, gatehouse watches the manager.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::docker::{after, react, swag_config, wait_for, Gatehouse, IMAGE};
use common::fake_authentik::{self, FakeAuthentik};
use common::swarm::Swarm;

fn conf(cfg: &Path, sub: &str) -> std::path::PathBuf {
    cfg.join("nginx/proxy-confs")
        .join(format!("gatehouse.{sub}.subdomain.conf"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn env(swarm: &Swarm, cfg: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("DOCKER_HOST".into(), swarm.host()),
        ("GATEHOUSE_SWAG_CONFIG".into(), cfg.display().to_string()),
        ("GATEHOUSE_SWAG_CONTAINER".into(), "swag".into()),
        (
            "GATEHOUSE_HEALTH_FILE".into(),
            cfg.join("health.json").display().to_string(),
        ),
        ("PUID".into(), common::docker::current_uid().to_string()),
        ("PGID".into(), common::docker::current_gid().to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    env
}

/// `docker service create` with the test image, detached, never pulled.
fn service(swarm: &Swarm, name: &str, args: &[&str]) {
    let mut all = vec![
        "service",
        "create",
        "-d",
        "--no-resolve-image",
        "--name",
        name,
    ];
    all.extend_from_slice(args);
    all.push(IMAGE);
    swarm.ok(&all);
}

fn on_network(swarm: &Swarm, container: &str, network: &str) -> bool {
    swarm
        .ok(&[
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
            container,
        ])
        .split_whitespace()
        .any(|n| n == network)
}

fn provider(fake: &FakeAuthentik, slug: &str) -> bool {
    let name = format!("gatehouse:{slug}");
    fake.providers().iter().any(|p| p["name"] == name.as_str())
}

#[test]
fn docker_swarm_service_is_published_reached_scaled_relabelled_and_removed() {
    let swarm = Swarm::start();
    let cfg = swag_config();
    let fake = FakeAuthentik::start();
    swarm.ok(&[
        "network",
        "create",
        "--driver",
        "overlay",
        "--attachable",
        "apps",
    ]);
    // SWAG's stand-in: a standalone container on a bridge network of its own.
    swarm.bridge_network("swagnet");
    swarm.ok(&["run", "-d", "--name", "swag", "--network", "swagnet", IMAGE]);
    // Long enough that the test's own (possibly slow) `docker service ps` sees the scale to 0
    // well before gatehouse's grace period ends: the "kept" check below races it.
    let grace = Duration::from_secs(15);
    let grace_secs = grace.as_secs().to_string();
    let gh = Gatehouse::start(
        &["run"],
        &env(
            &swarm,
            cfg.path(),
            &[
                ("GATEHOUSE_REMOVE_GRACE_SECS", grace_secs.as_str()),
                ("GATEHOUSE_RESYNC_SECS", "2"),
                ("GATEHOUSE_AUTHENTIK_URL", &fake.url()),
                ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN),
                ("GATEHOUSE_DOMAIN", "example.com"),
            ],
        ),
    );
    service(
        &swarm,
        "web",
        &[
            "--network",
            "apps",
            "--endpoint-mode",
            "dnsrr",
            "--label",
            "auth.protect=true",
        ],
    );
    // The conf, protected, pointing at the service's name and at the port its image exposes;
    // the authentik objects on the fake.
    let web = conf(cfg.path(), "web");
    assert!(
        wait_for(react(), || web.exists()),
        "no conf for the service; log:\n{}",
        gh.logs()
    );
    let text = read(&web);
    assert!(text.contains("set $upstream_app web;"), "{text}");
    assert!(text.contains("set $upstream_port 8080;"), "{text}");
    assert!(
        text.contains("    include /config/nginx/authentik-server.conf;"),
        "{text}"
    );
    assert!(
        wait_for(react(), || provider(&fake, "web")),
        "no provider on the fake; log:\n{}",
        gh.logs()
    );
    assert!(fake.schema_rejections().is_empty());

    // SWAG was attached to the service's overlay network and reaches the service by name.
    assert!(
        wait_for(react(), || on_network(&swarm, "swag", "apps")),
        "SWAG not attached to the overlay; log:\n{}",
        gh.logs()
    );
    let mut answer = String::new();
    let reached = wait_for(react(), || {
        answer = swarm.nc("swag", "web", 8080, "GET / HTTP/1.0\\r\\n\\r\\n");
        answer.contains("hello-from-app")
    });
    if !reached {
        let dns = swarm.docker(&["exec", "swag", "nslookup", "web"]);
        let tasks = swarm.docker(&["service", "ps", "--no-trunc", "web"]);
        let swag_nets = swarm.docker(&[
            "inspect",
            "-f",
            "{{json .NetworkSettings.Networks}}",
            "swag",
        ]);
        panic!(
            "SWAG could not reach web over the overlay: {answer:?}\nnslookup: {}{}\ntasks: {}\nswag: {}",
            String::from_utf8_lossy(&dns.stdout),
            String::from_utf8_lossy(&dns.stderr),
            String::from_utf8_lossy(&tasks.stdout),
            String::from_utf8_lossy(&swag_nets.stdout)
        );
    }

    // `tasks.<service>` (what auth.upstream=tasks points SWAG at) answers too.
    let tasks = swarm.nc("swag", "tasks.web", 8080, "GET / HTTP/1.0\\r\\n\\r\\n");
    assert!(tasks.contains("hello-from-app"), "tasks.web: {tasks:?}");

    // 1 -> 3: the conf stays as it is.
    let before = std::fs::metadata(&web).and_then(|m| m.modified()).ok();
    swarm.ok(&["service", "scale", "-d", "web=3"]);
    assert!(wait_for(react(), || swarm.running_tasks("web") == 3));
    std::thread::sleep(Duration::from_secs(3)); // a resync or two
    assert_eq!(
        std::fs::metadata(&web).and_then(|m| m.modified()).ok(),
        before,
        "scaling rewrote the conf; log:\n{}",
        gh.logs()
    );

    // A label update of the service changes the conf.
    swarm.ok(&[
        "service",
        "update",
        "-d",
        "--label-add",
        "auth.port=8081",
        "web",
    ]);
    assert!(
        wait_for(react(), || read(&web).contains("set $upstream_port 8081;")),
        "the label update did not reach the conf; log:\n{}",
        gh.logs()
    );

    // 3 -> 0: kept for the grace period, then removed (conf and authentik objects).
    swarm.ok(&["service", "scale", "-d", "web=0"]);
    assert!(wait_for(react(), || swarm.running_tasks("web") == 0));
    assert!(web.exists(), "removed at once; log:\n{}", gh.logs());
    assert!(
        wait_for(after(grace), || !web.exists()),
        "not removed after the grace period; log:\n{}",
        gh.logs()
    );
    assert!(
        wait_for(react(), || !provider(&fake, "web")),
        "provider left on the fake; log:\n{}",
        gh.logs()
    );
    swarm.ok(&["service", "rm", "web"]);
    let log = gh.stop();
    assert!(log.contains("Swarm manager"), "{log}");
}

/// haproxy in front of the swarm's socket, refusing `/services` and `/tasks` with 403 as a
/// socket proxy with `SERVICES=0` and `TASKS=0` does; stopped when dropped.
struct Proxy {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(engine: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\nfrontend docker\n  bind {} mode 600\n  http-request deny if {{ path_reg ^(/v[0-9.]+)?/(services|tasks) }}\n  default_backend engine\nbackend engine\n  server engine {}\n",
                socket.display(),
                engine.display()
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
fn docker_swarm_task_labels_warn_non_attachable_overlays_are_explained_and_a_refusing_proxy_leaves_containers(
) {
    let swarm = Swarm::start();
    let cfg = swag_config();
    swarm.ok(&["network", "create", "--driver", "overlay", "backend"]);
    swarm.ok(&[
        "network",
        "create",
        "--driver",
        "overlay",
        "--attachable",
        "front",
    ]);
    swarm.bridge_network("swagnet");
    swarm.ok(&["run", "-d", "--name", "swag", "--network", "swagnet", IMAGE]);
    let gh = Gatehouse::start(&["run"], &env(&swarm, cfg.path(), &[]));
    // Labels on the containers instead of the service: the most common mistake.
    service(
        &swarm,
        "mislabelled",
        &[
            "--network",
            "front",
            "--container-label",
            "auth.expose=true",
            "--container-label",
            "auth.port=8080",
        ],
    );
    // A labelled service on an overlay network SWAG may not join.
    service(
        &swarm,
        "locked",
        &[
            "--network",
            "backend",
            "--label",
            "auth.expose=true",
            "--label",
            "auth.port=8080",
        ],
    );
    let said = |needle: &str| gh.logs().contains(needle);
    assert!(
        wait_for(react(), || said("task of Swarm service mislabelled")
            && said("deploy.labels")),
        "no warning about task labels; log:\n{}",
        gh.logs()
    );
    assert!(
        wait_for(react(), || {
            said(
            "Swarm service locked is on overlay network backend, which standalone containers such as SWAG cannot join"
        ) && said("attachable: true")
            && said("GATEHOUSE_NETWORK_MODE=shared")
        }),
        "no message about the non-attachable overlay; log:\n{}",
        gh.logs()
    );
    assert!(!conf(cfg.path(), "mislabelled").exists());
    assert!(!conf(cfg.path(), "locked").exists());
    assert!(!on_network(&swarm, "swag", "backend"));
    // A task's own container is never published as an app of its own.
    let names = std::fs::read_dir(cfg.path().join("nginx/proxy-confs"))
        .expect("proxy-confs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gatehouse."))
        .collect::<Vec<_>>();
    assert!(names.is_empty(), "{names:?}");
    gh.stop();

    // Behind a socket proxy refusing /services and /tasks: one clear error with the fix, and the
    // containers are still published.
    let net = "plainnet";
    swarm.bridge_network(net);
    swarm.ok(&[
        "run",
        "-d",
        "--name",
        "plain",
        "--network",
        net,
        "--label",
        "auth.expose=true",
        IMAGE,
    ]);
    let proxy = Proxy::start(swarm.socket());
    let mut proxied = env(&swarm, cfg.path(), &[]);
    proxied.retain(|(k, _)| k != "DOCKER_HOST");
    proxied.push((
        "DOCKER_HOST".into(),
        format!("unix://{}", proxy.socket.display()),
    ));
    let once = common::docker::gatehouse_once(&["run", "--once"], &proxied);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    assert!(
        log.contains("cannot list Swarm services or tasks")
            && log.contains("allow SERVICES=1, TASKS=1, NODES=1 and NETWORKS=1")
            && log.contains("carrying on with containers only"),
        "{log}"
    );
    assert_eq!(
        log.matches("cannot list Swarm services").count(),
        1,
        "{log}"
    );
    assert!(conf(cfg.path(), "plain").exists(), "{log}");
}

#[test]
fn docker_swarm_a_task_on_a_worker_is_published_and_reached_and_gatehouse_on_the_worker_says_why_not(
) {
    let swarm = Swarm::with_worker();
    let cfg = swag_config();
    swarm.ok(&[
        "network",
        "create",
        "--driver",
        "overlay",
        "--attachable",
        "apps",
    ]);
    swarm.bridge_network("swagnet");
    swarm.ok(&["run", "-d", "--name", "swag", "--network", "swagnet", IMAGE]);
    let gh = Gatehouse::start(
        &["run"],
        &env(&swarm, cfg.path(), &[("GATEHOUSE_RESYNC_SECS", "2")]),
    );
    service(
        &swarm,
        "far",
        &[
            "--network",
            "apps",
            "--endpoint-mode",
            "dnsrr",
            "--constraint",
            "node.role==worker",
            "--label",
            "auth.expose=true",
            "--label",
            "auth.port=8080",
        ],
    );
    let far = conf(cfg.path(), "far");
    assert!(
        wait_for(react(), || far.exists()),
        "no conf for the service on the worker; log:\n{}",
        gh.logs()
    );
    // The task runs on the worker, not on the manager gatehouse watches.
    let on_worker = swarm.worker_docker(&["ps", "--format", "{{.Names}}"]);
    let on_worker = String::from_utf8_lossy(&on_worker.stdout);
    assert!(on_worker.contains("far.1."), "{on_worker}");
    assert!(!swarm
        .ok(&["ps", "--format", "{{.Names}}"])
        .contains("far.1."));
    // SWAG on the manager reaches it by name, over the overlay between the two nodes.
    assert!(wait_for(react(), || on_network(&swarm, "swag", "apps")));
    let mut answer = String::new();
    let reached = wait_for(react(), || {
        answer = swarm.nc("swag", "far", 8080, "GET / HTTP/1.0\\r\\n\\r\\n");
        answer.contains("hello-from-app")
    });
    assert!(
        reached,
        "SWAG could not reach the worker's task: {answer:?}"
    );
    gh.stop();

    // gatehouse pointed at the worker: one clear error, containers only.
    let other = swag_config();
    let mut on_the_worker = env(&swarm, other.path(), &[("GATEHOUSE_NETWORK_MODE", "off")]);
    on_the_worker.retain(|(k, _)| k != "DOCKER_HOST");
    on_the_worker.push(("DOCKER_HOST".into(), swarm.worker_host()));
    let once = common::docker::gatehouse_once(&["run", "--once"], &on_the_worker);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    assert!(
        log.contains("Swarm worker node") && log.contains("node.role == manager"),
        "{log}"
    );
    assert!(log.contains("carrying on with containers only"), "{log}");
    assert!(!conf(other.path(), "far").exists());
}
