//! The MFA settings end to end: gatehouse as a child process (settings from the environment,
//! the record in SWAG's config folder), the real Docker engine and the schema-checked fake
//! authentik. Needs Docker Engine (fails loudly without it).

mod common;

use std::path::Path;

use common::docker::{gatehouse_once, Scope};
use common::fake_authentik::{self, mfa as seeded, FakeAuthentik};

fn env(scope: &Scope, swag: &Path, fake: &FakeAuthentik, mfa: &str) -> Vec<(String, String)> {
    let mut env = scope.gatehouse_env(swag);
    env.push(("GATEHOUSE_AUTHENTIK_URL".into(), fake.url()));
    env.push((
        "GATEHOUSE_AUTHENTIK_TOKEN".into(),
        fake_authentik::TOKEN.into(),
    ));
    env.push(("GATEHOUSE_DOMAIN".into(), "example.com".into()));
    env.push(("GATEHOUSE_MFA".into(), mfa.into()));
    env
}

fn action(fake: &FakeAuthentik) -> String {
    fake.with(|st| {
        seeded::stage_named(st, "default-authentication-mfa-validation").expect("stage")
            ["not_configured_action"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    })
}

#[test]
fn docker_mfa_render_then_run_once_then_off_restores() {
    let scope = Scope::new("mfa");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    scope.run(
        "dash",
        &[("auth.protect", "true"), ("auth.mfa", "true")],
        &[],
    );
    let totp = env(&scope, swag.path(), &fake, "totp");
    let out = gatehouse_once(&["render"], &totp);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("# would update authentik stage default-authentication-mfa-validation of flow default-authentication-flow (GATEHOUSE_MFA=totp;"),
        "{printed}"
    );
    assert!(
        printed.contains("# would create authentik flow gatehouse-mfa-12h"),
        "{printed}"
    );
    assert!(
        fake.writes().is_empty(),
        "render wrote: {:?}",
        fake.writes()
    );
    assert_eq!(action(&fake), "skip");

    let out = gatehouse_once(&["run", "--once"], &totp);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("updated authentik stage default-authentication-mfa-validation"),
        "{log}"
    );
    assert_eq!(action(&fake), "configure");
    assert!(swag.path().join("gatehouse/mfa.json").is_file());
    let flow = fake.with(|st| {
        st.flows
            .iter()
            .find(|f| f["slug"] == "gatehouse-mfa-12h")
            .map(|f| f["pk"].clone())
    });
    let flow = flow.expect("step-up flow");
    assert!(fake
        .providers()
        .iter()
        .all(|p| p["authorization_flow"] == flow));

    let out = gatehouse_once(&["run", "--once"], &env(&scope, swag.path(), &fake, "off"));
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("restored authentik stage default-authentication-mfa-validation"),
        "{log}"
    );
    assert_eq!(action(&fake), "skip");
}
