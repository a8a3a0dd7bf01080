//! The command line as users meet it: bad settings, log formats.

mod common;

use std::process::Command;

fn gatehouse(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run gatehouse")
}

#[test]
fn every_bad_setting_is_reported_in_one_go_with_exit_code_64() {
    let out = gatehouse(
        &[
            ("GATEHOUSE_SWAG_CONFIG", "config"),
            ("GATEHOUSE_RESYNC_SECS", "0"),
            ("GATEHOUSE_LOG_FORMAT", "xml"),
            ("GATEHOUSE_NETWORK_MODE", "bridge"),
            ("GATEHOUSE_AUTHENTIK_TOKEN", "secret-token-value"),
        ],
        &["run", "--once"],
    );
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for var in [
        "GATEHOUSE_SWAG_CONFIG",
        "GATEHOUSE_RESYNC_SECS",
        "GATEHOUSE_LOG_FORMAT",
        "GATEHOUSE_NETWORK_MODE",
    ] {
        assert!(err.contains(var), "{var} missing from:\n{err}");
    }
    assert!(
        !err.contains("secret-token-value"),
        "the token was printed:\n{err}"
    );
}

#[test]
fn docker_json_logs_are_one_object_per_line() {
    let scope = common::docker::Scope::new("json");
    let cfg = common::docker::swag_config();
    scope.run("bad", &[("auth.protect", "true"), ("auth.port", "x")], &[]);
    let mut env: Vec<(String, String)> = scope.gatehouse_env(cfg.path());
    env.push(("GATEHOUSE_LOG_FORMAT".into(), "json".into()));
    let out = common::docker::gatehouse_once(&["run", "--once"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("message").is_some(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("rejected container") && l.contains("auth.port")),
        "{err}"
    );
}
