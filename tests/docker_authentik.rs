//! authentik provisioning end to end: the real Docker engine, gatehouse as a child process and
//! the schema-checked fake authentik. Needs Docker Engine (fails loudly without it).

mod common;

use std::path::Path;
use std::time::Duration;

use common::docker::{wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};
use serde_json::Value;

fn env(
    scope: &Scope,
    swag: &Path,
    fake: &FakeAuthentik,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = scope.gatehouse_env(swag);
    env.push(("GATEHOUSE_AUTHENTIK_URL".into(), fake.url()));
    env.push((
        "GATEHOUSE_AUTHENTIK_TOKEN".into(),
        fake_authentik::TOKEN.into(),
    ));
    env.push(("GATEHOUSE_DOMAIN".into(), "example.com".into()));
    for (k, v) in extra {
        env.push(((*k).into(), (*v).into()));
    }
    env
}

fn ours(fake: &FakeAuthentik, slug: &str) -> Option<Value> {
    let name = format!("gatehouse:{slug}");
    fake.providers()
        .into_iter()
        .find(|p| p["name"] == name.as_str())
}

fn in_outpost(fake: &FakeAuthentik, slug: &str) -> bool {
    ours(fake, slug)
        .and_then(|p| p["pk"].as_i64())
        .is_some_and(|pk| fake.embedded_providers().contains(&pk))
}

fn reads_of(fake: &FakeAuthentik, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with(path))
        .count()
}

#[test]
fn docker_authentik_provisions_resyncs_without_writes_patches_and_removes_only_its_own() {
    let scope = Scope::new("akflow");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let user_pk = fake.add_user_provider("users own provider", true);
    fake.add_user_app("users-own-app");
    let gh = Gatehouse::start(
        &["run"],
        &env(
            &scope,
            swag.path(),
            &fake,
            &[
                ("GATEHOUSE_RESYNC_SECS", "1"),
                ("GATEHOUSE_REMOVE_GRACE_SECS", "3"),
            ],
        ),
    );
    let name = scope.run(
        "app",
        &[
            ("auth.protect", "true"),
            ("auth.subdomain", "jelly"),
            ("auth.bypass", "/api"),
        ],
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(15), || in_outpost(&fake, "jelly")),
        "provider never reached the outpost; log:\n{}",
        gh.logs()
    );
    // exactly one of each
    let provs: Vec<Value> = fake
        .providers()
        .into_iter()
        .filter(|p| p["name"] == "gatehouse:jelly")
        .collect();
    assert_eq!(provs.len(), 1);
    assert_eq!(provs[0]["external_host"], "https://jelly.example.com");
    assert_eq!(provs[0]["skip_path_regex"], "^/api(/|$)");
    let apps: Vec<Value> = fake
        .applications()
        .into_iter()
        .filter(|a| a["slug"] == "jelly")
        .collect();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["provider"], provs[0]["pk"]);
    let pk = provs[0]["pk"].as_i64().unwrap();
    assert_eq!(fake.embedded_providers(), vec![user_pk, pk]);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    let conf = swag
        .path()
        .join("nginx/proxy-confs/gatehouse.jelly.subdomain.conf");
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("authentik-server.conf"));

    // resyncs with nothing changed write nothing
    fake.clear_requests();
    assert!(wait_for(Duration::from_secs(10), || reads_of(
        &fake,
        "/api/v3/providers/proxy/"
    ) >= 2));
    assert_eq!(fake.writes().len(), 0, "{:?}", fake.writes());

    // a label change (container recreated with other labels) patches in place
    scope.rm(&name);
    scope.run(
        "app",
        &[
            ("auth.protect", "true"),
            ("auth.subdomain", "jelly"),
            ("auth.bypass", "/hooks"),
            ("auth.name", "Jelly Fin"),
        ],
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(15), || ours(&fake, "jelly")
            .is_some_and(|p| p["skip_path_regex"] == "^/hooks(/|$)")),
        "no patch; log:\n{}",
        gh.logs()
    );
    assert!(wait_for(Duration::from_secs(5), || fake
        .applications()
        .iter()
        .any(|a| a["name"] == "Jelly Fin")));
    let writes = fake.writes();
    assert!(writes.iter().all(|w| w.method == "PATCH"), "{writes:?}");
    assert_eq!(
        ours(&fake, "jelly").unwrap()["pk"].as_i64(),
        Some(pk),
        "provider kept, not recreated"
    );

    // removal after the grace period: only gatehouse's objects go
    scope.rm(&scope.name("app"));
    assert!(
        wait_for(Duration::from_secs(20), || ours(&fake, "jelly").is_none()),
        "provider not removed; log:\n{}",
        gh.logs()
    );
    assert!(wait_for(Duration::from_secs(5), || fake
        .applications()
        .len()
        == 1));
    assert_eq!(fake.applications()[0]["slug"], "users-own-app");
    assert_eq!(fake.embedded_providers(), vec![user_pk]);
    assert_eq!(fake.providers().len(), 1);
    let log = gh.stop();
    assert!(
        !log.contains(fake_authentik::TOKEN),
        "the token reached the log"
    );
    assert!(
        log.contains("created authentik provider gatehouse:jelly"),
        "{log}"
    );
}

#[test]
fn docker_authentik_down_then_back_converges_without_a_restart() {
    let scope = Scope::new("akdown");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let gh = Gatehouse::start(&["run"], &env(&scope, swag.path(), &fake, &[]));
    assert!(wait_for(Duration::from_secs(10), || reads_of(
        &fake,
        "/api/v3/outposts/"
    ) >= 1));
    fake.stop();
    scope.run(
        "app",
        &[("auth.protect", "true"), ("auth.subdomain", "vault")],
        &[],
    );
    // the conf is written at once, with the authentik includes (fail closed), authentik or not
    let conf = swag
        .path()
        .join("nginx/proxy-confs/gatehouse.vault.subdomain.conf");
    assert!(
        wait_for(Duration::from_secs(10), || conf.exists()),
        "{}",
        gh.logs()
    );
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("authentik-server.conf") && text.contains("authentik-location.conf"));
    assert!(
        wait_for(Duration::from_secs(10), || gh
            .logs()
            .contains("authentik provisioning failed")),
        "{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    fake.resume();
    assert!(
        wait_for(Duration::from_secs(40), || in_outpost(&fake, "vault")),
        "did not converge after authentik came back; log:\n{}",
        gh.logs()
    );
    assert!(
        wait_for(Duration::from_secs(5), || gh
            .logs()
            .contains("authentik is reachable again")),
        "{}",
        gh.logs()
    );
    assert!(fake.schema_rejections().is_empty());
}

#[test]
fn docker_authentik_unmarked_app_with_the_same_slug_is_a_conflict_for_that_app() {
    let scope = Scope::new("akconf");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    fake.add_user_app("wiki");
    let gh = Gatehouse::start(&["run"], &env(&scope, swag.path(), &fake, &[]));
    let name = scope.run(
        "wiki",
        &[("auth.protect", "true"), ("auth.subdomain", "wiki")],
        &[],
    );
    scope.run(
        "other",
        &[("auth.protect", "true"), ("auth.subdomain", "notes")],
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(15), || in_outpost(&fake, "notes")),
        "{}",
        gh.logs()
    );
    let expected = format!("container {name}: application wiki already exists in authentik and was not made by gatehouse");
    assert!(
        wait_for(Duration::from_secs(5), || gh.logs().contains(&expected)),
        "{}",
        gh.logs()
    );
    assert!(ours(&fake, "wiki").is_none());
    let wiki = fake
        .applications()
        .into_iter()
        .find(|a| a["slug"] == "wiki")
        .unwrap();
    assert_eq!(wiki["meta_publisher"], "");
    assert!(wiki["provider"].is_null());
    assert!(fake
        .writes()
        .iter()
        .all(|w| !w.path.contains("/core/applications/wiki/")));
    // the conf is still written (with the includes): nginx refuses until authentik agrees
    assert!(swag
        .path()
        .join("nginx/proxy-confs/gatehouse.wiki.subdomain.conf")
        .exists());
}

#[test]
fn docker_authentik_an_older_server_is_provisioned_without_invalidation_flow() {
    let scope = Scope::new("akold");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start_version("2024.2.3");
    scope.run(
        "app",
        &[("auth.protect", "true"), ("auth.subdomain", "old")],
        &[],
    );
    let out =
        common::docker::gatehouse_once(&["run", "--once"], &env(&scope, swag.path(), &fake, &[]));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(in_outpost(&fake, "old"), "{log}");
    assert!(ours(&fake, "old")
        .unwrap()
        .get("invalidation_flow")
        .is_none());
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
}

#[test]
fn docker_authentik_a_restart_with_nothing_changed_writes_nothing() {
    let scope = Scope::new("akrestart");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let e = env(
        &scope,
        swag.path(),
        &fake,
        &[("GATEHOUSE_REMOVE_GRACE_SECS", "0")],
    );
    let gh = Gatehouse::start(&["run"], &e);
    scope.run(
        "app",
        &[("auth.protect", "true"), ("auth.subdomain", "again")],
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(15), || in_outpost(&fake, "again")),
        "{}",
        gh.logs()
    );
    gh.stop();
    fake.clear_requests();
    let gh = Gatehouse::start(&["run"], &e);
    assert!(
        wait_for(Duration::from_secs(10), || reads_of(
            &fake,
            "/api/v3/outposts/"
        ) >= 1),
        "{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(in_outpost(&fake, "again"));
}
