//! Issue 3's tightest case, against the real Docker engine: `docker compose down -t 0` of an app
//! stack must be able to remove the stack's network that gatehouse attached SWAG to.
//!
//! This test has its own binary so that it runs alone. The engine serialises SWAG's disconnect
//! behind the teardown of the dying containers, so gatehouse's detach lands just after their `die`
//! and compose removes the network about 100 ms later (container removal). Sibling tests that
//! create and remove networks at the same time add iptables contention to the disconnect; on a
//! 2-core CI machine that pushed it past compose's network removal once (195 ms instead of ~10).
//! Alone, the margin is the engine's own: see the `detach_ms` debug field in the log.

mod common;

use std::process::Command;
use std::time::Duration;

use common::docker::{compose, env_with, fetch, on, wait_for, Gatehouse, Scope};

#[test]
fn docker_compose_down_removes_the_app_network_swag_was_attached_to() {
    let scope = Scope::new("compose");
    let cfg = common::docker::swag_config();
    let swag_net = scope.network("swag_default");
    let swag = scope.run("swag", &[], &["--network", &swag_net]);
    let gh = Gatehouse::start(
        &["run"],
        &env_with(
            &scope,
            cfg.path(),
            &[("GATEHOUSE_SWAG_CONTAINER", swag.as_str())],
        ),
    );
    // An app stack of two services (SWAG reaches both over the stack's default network), as a
    // user would write it: no `external` networks, nothing about SWAG.
    let project = scope.name("stack");
    let (label_key, label_value) = scope
        .scope_label
        .split_once('=')
        .expect("scope label is key=value");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("compose.yml");
    std::fs::write(
        &file,
        format!(
            "version: \"3.8\"\nservices:\n  web:\n    image: {image}\n    labels:\n      {label_key}: {label_value}\n      auth.expose: \"true\"\n  api:\n    image: {image}\n    labels:\n      {label_key}: {label_value}\n      auth.protect: \"true\"\nnetworks:\n  default:\n    labels:\n      {label_key}: {label_value}\n",
            image = common::docker::IMAGE
        ),
    )
    .expect("write compose file");
    let up = compose(&project, &file, &["up", "-d"]);
    assert!(
        up.status.success(),
        "compose up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let stack_net = format!("{project}_default");
    assert!(
        wait_for(Duration::from_secs(15), || on(&swag, &stack_net)),
        "SWAG not attached to {stack_net}; log:\n{}",
        gh.logs()
    );
    // The compose service name resolves from SWAG, as SWAG's confs use it.
    assert_eq!(fetch(&swag, "web"), "hello-from-app", "log:\n{}", gh.logs());

    // Both services stop on SIGTERM only after compose's timeout (busybox httpd as PID 1 ignores
    // it); `-t 0` kills them at once: the least time for gatehouse to let go.
    let down = compose(&project, &file, &["down", "-t", "0"]);
    let stderr = String::from_utf8_lossy(&down.stderr).into_owned();
    assert!(
        down.status.success() && !stderr.contains("active endpoints"),
        "compose down: {stderr}; log:\n{}",
        gh.logs()
    );
    let left = Command::new("docker")
        .args(["network", "inspect", &stack_net])
        .output()
        .expect("docker network inspect");
    assert!(
        !left.status.success(),
        "{stack_net} is still there after compose down: {stderr}; log:\n{}",
        gh.logs()
    );
    assert!(on(&swag, &swag_net));
}
