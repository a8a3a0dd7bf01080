//! authentik provisioning end to end: the real Docker engine, gatehouse as a child process and
//! the schema-checked fake authentik. Needs Docker Engine (fails loudly without it).

mod common;

use std::path::Path;
use std::time::Duration;

use common::docker::{after, react, wait_for, Gatehouse, Scope, SLOWDOWN};
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
    // The label change below recreates the container: it must come back within the removal
    // grace, or gatehouse rightly deletes and recreates (DELETE + POST, not PATCH). The grace is
    // SLOWDOWN × a recreate measured now, at least 3 s.
    let recreate = scope.time_recreate();
    let grace_secs = (recreate * SLOWDOWN).as_secs().max(2) + 1;
    let grace = grace_secs.to_string();
    let gh = Gatehouse::start(
        &["run"],
        &env(
            &scope,
            swag.path(),
            &fake,
            &[
                ("GATEHOUSE_RESYNC_SECS", "1"),
                ("GATEHOUSE_REMOVE_GRACE_SECS", grace.as_str()),
            ],
        ),
    );
    let name = scope
        .container("app")
        .labels(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "jelly"),
            ("auth.bypass", "/api"),
        ])
        .start();
    assert!(
        wait_for(react(), || in_outpost(&fake, "jelly")),
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
    assert!(wait_for(after(Duration::from_secs(2)), || reads_of(
        &fake,
        "/api/v3/providers/proxy/"
    ) >= 2));
    assert_eq!(fake.writes().len(), 0, "{:?}", fake.writes());

    // a label change (container recreated with other labels) patches in place
    let recreating = std::time::Instant::now();
    scope.rm(&name);
    scope
        .container("app")
        .labels(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "jelly"),
            ("auth.bypass", "/hooks"),
            ("auth.name", "Jelly Fin"),
        ])
        .start();
    let recreate_took = recreating.elapsed();
    assert!(
        recreate_took < Duration::from_secs(grace_secs),
        "precondition: the recreate took {recreate_took:?}, longer than the {grace_secs} s grace \
         (a recreate measured {recreate:?} at the start): the machine got more than {SLOWDOWN}x \
         slower during the test"
    );
    assert!(
        wait_for(react(), || ours(&fake, "jelly")
            .is_some_and(|p| p["skip_path_regex"] == "^/hooks(/|$)")),
        "no patch; log:\n{}",
        gh.logs()
    );
    assert!(wait_for(react(), || fake
        .applications()
        .iter()
        .any(|a| a["name"] == "Jelly Fin")));
    let writes = fake.writes();
    assert!(
        writes.iter().all(|w| w.method == "PATCH"),
        "{writes:?} (recreate took {recreate_took:?}, grace {grace_secs} s)"
    );
    assert_eq!(
        ours(&fake, "jelly").unwrap()["pk"].as_i64(),
        Some(pk),
        "provider kept, not recreated"
    );

    // removal after the grace period: only gatehouse's objects go
    scope.rm(&scope.name("app"));
    assert!(
        wait_for(after(Duration::from_secs(grace_secs)), || ours(
            &fake, "jelly"
        )
        .is_none()),
        "provider not removed; log:\n{}",
        gh.logs()
    );
    assert!(wait_for(react(), || fake.applications().len() == 1));
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
    assert!(wait_for(react(), || reads_of(&fake, "/api/v3/outposts/") >= 1));
    fake.stop();
    let stopped = std::time::Instant::now();
    scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "vault")])
        .start();
    // the conf is written at once, with the authentik includes (fail closed), authentik or not
    let conf = swag
        .path()
        .join("nginx/proxy-confs/gatehouse.vault.subdomain.conf");
    assert!(wait_for(react(), || conf.exists()), "{}", gh.logs());
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("authentik-server.conf") && text.contains("authentik-location.conf"));
    assert!(
        wait_for(react(), || gh
            .logs()
            .contains("authentik provisioning failed")),
        "{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    fake.resume();
    // The worker's retries start at 500 ms and double: the next one comes at most about twice
    // the time authentik was down (plus the first delay) later.
    let retry = stopped.elapsed() * 2 + Duration::from_millis(500);
    assert!(
        wait_for(after(retry), || in_outpost(&fake, "vault")),
        "did not converge after authentik came back; log:\n{}",
        gh.logs()
    );
    assert!(
        wait_for(react(), || gh
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
    let name = scope
        .container("wiki")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "wiki")])
        .start();
    scope
        .container("other")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "notes")])
        .start();
    assert!(
        wait_for(react(), || in_outpost(&fake, "notes")),
        "{}",
        gh.logs()
    );
    let expected = format!("container {name}: application wiki already exists in authentik and was not made by gatehouse");
    assert!(
        wait_for(react(), || gh.logs().contains(&expected)),
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
    scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "old")])
        .start();
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
    scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "again")])
        .start();
    assert!(
        wait_for(react(), || in_outpost(&fake, "again")),
        "{}",
        gh.logs()
    );
    gh.stop();
    fake.clear_requests();
    let gh = Gatehouse::start(&["run"], &e);
    assert!(
        wait_for(react(), || reads_of(&fake, "/api/v3/outposts/") >= 1),
        "{}",
        gh.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(in_outpost(&fake, "again"));
}

fn provider_pk(fake: &FakeAuthentik, name: &str) -> Option<i64> {
    fake.providers()
        .into_iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["pk"].as_i64())
}

fn publisher(fake: &FakeAuthentik, slug: &str) -> Option<Value> {
    fake.applications()
        .into_iter()
        .find(|a| a["slug"] == slug)
        .map(|a| a["meta_publisher"].clone())
}

/// Two Docker hosts, each with its own SWAG and gatehouse, one authentik: here two gatehouse
/// processes confined to their own containers by scope label, named east and west.
#[test]
fn docker_authentik_two_instances_share_one_authentik() {
    let fake = FakeAuthentik::start();
    let user_pk = fake.add_user_provider("users own provider", true);
    let (scope_e, scope_w) = (Scope::new("akinste"), Scope::new("akinstw"));
    let (swag_e, swag_w) = (common::docker::swag_config(), common::docker::swag_config());
    let with = |instance: &'static str| {
        vec![
            ("GATEHOUSE_RESYNC_SECS", "1"),
            ("GATEHOUSE_REMOVE_GRACE_SECS", "1"),
            ("GATEHOUSE_INSTANCE", instance),
        ]
    };
    let east = Gatehouse::start(
        &["run"],
        &env(&scope_e, swag_e.path(), &fake, &with("east")),
    );
    let west = Gatehouse::start(
        &["run"],
        &env(&scope_w, swag_w.path(), &fake, &with("west")),
    );
    let app_e = scope_e
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "films")])
        .start();
    scope_w
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "notes")])
        .start();
    let both = || {
        let on = fake.embedded_providers();
        ["gatehouse/east:films", "gatehouse/west:notes"]
            .iter()
            .all(|n| provider_pk(&fake, n).is_some_and(|pk| on.contains(&pk)))
    };
    assert!(
        wait_for(react(), both),
        "east:\n{}\nwest:\n{}",
        east.logs(),
        west.logs()
    );
    let notes = provider_pk(&fake, "gatehouse/west:notes").unwrap();
    assert_eq!(publisher(&fake, "films"), Some("gatehouse/east".into()));
    assert_eq!(publisher(&fake, "notes"), Some("gatehouse/west".into()));

    // west publishing east's slug is a conflict for that container, named in west's log
    let dup = scope_w
        .container("dup")
        .labels(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "films2"),
            ("auth.slug", "films"),
        ])
        .start();
    let expected = format!(
        "container {dup}: application films in authentik is managed by gatehouse instance east"
    );
    assert!(
        wait_for(react(), || west.logs().contains(&expected)),
        "{}",
        west.logs()
    );
    scope_w.rm(&dup);

    // east's app goes: after east's grace period, its objects go, west's stay where they are
    scope_e.rm(&app_e);
    assert!(
        wait_for(after(Duration::from_secs(1)), || provider_pk(
            &fake,
            "gatehouse/east:films"
        )
        .is_none()
            && publisher(&fake, "films").is_none()),
        "east did not remove its objects; log:\n{}",
        east.logs()
    );
    // several resyncs of both, well past the grace period
    fake.clear_requests();
    assert!(wait_for(after(Duration::from_secs(6)), || fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api/v3/outposts/"))
        .count()
        >= 6));
    assert_eq!(fake.writes().len(), 0, "{:?}", fake.writes());
    assert_eq!(provider_pk(&fake, "gatehouse/west:notes"), Some(notes));
    assert_eq!(publisher(&fake, "notes"), Some("gatehouse/west".into()));
    assert_eq!(fake.embedded_providers(), vec![user_pk, notes]);
    assert_eq!(fake.providers().len(), 2, "{:?}", fake.providers());
    assert_eq!(fake.applications().len(), 1);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    let (log_e, log_w) = (east.stop(), west.stop());
    assert!(
        log_e.contains(
            r#"authentik objects are marked as gatehouse instance east's: meta_publisher "gatehouse/east", providers named gatehouse/east:<slug>"#
        ),
        "{log_e}"
    );
    assert!(
        !log_w.contains("deleted authentik") && !log_w.contains("took provider"),
        "{log_w}"
    );
}

/// An install that ran without a name is given one: its old objects are neither adopted nor
/// deleted, the conflict is reported, and the hint about them is logged once.
#[test]
fn docker_authentik_naming_an_unnamed_install_leaves_its_objects_alone_and_says_so_once() {
    let scope = Scope::new("akrename");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let fast = [
        ("GATEHOUSE_RESYNC_SECS", "1"),
        ("GATEHOUSE_REMOVE_GRACE_SECS", "0"),
    ];
    let gh = Gatehouse::start(&["run"], &env(&scope, swag.path(), &fake, &fast));
    let name = scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "photos")])
        .start();
    assert!(
        wait_for(react(), || in_outpost(&fake, "photos")),
        "{}",
        gh.logs()
    );
    let log = gh.stop();
    assert!(
        log.contains(r#"marked as the unnamed gatehouse instance's: meta_publisher "gatehouse""#),
        "{log}"
    );
    let old_pk = ours(&fake, "photos").unwrap()["pk"].as_i64().unwrap();

    let mut named = fast.to_vec();
    named.push(("GATEHOUSE_INSTANCE", "home"));
    fake.clear_requests();
    let gh = Gatehouse::start(&["run"], &env(&scope, swag.path(), &fake, &named));
    let conflict = format!(
        "container {name}: application photos in authentik is managed by the unnamed gatehouse instance"
    );
    assert!(
        wait_for(react(), || gh.logs().contains(&conflict)),
        "{}",
        gh.logs()
    );
    // several rounds
    assert!(wait_for(after(Duration::from_secs(4)), || reads_of(
        &fake,
        "/api/v3/outposts/"
    ) >= 4));
    let log = gh.stop();
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(fake.embedded_providers(), vec![old_pk]);
    assert_eq!(publisher(&fake, "photos"), Some("gatehouse".into()));
    let hint = "2 authentik object(s) carry the unnamed gatehouse instance's marks";
    assert_eq!(log.matches(hint).count(), 1, "{log}");
    assert!(
        log.contains("application photos, provider gatehouse:photos"),
        "{log}"
    );
    assert!(log.contains("auth.adopt=true"), "{log}");
}

#[test]
fn docker_authentik_rejected_authentik_labels_fail_once_and_render_with_exit_1() {
    let scope = Scope::new("akrej");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    scope.run(
        "app",
        &[("auth.protect", "true"), ("auth.launch_url", "ftp://x")],
        &[],
    );
    let env = env(&scope, swag.path(), &fake, &[]);
    for args in [&["render"][..], &["run", "--once"][..]] {
        let out = common::docker::gatehouse_once(args, &env);
        // `render` says it in its printout, `run --once` in its log.
        let log = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{log}");
        assert!(log.contains("auth.launch_url"), "{args:?}:\n{log}");
    }
    // The conf is still written, with authentik in front; nothing is provisioned for it.
    let confs = swag.path().join("nginx/proxy-confs");
    let written = std::fs::read_dir(&confs)
        .expect("proxy-confs")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("gatehouse."));
    assert!(written, "no conf written");
    assert!(ours(&fake, &scope.name("app")).is_none());
}
