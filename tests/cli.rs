//! The command line as users meet it: bad settings, log formats, exit codes.

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

/// The exit code `command` gave, checked against `gatehouse::EXIT_CODES` (the table README.md's
/// command table is checked against).
fn listed(command: &str, code: Option<i32>) -> i32 {
    let code = code.unwrap_or_else(|| panic!("gatehouse {command} was killed"));
    let codes = gatehouse::EXIT_CODES
        .iter()
        .find(|(c, _)| *c == command)
        .map(|(_, codes)| *codes)
        .unwrap_or_else(|| panic!("gatehouse {command} is not in EXIT_CODES"));
    assert!(
        codes.iter().any(|c| i32::from(*c) == code),
        "gatehouse {command} exited {code}, which EXIT_CODES does not list for it: {codes:?}"
    );
    code
}

#[test]
fn failures_without_an_engine_exit_with_the_listed_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().display().to_string();
    let gone = format!("unix://{}/gone.sock", cfg);
    let no_engine = [
        ("GATEHOUSE_SWAG_CONFIG", cfg.as_str()),
        ("DOCKER_HOST", gone.as_str()),
    ];
    for command in ["run", "run --once", "render"] {
        let args: Vec<&str> = command.split(' ').collect();
        let out = gatehouse(&no_engine, &args);
        assert_eq!(listed(command, out.status.code()), 69, "{out:?}");
        let bad = [("GATEHOUSE_LOG_LEVEL", "loud")];
        let out = gatehouse(&bad, &args);
        assert_eq!(listed(command, out.status.code()), 64, "{out:?}");
    }
    let record = format!("{cfg}/no.health");
    let out = gatehouse(&[("GATEHOUSE_HEALTH_FILE", record.as_str())], &["health"]);
    assert_eq!(listed("health", out.status.code()), 1, "{out:?}");
    let out = gatehouse(&[("GATEHOUSE_RESYNC_SECS", "0")], &["health"]);
    assert_eq!(listed("health", out.status.code()), 64, "{out:?}");
    let env_file = format!("{cfg}/.env");
    let out = gatehouse(&[], &["init", "--no-input", "--env-file", &env_file]);
    assert_eq!(listed("init", out.status.code()), 64, "{out:?}");
    let nowhere = format!("{cfg}/missing/dir/.env");
    let init = [
        "init",
        "--no-input",
        "--domain",
        "example.com",
        "--email",
        "a@example.com",
    ];
    let out = gatehouse(&[], &[&init[..], &["--env-file", &nowhere]].concat());
    assert_eq!(listed("init", out.status.code()), 74, "{out:?}");
}
