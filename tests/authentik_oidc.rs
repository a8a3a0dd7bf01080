//! Native single sign-on against the schema-checked fake authentik, in process (no Docker): one
//! OAuth2/OpenID provider and one application per app with the default scope mappings and the
//! self-signed key, the credential files written, zero writes on an unchanged resync, only the
//! changed field patched, removal of only gatehouse's objects, and older servers' formats.

mod common;

use std::time::Duration;

use common::fake_authentik::{oauth2, FakeAuthentik};
use common::provisioning::{self, desired, sync};
use gatehouse::edge::sso::SsoDir;
use gatehouse::model::workload::Workload;
use gatehouse::plan::authentik;
use gatehouse::reconcile::authentik::sso::Credentials;
use gatehouse::reconcile::authentik::Provisioner;
use serde_json::{json, Value};

fn container(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        exposed_tcp_ports: vec![3000],
        ..provisioning::container(name, labels)
    }
}

fn grafana(redirect: &str) -> Workload {
    container(
        "grafana",
        &[
            ("auth.expose", "true"),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", redirect),
        ],
    )
}

fn me() -> (u32, u32) {
    // SAFETY: no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

fn provisioner(fake: &FakeAuthentik, dir: &std::path::Path) -> Provisioner {
    Provisioner::new(&fake.settings())
        .unwrap()
        .with_credentials(Credentials::new(
            SsoDir::new(dir.join("sso")),
            "https://auth.example.com".into(),
            me(),
        ))
}

fn oauth2_providers(fake: &FakeAuthentik) -> Vec<Value> {
    fake.with(|st| st.oauth2.clone())
}

#[test]
fn an_oidc_app_gets_one_provider_and_application_and_its_files_then_resync_writes_nothing() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner(&fake, dir.path());
    let apps = [grafana("/login/generic_oauth")];
    fake.clear_requests();
    let r = sync(&fake, &mut prov, &apps);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    assert_eq!(
        (r.writes, r.failed, r.sso_writes),
        (2, 0, 5),
        "{:?}",
        fake.writes()
    );
    let requests = fake.requests();
    eprintln!(
        "requests for one new OIDC app: {} ({} reads, {} writes)",
        requests.len(),
        requests.iter().filter(|r| !r.is_write()).count(),
        requests.iter().filter(|r| r.is_write()).count()
    );
    let ps = oauth2_providers(&fake);
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert_eq!(p["name"], "gatehouse:grafana");
    assert_eq!(p["client_id"], "grafana");
    assert_eq!(p["client_type"], "confidential");
    assert_eq!(p["signing_key"], oauth2::SELF_SIGNED_PK);
    assert_eq!(
        p["property_mappings"],
        json!([
            oauth2::scope_pk("openid"),
            oauth2::scope_pk("email"),
            oauth2::scope_pk("profile")
        ])
    );
    assert_eq!(
        p["redirect_uris"],
        json!([{"matching_mode": "strict", "url": "https://grafana.example.com/login/generic_oauth"}])
    );
    assert_eq!(
        p["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let secret = p["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "made by gatehouse, not authentik's 128");
    let apps_now = fake.applications();
    assert_eq!(apps_now.len(), 1);
    assert_eq!(apps_now[0]["provider"], p["pk"]);
    assert!(
        fake.embedded_providers().is_empty(),
        "an OIDC provider joins no outpost"
    );
    let folder = dir.path().join("sso/grafana");
    let read = |n: &str| std::fs::read_to_string(folder.join(n)).unwrap();
    assert_eq!(read("client_id"), "grafana");
    assert_eq!(read("client_secret"), secret);
    assert_eq!(
        read("issuer"),
        "https://auth.example.com/application/o/grafana/"
    );

    fake.clear_requests();
    let r = sync(&fake, &mut prov, &apps);
    assert_eq!((r.writes, r.sso_writes), (0, 0));
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[test]
fn a_changed_redirect_patches_only_redirect_uris_and_removal_takes_only_gatehouses() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner(&fake, dir.path());
    sync(&fake, &mut prov, &[grafana("/login/generic_oauth")]);
    let secret = oauth2_providers(&fake)[0]["client_secret"].clone();
    fake.clear_requests();
    let r = sync(
        &fake,
        &mut prov,
        &[grafana("/login/generic_oauth,/oauth/cb")],
    );
    assert_eq!(r.writes, 1);
    let w = fake.writes();
    assert_eq!(w[0].method, "PATCH");
    let body = w[0].body.clone().unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["redirect_uris"],
        "{body}"
    );
    assert_eq!(
        oauth2_providers(&fake)[0]["client_secret"],
        secret,
        "the secret stays"
    );

    // the user's own OAuth2 provider and application stay
    fake.with(|st| oauth2::add_user_provider(st, "mine"));
    fake.add_user_app("their-app");
    let r = sync(&fake, &mut prov, &[]);
    assert_eq!(r.writes, 2, "{:?}", fake.writes());
    let left: Vec<Value> = oauth2_providers(&fake);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["name"], "mine");
    assert_eq!(fake.applications().len(), 1);
    assert!(!dir.path().join("sso/grafana").exists());
}

#[test]
fn older_servers_get_text_redirects_and_no_grant_types_nor_invalidation_flow() {
    for (version, text, inval) in [("2024.8.4", true, false), ("2024.10.3", false, true)] {
        let fake = FakeAuthentik::start_version(version);
        let dir = tempfile::tempdir().unwrap();
        let mut prov = provisioner(&fake, dir.path());
        fake.clear_requests();
        let r = sync(
            &fake,
            &mut prov,
            &[grafana("/cb,regex:^https://x\\.lan/.*$")],
        );
        assert_eq!(
            (r.writes, r.failed),
            (2, 0),
            "{version}: {:?}",
            fake.requests()
        );
        let sent = fake.writes()[0].body.clone().unwrap();
        assert_eq!(sent["redirect_uris"].is_string(), text, "{version}: {sent}");
        assert_eq!(sent.get("invalidation_flow").is_some(), inval, "{version}");
        assert!(sent.get("grant_types").is_none(), "{version}");
        fake.clear_requests();
        let r = sync(
            &fake,
            &mut prov,
            &[grafana("/cb,regex:^https://x\\.lan/.*$")],
        );
        assert_eq!(r.writes, 0, "{version}: {:?}", fake.writes());
    }
}

#[test]
fn a_bad_label_holds_that_apps_objects_and_the_others_carry_on() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner(&fake, dir.path());
    let immich = container(
        "immich",
        &[
            ("auth.expose", "true"),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", "app.immich:///oauth-callback"),
        ],
    );
    sync(&fake, &mut prov, &[grafana("/cb")]);
    let d = desired(&fake, &[grafana("http://grafana.example.com/cb"), immich]);
    assert_eq!(d.rejected.len(), 2);
    let text = d
        .rejected
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("container grafana") && text.contains("auth.oidc.redirect"),
        "{text}"
    );
    fake.clear_requests();
    let r = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(prov.sync(&d, Duration::ZERO))
        .unwrap();
    assert_eq!(r.writes, 0, "held, not removed: {:?}", fake.writes());
    assert_eq!(oauth2_providers(&fake).len(), 1);
}

#[test]
fn sso_show_prints_the_credentials_reveals_the_secret_only_when_asked_and_writes_nothing() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner(&fake, dir.path());
    sync(&fake, &mut prov, &[grafana("/login/generic_oauth")]);
    let secret = oauth2_providers(&fake)[0]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(dir.path().join("sso/grafana"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), e.metadata().unwrap().modified().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = listing();
    fake.clear_requests();
    let show = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["sso", "show"])
            .args(args)
            .env_clear()
            .env("GATEHOUSE_AUTHENTIK_URL", fake.url())
            .env("GATEHOUSE_AUTHENTIK_TOKEN", common::fake_authentik::TOKEN)
            .env("GATEHOUSE_DOMAIN", "example.com")
            .env("GATEHOUSE_SSO_DIR", dir.path().join("sso"))
            .env("GATEHOUSE_AUTHENTIK_PUBLIC_URL", "https://auth.example.com")
            .output()
            .unwrap()
    };
    let out = show(&["grafana", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["client_id"], "grafana");
    assert_eq!(
        v["issuer"],
        "https://auth.example.com/application/o/grafana/"
    );
    assert_eq!(v["client_secret"], "(hidden)");
    assert_eq!(v["files_current"], true);
    assert_eq!(
        v["redirect_uris"],
        json!(["https://grafana.example.com/login/generic_oauth"])
    );
    let text = show(&["grafana"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(!text.contains(&secret), "{text}");
    assert!(
        text.contains("GF_AUTH_GENERIC_OAUTH_CLIENT_ID=grafana"),
        "{text}"
    );
    let revealed = show(&["grafana", "--reveal"]);
    assert!(String::from_utf8_lossy(&revealed.stdout).contains(&secret));
    assert_eq!(show(&["nope"]).status.code(), Some(1));
    assert_eq!(show(&["Bad/Slug"]).status.code(), Some(64));
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(listing(), before, "sso show writes nothing");
}

#[test]
fn email_verified_adds_a_mapping_made_once_and_a_resync_writes_nothing() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner(&fake, dir.path());
    let mut app = grafana("/cb");
    app.labels
        .insert("auth.oidc.email_verified".into(), "true".into());
    fake.clear_requests();
    let r = sync(&fake, &mut prov, &[app.clone()]);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.writes());
    let made = fake.with(|st| {
        st.scope_mappings
            .iter()
            .find(|m| m["name"] == authentik::EMAIL_VERIFIED_MAPPING)
            .cloned()
    });
    let made = made.expect("the mapping is made");
    assert_eq!(made["scope_name"], "email");
    assert!(made["expression"]
        .as_str()
        .unwrap()
        .contains("\"email_verified\": True"));
    let p = &oauth2_providers(&fake)[0];
    assert_eq!(p["property_mappings"][1], made["pk"]);
    fake.clear_requests();
    let r = sync(&fake, &mut prov, &[app]);
    assert_eq!(r.writes, 0, "{:?}", fake.writes());
}

#[test]
fn a_symlinked_app_folder_is_never_written_through_and_the_other_apps_get_theirs() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(dir.path().join("sso")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("sso/grafana")).unwrap();
    let mut prov = provisioner(&fake, dir.path());
    let other = container(
        "mealie",
        &[
            ("auth.expose", "true"),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", "/login"),
        ],
    );
    let r = sync(&fake, &mut prov, &[grafana("/cb"), other]);
    assert_eq!(r.failed, 0);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "written through the link"
    );
    assert!(dir.path().join("sso/mealie/client_secret").exists());
    // removal does not follow it either
    std::fs::write(outside.join("client_id"), "theirs").unwrap();
    sync(&fake, &mut prov, &[]);
    assert_eq!(
        std::fs::read_to_string(outside.join("client_id")).unwrap(),
        "theirs"
    );
    assert!(!dir.path().join("sso/mealie").exists());
}
