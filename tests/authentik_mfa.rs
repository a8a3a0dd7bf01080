//! The MFA settings against the schema-checked fake authentik (seeded with what authentik's
//! default blueprints make), in process: `GATEHOUSE_MFA` changes the default authentication
//! flow's validation stage and `off` puts back exactly what was there, an unchanged resync
//! writes nothing, a stage the admin changed since is left alone, and `auth.mfa=true` apps share
//! one step-up authorization flow per max age, removed when no app uses it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fake_authentik::{mfa as seeded, FakeAuthentik};
use common::provisioning::{self, container, desired, rt};
use gatehouse::edge::mfastate::MfaStateFile;
use gatehouse::model::authentik::MfaMode;
use gatehouse::model::workload::Workload;
use gatehouse::reconcile::authentik::{Provisioner, SyncReport};
use gatehouse::render::wording::Tense;
use serde_json::{json, Value};

/// One round, which sends nothing the schema refuses.
fn sync(fake: &FakeAuthentik, prov: &mut Provisioner, containers: &[Workload]) -> SyncReport {
    let r = provisioning::sync(fake, prov, containers);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    r
}

fn prov(fake: &FakeAuthentik, mode: MfaMode, dir: &Path) -> Provisioner {
    Provisioner::new(&fake.settings())
        .unwrap()
        .with_mfa(mode, Some(MfaStateFile::new(dir)))
}

/// The three fields `GATEHOUSE_MFA` sets, as the fake holds them.
fn stage_fields(fake: &FakeAuthentik) -> Value {
    fake.with(|st| {
        let s = seeded::stage_named(st, "default-authentication-mfa-validation").expect("stage");
        json!({
            "device_classes": s["device_classes"],
            "not_configured_action": s["not_configured_action"],
            "configuration_stages": s["configuration_stages"],
        })
    })
}

#[test]
fn totp_then_an_unchanged_resync_then_off_restores_exactly_what_was_there() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let original = stage_fields(&fake);
    assert_eq!(original["not_configured_action"], "skip");

    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    let r = sync(&fake, &mut p, &[]);
    assert_eq!((r.writes, r.failed), (1, 0), "{:?}", fake.writes());
    let now = stage_fields(&fake);
    assert_eq!(now["device_classes"], json!(["static", "totp"]));
    assert_eq!(now["not_configured_action"], "configure");
    assert_eq!(now["configuration_stages"], json!([seeded::TOTP_SETUP_PK]));
    let record = std::fs::read_to_string(dir.path().join("gatehouse/mfa.json")).unwrap();
    assert!(record.contains("\"before\""), "{record}");

    fake.clear_requests();
    let r = sync(&fake, &mut p, &[]);
    assert_eq!(r.writes, 0);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    // The apps' five list reads, and four for the setting: the flow, its bindings, the
    // validation stages, the TOTP setup stages.
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 9, "{paths:#?}");

    // A restarted gatehouse with GATEHOUSE_MFA=off puts the fields back from the record.
    let mut p = prov(&fake, MfaMode::Off, dir.path());
    let r = sync(&fake, &mut p, &[]);
    assert_eq!(r.writes, 1, "{:?}", fake.writes());
    assert_eq!(stage_fields(&fake), original);
    fake.clear_requests();
    sync(&fake, &mut p, &[]);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[test]
fn a_stage_the_admin_changed_since_is_left_alone() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    sync(&fake, &mut p, &[]);
    fake.with(|st| {
        let s = st
            .mfa
            .stages
            .iter_mut()
            .find(|s| s["pk"] == seeded::VALIDATE_PK)
            .unwrap();
        s["device_classes"] = json!(["webauthn"]);
    });
    let edited = stage_fields(&fake);
    fake.clear_requests();
    for mode in [MfaMode::Webauthn, MfaMode::Off] {
        let mut p = prov(&fake, mode, dir.path());
        sync(&fake, &mut p, &[]);
        assert!(fake.writes().is_empty(), "{mode}: {:?}", fake.writes());
        assert_eq!(stage_fields(&fake), edited);
    }
}

#[test]
fn a_flow_without_a_validation_stage_is_refused_without_a_write() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    fake.with(|st| {
        st.mfa
            .flow_bindings
            .retain(|b| b["stage"] != seeded::VALIDATE_PK)
    });
    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    sync(&fake, &mut p, &[]);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(!dir.path().join("gatehouse/mfa.json").exists());
}

#[test]
fn mfa_apps_share_one_step_up_flow_removed_when_no_app_uses_it() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = prov(&fake, MfaMode::Off, dir.path());
    let mfa = |name: &str| container(name, &[("auth.protect", "true"), ("auth.mfa", "true")]);
    let apps = [mfa("dockge"), mfa("swagdash")];
    let r = sync(&fake, &mut p, &apps);
    assert_eq!(r.failed, 0, "{:?}", fake.writes());
    let flow_pk = fake.with(|st| {
        let flows: Vec<&Value> = st
            .flows
            .iter()
            .filter(|f| f["slug"] == "gatehouse-mfa-12h")
            .collect();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0]["designation"], "authorization");
        let stage = seeded::stage_named(st, "gatehouse-mfa-validate-12h").expect("stage");
        assert_eq!(stage["last_auth_threshold"], "hours=12");
        assert_eq!(stage["not_configured_action"], "configure");
        let pk = flows[0]["pk"].clone();
        assert!(st
            .mfa
            .flow_bindings
            .iter()
            .any(|b| b["target"] == pk && b["stage"] == stage["pk"]));
        pk
    });
    let providers = fake.providers();
    assert_eq!(providers.len(), 2);
    assert!(providers.iter().all(|p| p["authorization_flow"] == flow_pk));

    fake.clear_requests();
    sync(&fake, &mut p, &apps);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    // The apps' five list reads, and four for the step-up: the authorization flows, the step-up
    // flow's bindings, the validation stages, the TOTP setup stages.
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 9, "{paths:#?}");

    // One app drops auth.mfa: its provider goes back to the default flow; the flow stays for
    // the other.
    let apps = [
        container("dockge", &[("auth.protect", "true")]),
        mfa("swagdash"),
    ];
    sync(&fake, &mut p, &apps);
    assert!(fake.with(|st| st.flows.iter().any(|f| f["slug"] == "gatehouse-mfa-12h")));
    // No app asks any more: the providers move first, then the flow and its stage go.
    let apps = [
        container("dockge", &[("auth.protect", "true")]),
        container("swagdash", &[("auth.protect", "true")]),
    ];
    sync(&fake, &mut p, &apps);
    sync(&fake, &mut p, &apps);
    assert_eq!(fake.providers().len(), 2, "a provider went with the flow");
    fake.with(|st| {
        assert!(!st.flows.iter().any(|f| f["slug"] == "gatehouse-mfa-12h"));
        assert!(seeded::stage_named(st, "gatehouse-mfa-validate-12h").is_none());
    });
    fake.clear_requests();
    sync(&fake, &mut p, &apps);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    // Nothing of gatehouse's left: the step-up reads stop.
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 5, "{paths:#?}");
}

#[test]
fn render_says_the_flow_and_stage_changes_in_the_log_s_words() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    let apps = [container(
        "dockge",
        &[
            ("auth.protect", "true"),
            ("auth.mfa", "true"),
            ("auth.mfa.max_age", "90m"),
        ],
    )];
    let d = desired(&fake, &apps);
    let preview = rt().block_on(p.preview(&d)).expect("preview");
    assert!(fake.writes().is_empty());
    let lines = preview.actions(Tense::Planned).join("\n");
    assert!(
        lines.contains("would update authentik stage default-authentication-mfa-validation of flow default-authentication-flow (GATEHOUSE_MFA=totp; device_classes: [\"static\",\"totp\"], not_configured_action: \"configure\", configuration_stages: [\"default-authenticator-totp-setup\"])"),
        "{lines}"
    );
    assert!(
        lines.contains("would create authentik flow gatehouse-mfa-90m"),
        "{lines}"
    );
    assert!(
        lines.contains(
            "would bind authentik stage gatehouse-mfa-validate-90m into flow gatehouse-mfa-90m"
        ),
        "{lines}"
    );
    assert!(
        lines.contains("would create authentik provider gatehouse:"),
        "the app's provider is shown too: {lines}"
    );
}

#[test]
fn the_same_requests_on_the_oldest_supported_server_and_webauthn_uses_its_setup_stage() {
    let fake = FakeAuthentik::start_version("2024.2.3");
    let dir = tempfile::tempdir().unwrap();
    let mut p = prov(&fake, MfaMode::Webauthn, dir.path());
    let r = sync(&fake, &mut p, &[]);
    assert_eq!((r.writes, r.failed), (1, 0), "{:?}", fake.writes());
    let now = stage_fields(&fake);
    assert_eq!(now["device_classes"], json!(["webauthn"]));
    assert_eq!(
        now["configuration_stages"],
        json!([seeded::WEBAUTHN_SETUP_PK])
    );
}

#[test]
fn a_missing_totp_setup_stage_is_made_first() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    fake.with(|st| st.mfa.stages.retain(|s| s["pk"] != seeded::TOTP_SETUP_PK));
    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    let r = sync(&fake, &mut p, &[]);
    assert_eq!((r.writes, r.failed), (2, 0), "{:?}", fake.writes());
    let made = fake.with(|st| seeded::stage_named(st, "gatehouse-authenticator-totp-setup"));
    let made = made.expect("gatehouse's TOTP setup stage");
    assert_eq!(
        stage_fields(&fake)["configuration_stages"],
        json!([made["pk"]])
    );
    fake.clear_requests();
    sync(&fake, &mut p, &[]);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[test]
fn a_bad_max_age_rejects_the_app_s_authentik_labels() {
    let fake = FakeAuthentik::start();
    let apps = [container(
        "dockge",
        &[
            ("auth.protect", "true"),
            ("auth.mfa", "true"),
            ("auth.mfa.max_age", "forever"),
        ],
    )];
    let d = desired(&fake, &apps);
    assert!(
        d.rejected
            .iter()
            .any(|r| r.to_string().contains("auth.mfa.max_age")),
        "{:?}",
        d.rejected
    );
}

#[test]
fn a_refused_change_is_reported_and_not_resent_every_round() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    fake.refuse(
        "PATCH",
        "/api/v3/stages/authenticator/validate/",
        400,
        json!({"device_classes": ["refused by a policy of the admin"]}),
    );
    let mut p = prov(&fake, MfaMode::Totp, dir.path());
    let r = rt()
        .block_on(p.sync(&desired(&fake, &[]), Duration::ZERO))
        .unwrap();
    assert_eq!(r.failed, 1);
    assert_eq!(fake.writes().len(), 1, "{:?}", fake.writes());
    fake.clear_requests();
    let r = rt()
        .block_on(p.sync(&desired(&fake, &[]), Duration::ZERO))
        .unwrap();
    assert_eq!(r.failed, 1);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(!dir.path().join("gatehouse/mfa.json").exists());
}

#[test]
fn a_single_sign_on_app_with_auth_mfa_authorizes_in_the_step_up_flow() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = prov(&fake, MfaMode::Off, dir.path());
    let grafana = container(
        "grafana",
        &[
            ("auth.expose", "true"),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", "/login/generic_oauth"),
            ("auth.mfa", "true"),
            ("auth.mfa.max_age", "1h"),
        ],
    );
    let r = sync(&fake, &mut p, &[grafana]);
    assert_eq!(r.failed, 0, "{:?}", fake.writes());
    let flow = fake.with(|st| {
        st.flows
            .iter()
            .find(|f| f["slug"] == "gatehouse-mfa-1h")
            .map(|f| f["pk"].clone())
    });
    let flow = flow.expect("step-up flow");
    let providers = fake.with(|st| st.oauth2.clone());
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0]["authorization_flow"], flow);
}
