//! `gatehouse admin create` as users meet it: the binary against the schema-checked fake
//! authentik, its exit codes, and the secrets it shows once on standard output, never on the
//! log (standard error).

mod common;

use std::process::{Command, Output};

use common::fake_authentik::{FakeAuthentik, TOKEN};

fn gatehouse(fake: Option<&FakeAuthentik>, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEHOUSE_SWAG_CONFIG", dir.path());
    if let Some(fake) = fake {
        cmd.env("GATEHOUSE_AUTHENTIK_URL", fake.url())
            .env("GATEHOUSE_AUTHENTIK_TOKEN", TOKEN)
            .env("GATEHOUSE_DOMAIN", "example.com");
    }
    cmd.output().expect("run gatehouse")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn creates_then_refuses_to_deactivate_akadmin_without_a_factor() {
    let fake = FakeAuthentik::start();
    let out = gatehouse(
        Some(&fake),
        &["admin", "create", "alice", "--email", "alice@example.com"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("done: created user alice"), "{stdout}");
    assert!(stdout.contains("left: akadmin is still active"), "{stdout}");
    let password = fake.with(|st| st.mfa.passwords.values().next().cloned().expect("password"));
    assert!(stdout.contains(&password));
    assert!(!stderr.contains(&password), "a secret on the log: {stderr}");

    let out = gatehouse(
        Some(&fake),
        &[
            "admin",
            "create",
            "alice",
            "--email",
            "alice@example.com",
            "--deactivate-akadmin",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("no confirmed second factor yet"));
}

#[test]
fn bad_arguments_and_missing_settings_are_usage_errors() {
    let fake = FakeAuthentik::start();
    let out = gatehouse(
        Some(&fake),
        &["admin", "create", "akadmin", "--email", "a@example.com"],
    );
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    let out = gatehouse(
        None,
        &["admin", "create", "alice", "--email", "a@example.com"],
    );
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("GATEHOUSE_AUTHENTIK_URL"));
    assert!(fake.writes().is_empty());
}

#[test]
fn an_unreachable_authentik_is_69() {
    let fake = FakeAuthentik::start();
    fake.stop();
    let out = gatehouse(
        Some(&fake),
        &["admin", "create", "alice", "--email", "a@example.com"],
    );
    assert_eq!(out.status.code(), Some(69), "{}", text(&out.stderr));
}
