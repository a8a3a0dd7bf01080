//! `gatehouse admin create` against the schema-checked fake authentik (seeded like authentik's
//! default blueprints: akadmin in "authentik Admins" owning the bootstrap token, no recovery
//! flow on the brand): the user, the admins group membership, the one-time credential, and the
//! refusal to deactivate akadmin before the new admin has a second factor and while gatehouse's
//! token is akadmin's.

mod common;

use common::fake_authentik::{mfa as seeded, FakeAuthentik};
use gatehouse::commands::admin::{create, CreateArgs, Created};
use gatehouse::reconcile::authentik::Client;
use serde_json::{json, Value};

fn run(fake: &FakeAuthentik, deactivate: bool) -> Created {
    let client = Client::new(&fake.url(), common::fake_authentik::TOKEN).unwrap();
    let args = CreateArgs {
        username: "alice".into(),
        email: "alice@example.com".into(),
        deactivate_akadmin: deactivate,
    };
    let mut counter = 0u8;
    let mut fill = |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(37);
            *b = counter;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt
        .block_on(create(&client, &args, &mut fill))
        .expect("admin create");
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    out
}

fn user(fake: &FakeAuthentik, name: &str) -> Value {
    fake.with(|st| {
        st.mfa
            .users
            .iter()
            .find(|u| u["username"] == name)
            .cloned()
            .expect("user")
    })
}

fn akadmin_active(fake: &FakeAuthentik) -> bool {
    user(fake, "akadmin")["is_active"] == true
}

#[test]
fn creates_the_admin_with_a_generated_password_when_the_brand_has_no_recovery_flow() {
    let fake = FakeAuthentik::start();
    let out = run(&fake, false);
    let alice = user(&fake, "alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["type"], "internal");
    let pk = alice["pk"].clone();
    let admins = fake.with(|st| {
        st.groups
            .iter()
            .find(|g| g["pk"] == seeded::ADMINS_GROUP_PK)
            .cloned()
            .unwrap()
    });
    assert!(
        admins["users"].as_array().unwrap().contains(&pk),
        "{admins}"
    );
    let password = fake.with(|st| st.mfa.passwords.get(&pk.as_i64().unwrap()).cloned());
    let password = password.expect("a password was set");
    assert_eq!(password.len(), 24);
    let text = out.to_string();
    assert!(text.contains(&password), "shown once: {text}");
    assert!(text.contains("left: akadmin is still active"), "{text}");
    assert!(!out.refused);

    // Again: nothing is made twice, no new password.
    fake.clear_requests();
    let again = run(&fake, false);
    assert!(again.shown_once.is_empty(), "{again}");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[test]
fn gives_a_recovery_link_when_the_brand_has_a_recovery_flow() {
    let fake = FakeAuthentik::start();
    fake.with(|st| st.mfa.brands[0]["flow_recovery"] = json!(seeded::AUTH_FLOW_PK));
    let out = run(&fake, false);
    let text = out.to_string();
    assert!(text.contains("/if/flow/recovery/?token="), "{text}");
    let pk = user(&fake, "alice")["pk"].as_i64().unwrap();
    assert!(fake.with(|st| !st.mfa.passwords.contains_key(&pk)));
}

#[test]
fn akadmin_stays_until_the_admin_has_a_factor_and_gatehouse_a_token_of_its_own() {
    let fake = FakeAuthentik::start();
    // No factor yet: refused, nothing about akadmin changes.
    let out = run(&fake, true);
    assert!(out.refused);
    assert!(
        out.to_string()
            .contains("has no confirmed second factor yet"),
        "{out}"
    );
    assert!(akadmin_active(&fake));

    // An unconfirmed device is not a factor.
    let pk = user(&fake, "alice")["pk"].as_i64().unwrap();
    fake.with(|st| st.mfa.devices.insert(pk, vec![seeded::device("1", false)]));
    assert!(run(&fake, true).refused);
    assert!(akadmin_active(&fake));

    // A confirmed factor, but gatehouse's token is akadmin's: a service account token first.
    fake.with(|st| st.mfa.devices.insert(pk, vec![seeded::device("1", true)]));
    let out = run(&fake, true);
    assert!(out.refused);
    assert!(akadmin_active(&fake));
    let sa = user(&fake, "gatehouse");
    assert_eq!(sa["type"], "service_account");
    let token = fake.with(|st| {
        st.mfa
            .tokens
            .iter()
            .find(|t| t["user"] == sa["pk"])
            .cloned()
            .unwrap()
    });
    assert_eq!(token["expiring"], false);
    assert!(
        out.to_string()
            .contains("GATEHOUSE_AUTHENTIK_TOKEN=sa-token-"),
        "{out}"
    );

    // The token in .env is now the service account's: akadmin goes.
    fake.with(|st| st.mfa.token_owner = sa["pk"].as_i64().unwrap());
    let out = run(&fake, true);
    assert!(!out.refused, "{out}");
    assert!(!akadmin_active(&fake));
    assert!(out.complete(), "{out}");
}
