//! `compose.example.yml` is checked by the compose tool on this machine (`docker compose` when the
//! plugin is there, else `docker-compose`) with an `.env` written by `gatehouse init`: both the
//! direct-socket stack and its socket-proxy variant. Needs the compose tool, not the engine.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::docker::{compose_cmd, gatehouse_once, swag_config, Scope};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<compose> config` in `dir`, with only PATH and HOME from this process (so the result depends
/// on `.env`, not on the test runner's environment).
fn compose_config(dir: &Path) -> Output {
    let cmd = compose_cmd();
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..])
        .args(["-f", "compose.yml", "config"])
        .current_dir(dir)
        .env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            c.env(key, v);
        }
    }
    c.output().expect("run the compose tool")
}

fn init(dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "init",
            "--domain",
            "example.com",
            "--email",
            "admin@example.com",
            "--tz",
            "Europe/Berlin",
            "--no-input",
            "--env-file",
        ])
        .arg(dir.join(".env"))
        .output()
        .expect("run gatehouse init");
    assert!(
        out.status.success(),
        "gatehouse init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn env_value(dir: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(dir.join(".env")).expect(".env");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing from .env"))
        .to_owned()
}

/// The socket-proxy variant, made the way the file tells users to: uncomment the `#~ ` lines and
/// drop the line marked `direct-socket`.
fn socket_proxy_variant(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_end().ends_with("# direct-socket"))
        .map(|l| match l.find("#~ ") {
            Some(i) if l[..i].trim().is_empty() => format!("{}{}", &l[..i], &l[i + 3..]),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The resolved stack, with quotes removed (compose versions quote scalars differently).
fn config_ok(dir: &Path) -> String {
    let out = compose_config(dir);
    assert!(
        out.status.success(),
        "compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace(['\'', '"'], "")
}

#[test]
fn docker_compose_example_is_valid_with_an_env_from_gatehouse_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example =
        std::fs::read_to_string(repo().join("compose.example.yml")).expect("compose.example.yml");
    std::fs::write(dir.path().join("compose.yml"), &example).expect("write compose.yml");

    // Without .env the stack refuses to start and says what to do.
    let out = compose_config(dir.path());
    assert!(
        !out.status.success(),
        "compose accepted the stack without .env"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run gatehouse init"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    init(dir.path());
    let config = config_ok(dir.path());
    let token = env_value(dir.path(), "AUTHENTIK_BOOTSTRAP_TOKEN");
    for expected in [
        "URL: example.com",
        "SWAG_AUTORELOAD: true",
        "container_name: swag",
        "container_name: authentik-server",
        "auth.expose: true",
        "auth.subdomain: auth",
        "auth.preset: authentik",
        "auth.port: 9000",
        "AUTHENTIK_WEB__BASE_URL: https://auth.example.com",
        "AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS:",
        "GATEHOUSE_AUTHENTIK_URL: http://authentik-server:9000",
        "GATEHOUSE_DOMAIN: example.com",
        &format!("GATEHOUSE_AUTHENTIK_TOKEN: {token}"),
        &format!("AUTHENTIK_BOOTSTRAP_TOKEN: {token}"),
        "/var/run/docker.sock:/var/run/docker.sock",
        "TZ: Europe/Berlin",
    ] {
        assert!(
            config.contains(expected),
            "missing {expected:?} in:\n{config}"
        );
    }
    assert!(!config.to_lowercase().contains("redis"), "{config}");
    assert_eq!(
        config.matches(":/var/run/docker.sock").count(),
        1,
        "only gatehouse mounts the socket (not authentik's worker):\n{config}"
    );
    assert!(
        !config.contains("9000:9000"),
        "authentik must not be published on the host"
    );

    // The socket-proxy variant: gatehouse talks TCP to the proxy and has no socket of its own.
    std::fs::write(
        dir.path().join("compose.yml"),
        socket_proxy_variant(&example),
    )
    .expect("write variant");
    let config = config_ok(dir.path());
    assert!(
        config.contains("DOCKER_HOST: tcp://socket-proxy:2375"),
        "{config}"
    );
    assert!(config.contains("POST: 0"), "{config}");
    assert!(
        config.contains("/var/run/docker.sock:/var/run/docker.sock:ro"),
        "{config}"
    );
    assert_eq!(
        config.matches(":/var/run/docker.sock").count(),
        1,
        "only the proxy mounts the socket:\n{config}"
    );
}

/// The `auth.*` labels the example puts on a service, read from the file's text.
fn labels_of(example: &str, service: &str) -> Vec<(String, String)> {
    let header = format!("  {service}:");
    let mut lines = example.lines().skip_while(|l| *l != header);
    assert!(
        lines.next().is_some(),
        "service {service} not in compose.example.yml"
    );
    lines
        .take_while(|l| l.is_empty() || l.starts_with("   "))
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            k.starts_with("auth.")
                .then(|| (k.to_owned(), v.trim_matches('"').to_owned()))
        })
        .collect()
}

#[test]
fn compose_example_publishes_gatehouses_status_page_behind_authentik() {
    let example =
        std::fs::read_to_string(repo().join("compose.example.yml")).expect("compose.example.yml");
    let labels = labels_of(&example, "gatehouse");
    let get = |k: &str| {
        labels
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("auth.protect"), Some("true"), "{labels:?}");
    assert_eq!(get("auth.subdomain"), Some("gatehouse"), "{labels:?}");
    assert_eq!(
        get("auth.mfa"),
        Some("true"),
        "the status page asks for a second factor: {labels:?}"
    );
    assert_eq!(
        get("auth.expose"),
        None,
        "the status page must not be public: {labels:?}"
    );
    // The label's port is the one gatehouse listens on.
    let listen = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("GATEHOUSE_LISTEN: "))
        .expect("GATEHOUSE_LISTEN in the gatehouse service");
    assert_eq!(
        listen.rsplit(':').next(),
        get("auth.port"),
        "{listen} vs {labels:?}"
    );
}

#[test]
fn docker_compose_example_labels_publish_authentik_through_swags_preset() {
    let example =
        std::fs::read_to_string(repo().join("compose.example.yml")).expect("compose.example.yml");
    let labels = labels_of(&example, "authentik-server");
    assert_eq!(labels.len(), 4, "{labels:?}");
    let scope = Scope::new("compose");
    let net = scope.network("net");
    let refs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let name = scope
        .container("authentik-server")
        .labels(&refs)
        .network(&net)
        .start();
    let swag = swag_config();
    let out = gatehouse_once(&["run", "--once"], &scope.gatehouse_env(swag.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = std::fs::read_to_string(
        swag.path()
            .join("nginx/proxy-confs/gatehouse.auth.subdomain.conf"),
    )
    .expect("gatehouse wrote no conf for authentik's labels");
    assert!(conf.contains("server_name auth.*;"), "{conf}");
    assert!(conf.contains("location ~ (/authentik)?/api"), "{conf}");
    assert!(
        conf.contains(&format!("set $upstream_app {name};")),
        "{conf}"
    );
    assert!(conf.contains("set $upstream_port 9000;"), "{conf}");
    let active_auth_include = conf.lines().any(|l| {
        l.trim_start()
            .starts_with("include /config/nginx/authentik-")
    });
    assert!(
        !active_auth_include,
        "authentik itself must not sit behind authentik:\n{conf}"
    );
}
