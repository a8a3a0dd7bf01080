//! authentik provisioning against the schema-checked fake authentik, in process (no Docker):
//! the labels of protected containers become exactly one provider, application and outpost
//! binding; an unchanged resync writes nothing; changes patch; removal cleans up only
//! gatehouse's objects; older servers get no invalidation flow; a wrong field fails the fake.

mod common;

use std::time::Duration;

use common::fake_authentik::{self, Direction, FakeAuthentik};
use common::provisioning::{container, desired, rt, sync};
use gatehouse::edge::fieldstate::FieldStateFile;
use gatehouse::model::workload::Workload;
use gatehouse::plan::authentik::{self, Instance};
use gatehouse::reconcile::authentik::{Api, Client, Provisioner};
use serde_json::{json, Value};

#[test]
fn a_protected_app_gets_one_provider_app_and_outpost_binding_then_resync_writes_nothing() {
    let fake = FakeAuthentik::start();
    let user_pk = fake.add_user_provider("my own provider", true);
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let apps = [container(
        "jellyfin",
        &[("auth.protect", "true"), ("auth.bypass", "/api")],
    )];
    let r = sync(&fake, &mut prov, &apps);
    assert_eq!(
        fake.schema_rejections().len(),
        0,
        "{:?}",
        fake.schema_rejections()
    );
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.writes());
    let providers = fake.providers();
    let ours: Vec<_> = providers
        .iter()
        .filter(|p| p["name"] == "gatehouse:jellyfin")
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["mode"], "forward_single");
    assert_eq!(ours[0]["external_host"], "https://jellyfin.example.com");
    assert_eq!(ours[0]["skip_path_regex"], "^/api(/|$)");
    assert_eq!(ours[0]["invalidation_flow"], fake_authentik::INVAL_FLOW_PK);
    let apps_now = fake.applications();
    assert_eq!(apps_now.len(), 1);
    assert_eq!(apps_now[0]["slug"], "jellyfin");
    assert_eq!(apps_now[0]["provider"], ours[0]["pk"]);
    assert_eq!(apps_now[0]["meta_publisher"], "gatehouse");
    assert_eq!(
        fake.embedded_providers(),
        vec![user_pk, ours[0]["pk"].as_i64().unwrap()]
    );

    fake.clear_requests();
    let r = sync(&fake, &mut prov, &apps);
    assert_eq!(r.writes, 0);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    // reads are list calls: flows x2, providers, applications, outposts (version is cached)
    assert_eq!(
        fake.requests().len(),
        5,
        "{:?}",
        fake.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn a_label_change_patches_in_place_and_removal_cleans_up_only_gatehouse_objects() {
    let fake = FakeAuthentik::start();
    let user_pk = fake.add_user_provider("my own provider", true);
    fake.add_user_app("their-app");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    sync(
        &fake,
        &mut prov,
        &[container("app", &[("auth.protect", "true")])],
    );
    let pk = fake
        .providers()
        .iter()
        .find(|p| p["name"] == "gatehouse:app")
        .unwrap()["pk"]
        .clone();
    fake.clear_requests();
    sync(
        &fake,
        &mut prov,
        &[container(
            "app",
            &[
                ("auth.protect", "true"),
                ("auth.name", "My App"),
                ("auth.group", "Tools"),
                ("auth.bypass", "/hooks"),
            ],
        )],
    );
    let writes = fake.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].path, format!("/api/v3/providers/proxy/{pk}/"));
    assert_eq!(
        writes[0].body,
        // Always with its mode: authentik refuses a provider patch without it (see the fake).
        Some(json!({"mode": "forward_single", "skip_path_regex": "^/hooks(/|$)"}))
    );
    assert_eq!(writes[1].path, "/api/v3/core/applications/app/");
    assert_eq!(
        writes[1].body,
        Some(json!({"group": "Tools", "name": "My App"}))
    );

    fake.clear_requests();
    sync(&fake, &mut prov, &[]);
    let writes: Vec<(String, String)> = fake
        .writes()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        writes,
        [
            (
                "PATCH".to_owned(),
                format!(
                    "/api/v3/outposts/instances/{}/",
                    fake_authentik::EMBEDDED_PK
                )
            ),
            (
                "DELETE".to_owned(),
                "/api/v3/core/applications/app/".to_owned()
            ),
            (
                "DELETE".to_owned(),
                format!("/api/v3/providers/proxy/{pk}/")
            ),
        ]
    );
    assert_eq!(fake.embedded_providers(), vec![user_pk]);
    assert_eq!(fake.providers().len(), 1);
    let slugs: Vec<_> = fake
        .applications()
        .iter()
        .map(|a| a["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("their-app")]);
}

#[test]
fn an_unmarked_app_with_the_same_slug_is_a_conflict_until_adopted() {
    let fake = FakeAuthentik::start();
    fake.add_user_app("wiki");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let r = sync(
        &fake,
        &mut prov,
        &[container("wiki", &[("auth.protect", "true")])],
    );
    assert_eq!(r.writes, 0);
    assert_eq!(r.problems, 1);
    assert_eq!(fake.applications()[0]["meta_publisher"], "");
    let r = sync(
        &fake,
        &mut prov,
        &[container(
            "wiki",
            &[("auth.protect", "true"), ("auth.adopt", "true")],
        )],
    );
    assert_eq!(r.writes, 3, "{:?}", fake.writes());
    assert_eq!(fake.applications()[0]["meta_publisher"], "gatehouse");
    assert!(fake.applications()[0]["provider"].is_i64());
}

#[test]
fn allow_groups_bind_groups_and_user_bindings_keep_the_app_on_removal() {
    let fake = FakeAuthentik::start();
    let admins = fake.add_group("admins");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let c = [container(
        "vault",
        &[("auth.protect", "true"), ("auth.allow_groups", "admins")],
    )];
    let r = sync(&fake, &mut prov, &c);
    assert_eq!(r.writes, 4, "{:?}", fake.writes());
    let b = fake.bindings();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["group"], json!(admins));
    assert_eq!(sync(&fake, &mut prov, &c).writes, 0);
    let r = sync(
        &fake,
        &mut prov,
        &[container(
            "vault",
            &[
                ("auth.protect", "true"),
                ("auth.allow_groups", "admins,ghosts"),
            ],
        )],
    );
    assert_eq!((r.writes, r.problems), (0, 1));

    let app_pk = fake.applications()[0]["pk"].as_str().unwrap().to_owned();
    fake.add_user_binding(&app_pk);
    fake.clear_requests();
    sync(&fake, &mut prov, &[]);
    let writes = fake.writes();
    assert_eq!(writes.len(), 1, "only taken out of the outpost: {writes:?}");
    assert_eq!(fake.applications().len(), 1);
    assert!(fake.embedded_providers().is_empty());
}

#[test]
fn an_older_server_gets_no_invalidation_flow() {
    let fake = FakeAuthentik::start_version("2024.2.3");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let apps = [container("jellyfin", &[("auth.protect", "true")])];
    let r = sync(&fake, &mut prov, &apps);
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.requests());
    assert!(fake.providers()[0].get("invalidation_flow").is_none());
    assert_eq!(sync(&fake, &mut prov, &apps).writes, 0);
}

#[test]
fn authentik_down_is_a_transient_error_and_the_next_round_converges() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let apps = [container("jellyfin", &[("auth.protect", "true")])];
    fake.stop();
    let d = desired(&fake, &apps);
    let rt = rt();
    let err = rt.block_on(prov.sync(&d, Duration::ZERO)).unwrap_err();
    assert!(err.is_transient(), "{err}");
    fake.resume();
    let r = rt.block_on(prov.sync(&d, Duration::ZERO)).unwrap();
    assert_eq!(r.writes, 3);
    assert_eq!(fake.embedded_providers().len(), 1);
}

#[test]
fn paging_reads_every_page() {
    let fake = FakeAuthentik::start();
    fake.with(|s| s.page_cap = 7);
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let apps: Vec<Workload> = (0..30)
        .map(|i| container(&format!("app{i}"), &[("auth.protect", "true")]))
        .collect();
    let r = sync(&fake, &mut prov, &apps);
    assert_eq!(r.writes, 61);
    assert_eq!(fake.embedded_providers().len(), 30);
    assert_eq!(
        sync(&fake, &mut prov, &apps).writes,
        0,
        "a missed page would recreate objects"
    );
}

#[test]
fn the_fake_rejects_wrong_field_names_read_only_fields_and_bad_enums() {
    let body = json!({"name": "x", "authorization_flow": fake_authentik::AUTHZ_FLOW_PK,
        "invalidation_flow": fake_authentik::INVAL_FLOW_PK, "external_host": "https://x.example.com"});
    assert!(
        fake_authentik::validate("ProxyProviderRequest", &body, Direction::Request, &[]).is_empty()
    );
    let mut typo = body.clone();
    typo["externl_host"] = json!("https://x");
    let errs = fake_authentik::validate("ProxyProviderRequest", &typo, Direction::Request, &[]);
    assert!(
        errs.iter()
            .any(|e| e.contains("externl_host: unknown field")),
        "{errs:?}"
    );
    let mut bad = body.clone();
    bad["mode"] = json!("forward_everything");
    assert!(
        !fake_authentik::validate("ProxyProviderRequest", &bad, Direction::Request, &[]).is_empty()
    );
    let missing = json!({"name": "x"});
    let errs = fake_authentik::validate("ProxyProviderRequest", &missing, Direction::Request, &[]);
    assert!(
        errs.iter()
            .any(|e| e.contains("external_host: this field is required")),
        "{errs:?}"
    );
    let ro = json!({"pk": 3, "name": "x"});
    let errs =
        fake_authentik::validate("PatchedProxyProviderRequest", &ro, Direction::Request, &[]);
    assert!(errs.iter().any(|e| e.contains("read-only")), "{errs:?}");
    let nul = json!({"name": null});
    assert!(
        !fake_authentik::validate("PatchedApplicationRequest", &nul, Direction::Request, &[])
            .is_empty()
    );
    // an old server has no invalidation_flow: sending it is an unknown field there
    let errs = fake_authentik::validate(
        "ProxyProviderRequest",
        &body,
        Direction::Request,
        &["invalidation_flow"],
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("invalidation_flow: unknown field")),
        "{errs:?}"
    );
}

/// Provisions container `app` (slug `jf`), then syncs `later` with the request log cleared.
fn provisioned_then(fake: &FakeAuthentik, prov: &mut Provisioner, later: &[Workload]) {
    sync(
        fake,
        prov,
        &[container(
            "app",
            &[("auth.protect", "true"), ("auth.slug", "jf")],
        )],
    );
    assert_eq!(fake.applications().len(), 1);
    fake.clear_requests();
    sync(fake, prov, later);
}

#[test]
fn a_bad_slug_or_subdomain_on_a_provisioned_app_removes_nothing() {
    let cases: &[&[(&str, &str)]] = &[
        // authentik label rejected, no slug can be told
        &[("auth.protect", "true"), ("auth.slug", "JF!")],
        // conf label rejected by the core, no slug can be told
        &[("auth.protect", "true"), ("auth.subdomain", "bad_sub!")],
        // conf label rejected by the core (kept last good), slug still readable
        &[
            ("auth.protect", "true"),
            ("auth.slug", "jf"),
            ("auth.port", "x"),
        ],
    ];
    for labels in cases {
        let fake = FakeAuthentik::start();
        let mut prov = Provisioner::new(&fake.settings()).unwrap();
        provisioned_then(&fake, &mut prov, &[container("app", labels)]);
        assert!(fake.writes().is_empty(), "{labels:?}: {:?}", fake.writes());
        assert_eq!(fake.applications().len(), 1, "{labels:?}");
        assert_eq!(fake.providers().len(), 1, "{labels:?}");
        assert_eq!(fake.embedded_providers().len(), 1, "{labels:?}");
    }
    // another app's leftovers wait too while a slug cannot be told, and go once it can
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let other = container("other", &[("auth.protect", "true")]);
    let good = container("app", &[("auth.protect", "true"), ("auth.slug", "jf")]);
    sync(&fake, &mut prov, &[other, good]);
    assert_eq!(fake.applications().len(), 2);
    fake.clear_requests();
    sync(
        &fake,
        &mut prov,
        &[container(
            "app",
            &[("auth.protect", "true"), ("auth.slug", "JF!")],
        )],
    );
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(fake.applications().len(), 2);
    sync(
        &fake,
        &mut prov,
        &[container(
            "app",
            &[("auth.protect", "true"), ("auth.slug", "jf")],
        )],
    );
    let slugs: Vec<_> = fake
        .applications()
        .iter()
        .map(|a| a["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("jf")]);
}

#[test]
fn a_provider_the_user_adds_to_the_outpost_during_a_round_is_kept() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let user_pk = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = user_pk.clone();
    // The user puts their own provider on the embedded outpost after gatehouse read it.
    fake.on_request("POST", "/api/v3/providers/proxy/", move |s| {
        *seen.lock().unwrap() = Some(s.add_user_provider("added meanwhile", true));
    });
    let r = sync(
        &fake,
        &mut prov,
        &[container("jellyfin", &[("auth.protect", "true")])],
    );
    assert_eq!(r.failed, 0);
    let user_pk = user_pk.lock().unwrap().expect("hook ran");
    let ours = fake
        .providers()
        .iter()
        .find(|p| p["name"] == "gatehouse:jellyfin")
        .unwrap()["pk"]
        .as_i64()
        .unwrap();
    assert_eq!(fake.embedded_providers(), vec![user_pk, ours]);
    // one extra read (the outpost, right before its write), none when nothing is written
    let outpost_reads = |fake: &FakeAuthentik| {
        fake.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/v3/outposts/instances/8e1b"))
            .count()
    };
    assert_eq!(outpost_reads(&fake), 1);
    fake.clear_requests();
    sync(
        &fake,
        &mut prov,
        &[container("jellyfin", &[("auth.protect", "true")])],
    );
    assert_eq!(outpost_reads(&fake), 0);
}

#[test]
fn when_the_outpost_refuses_a_removal_the_provider_and_app_stay() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    sync(
        &fake,
        &mut prov,
        &[container("jellyfin", &[("auth.protect", "true")])],
    );
    fake.refuse(
        "PATCH",
        "/api/v3/outposts/instances/",
        400,
        json!({"providers": ["refused for the test"]}),
    );
    fake.clear_requests();
    let r = sync(&fake, &mut prov, &[]);
    assert!(r.failed >= 1);
    let deletes: Vec<_> = fake
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .collect();
    assert!(deletes.is_empty(), "{deletes:?}");
    assert_eq!(fake.applications().len(), 1);
    assert_eq!(fake.providers().len(), 1);
    assert_eq!(fake.embedded_providers().len(), 1);
}

#[test]
fn a_refused_write_is_not_resent_until_the_labels_change() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    sync(
        &fake,
        &mut prov,
        &[container("app", &[("auth.protect", "true")])],
    );
    fake.refuse(
        "PATCH",
        "/api/v3/core/applications/app/",
        400,
        json!({"name": ["refused for the test"]}),
    );
    let named = |name: &str| {
        [container(
            "app",
            &[("auth.protect", "true"), ("auth.name", name)],
        )]
    };
    let patches = |fake: &FakeAuthentik| {
        fake.writes()
            .iter()
            .filter(|w| w.method == "PATCH" && w.path == "/api/v3/core/applications/app/")
            .count()
    };
    fake.clear_requests();
    // the conf loop hands the worker the same desired state on every pass
    for _ in 0..3 {
        let r = sync(&fake, &mut prov, &named("One"));
        assert_eq!(r.failed, 1, "still reported as failing");
    }
    assert_eq!(patches(&fake), 1, "{:?}", fake.writes());
    // a changed label is a new request: sent once
    fake.clear_requests();
    sync(&fake, &mut prov, &named("Two"));
    sync(&fake, &mut prov, &named("Two"));
    assert_eq!(patches(&fake), 1, "{:?}", fake.writes());
}

#[test]
fn the_fake_checks_paths_methods_and_query_parameters_against_the_schema() {
    use fake_authentik::check_operation;
    assert_eq!(
        check_operation(
            "GET",
            "/api/v3/core/applications/?page=1&page_size=100&ordering=slug&superuser_full_list=true"
        ),
        Ok(())
    );
    assert_eq!(
        check_operation(
            "GET",
            "/api/v3/policies/bindings/?target_in=8e1b4b6c-2d1f-4c0a-9d2e-000000000001&page=2"
        ),
        Ok(())
    );
    assert_eq!(
        check_operation("PATCH", "/api/v3/core/applications/jf/"),
        Ok(())
    );
    // a misspelled filter would be ignored by authentik and return everything
    let (code, why) = check_operation("GET", "/api/v3/core/applications/?slugg=jf").unwrap_err();
    assert_eq!(code, 400);
    assert!(why.contains("slugg"), "{why}");
    assert_eq!(
        check_operation("GET", "/api/v3/core/groups/?include_users=no").map_err(|e| e.0),
        Err(400)
    );
    assert_eq!(
        check_operation("GET", "/api/v3/policies/bindings/?target_in=jf").map_err(|e| e.0),
        Err(400)
    );
    assert_eq!(
        check_operation("GET", "/api/v3/core/aplications/").map_err(|e| e.0),
        Err(404)
    );
    assert_eq!(
        check_operation("PATCH", "/api/v3/core/applications/").map_err(|e| e.0),
        Err(405)
    );
}

#[test]
fn the_fake_checks_urls_as_authentik_does() {
    use fake_authentik::is_url;
    for ok in [
        "https://jf.example.com",
        "http://authentik-server:9000/",
        "https://192.168.1.10:8443/web?x=1#top",
        "https://[2001:db8::1]:9000/a",
        "http://localhost",
        "https://xn--bcher-kva.example/a_b!*()@[]",
    ] {
        assert!(is_url(ok), "{ok}");
    }
    for bad in [
        "ftp://x.example.com",
        "https://",
        "https://a_b.example.com",
        "https://a!b.example.com",
        "https://a*b.example.com",
        "https://user@example.com",
        "https://[example.com]",
        "https://ex(ample).com",
        "https://-x.example.com",
        "https://x..example.com",
        "https://x.example.com:123456",
        "https://x.example.com:",
        "https://x.example.com/a b",
    ] {
        assert!(!is_url(bad), "{bad}");
    }
}

#[test]
fn the_fake_keeps_one_application_per_provider_on_patch_too() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    sync(
        &fake,
        &mut prov,
        &[
            container("one", &[("auth.protect", "true")]),
            container("two", &[("auth.protect", "true")]),
        ],
    );
    let one = fake
        .applications()
        .iter()
        .find(|a| a["slug"] == "one")
        .unwrap()["provider"]
        .clone();
    let client = Client::new(&fake.url(), fake_authentik::TOKEN).unwrap();
    let body = gatehouse::model::authentik::AppPatch {
        provider: one.as_i64(),
        ..Default::default()
    };
    let err = rt()
        .block_on(client.patch_application("two", &body))
        .expect_err("a second application on one provider");
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("provider"), "{err}");
    // the application that has it may keep it
    rt().block_on(client.patch_application("one", &body))
        .expect("same provider on the same application");
}

fn provisioner_as(fake: &FakeAuthentik, instance: &str) -> Provisioner {
    let mut s = fake.settings();
    s.instance = Instance::named(instance).unwrap();
    Provisioner::new(&s).unwrap()
}

fn provider_named(fake: &FakeAuthentik, name: &str) -> Option<i64> {
    fake.providers()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["pk"].as_i64())
}

fn publisher_of(fake: &FakeAuthentik, slug: &str) -> Option<Value> {
    fake.applications()
        .into_iter()
        .find(|a| a["slug"] == slug)
        .map(|a| a["meta_publisher"].clone())
}

#[test]
fn two_instances_share_one_authentik_and_each_removes_only_its_own() {
    let fake = FakeAuthentik::start();
    let user_pk = fake.add_user_provider("my own provider", true);
    let mut east = provisioner_as(&fake, "east");
    let mut west = provisioner_as(&fake, "west");
    let east_apps = [container("jellyfin", &[("auth.protect", "true")])];
    let west_apps = [container("wiki", &[("auth.protect", "true")])];

    // both provision; each round also sees the other's objects, which it must not touch
    for _ in 0..2 {
        let r = sync(&fake, &mut east, &east_apps);
        assert_eq!(r.failed, 0);
        let r = sync(&fake, &mut west, &west_apps);
        assert_eq!(r.failed, 0);
    }
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    let jf = provider_named(&fake, "gatehouse/east:jellyfin").expect("east's provider");
    let wiki = provider_named(&fake, "gatehouse/west:wiki").expect("west's provider");
    assert_eq!(fake.providers().len(), 3);
    assert_eq!(
        publisher_of(&fake, "jellyfin"),
        Some(json!("gatehouse/east"))
    );
    assert_eq!(publisher_of(&fake, "wiki"), Some(json!("gatehouse/west")));
    assert_eq!(fake.embedded_providers(), vec![user_pk, jf, wiki]);

    // resyncs of both write nothing
    fake.clear_requests();
    assert_eq!(sync(&fake, &mut east, &east_apps).writes, 0);
    assert_eq!(sync(&fake, &mut west, &west_apps).writes, 0);

    // west also wants east's slug: a conflict for that container, east's objects untouched
    let dup = container(
        "jellyfin2",
        &[("auth.protect", "true"), ("auth.slug", "jellyfin")],
    );
    let r = sync(&fake, &mut west, &[west_apps[0].clone(), dup]);
    assert_eq!((r.writes, r.problems), (0, 1), "{:?}", fake.writes());
    assert_eq!(
        publisher_of(&fake, "jellyfin"),
        Some(json!("gatehouse/east"))
    );

    // east's app goes: east removes its objects and only its provider from the outpost
    fake.clear_requests();
    let r = sync(&fake, &mut east, &[]);
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.writes());
    assert!(fake
        .writes()
        .iter()
        .all(|w| !w.path.contains("/wiki/") && !w.path.ends_with(&format!("/{wiki}/"))));
    assert_eq!(provider_named(&fake, "gatehouse/east:jellyfin"), None);
    assert_eq!(publisher_of(&fake, "jellyfin"), None);
    assert_eq!(fake.embedded_providers(), vec![user_pk, wiki]);
    assert_eq!(provider_named(&fake, "gatehouse/west:wiki"), Some(wiki));
    assert_eq!(publisher_of(&fake, "wiki"), Some(json!("gatehouse/west")));

    // east, wanting nothing, keeps leaving west's objects alone; west is still satisfied
    fake.clear_requests();
    assert_eq!(sync(&fake, &mut east, &[]).writes, 0);
    assert_eq!(sync(&fake, &mut west, &west_apps).writes, 0);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(fake.embedded_providers(), vec![user_pk, wiki]);
}

#[test]
fn a_named_instance_leaves_the_unnamed_instances_objects_alone() {
    let fake = FakeAuthentik::start();
    // an install that ran without GATEHOUSE_INSTANCE
    let mut before = Provisioner::new(&fake.settings()).unwrap();
    let apps = [
        container("jellyfin", &[("auth.protect", "true")]),
        container("wiki", &[("auth.protect", "true")]),
    ];
    sync(&fake, &mut before, &apps);
    let old_jf = provider_named(&fake, "gatehouse:jellyfin").unwrap();
    let old_wiki = provider_named(&fake, "gatehouse:wiki").unwrap();
    // ... now runs as "home", with the same containers: conflicts, nothing adopted or deleted
    let mut home = provisioner_as(&fake, "home");
    fake.clear_requests();
    let r = sync(&fake, &mut home, &apps);
    assert_eq!((r.writes, r.problems), (0, 2), "{:?}", fake.writes());
    let r = sync(&fake, &mut home, &[]);
    assert_eq!(r.writes, 0, "{:?}", fake.writes());
    assert_eq!(fake.embedded_providers(), vec![old_jf, old_wiki]);
    // adopting one application: it becomes home's, with home's provider; the old provider stays
    let r = sync(
        &fake,
        &mut home,
        &[container(
            "jellyfin",
            &[("auth.protect", "true"), ("auth.adopt", "true")],
        )],
    );
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.writes());
    let new_jf = provider_named(&fake, "gatehouse/home:jellyfin").unwrap();
    assert_eq!(
        publisher_of(&fake, "jellyfin"),
        Some(json!("gatehouse/home"))
    );
    assert_eq!(fake.embedded_providers(), vec![old_jf, old_wiki, new_jf]);
    assert_eq!(publisher_of(&fake, "wiki"), Some(json!("gatehouse")));
    assert!(fake.schema_rejections().is_empty());
}

fn app_field(fake: &FakeAuthentik, slug: &str, field: &str) -> Value {
    fake.applications()
        .into_iter()
        .find(|a| a["slug"] == slug)
        .map(|a| a[field].clone())
        .unwrap_or(Value::Null)
}

/// A provisioner keeping its field record in `dir` (SWAG's config folder), as `gatehouse run`
/// does; a new one is a gatehouse restart.
fn provisioner_in(fake: &FakeAuthentik, dir: &std::path::Path) -> Provisioner {
    Provisioner::new(&fake.settings())
        .unwrap()
        .with_state_file(FieldStateFile::new(dir))
}

fn record(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("gatehouse/authentik.json")).unwrap_or_default()
}

const MEDIA: &[(&str, &str)] = &[
    ("auth.protect", "true"),
    ("auth.group", "Media"),
    ("auth.icon", "fa://fa-film"),
];

#[test]
fn a_container_recreated_without_auth_group_gets_its_group_cleared_even_after_a_restart() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    let r = sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    assert_eq!((r.writes, r.failed), (3, 0), "{:?}", fake.writes());
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Media");
    assert!(
        record(dir.path()).contains("\"Media\""),
        "{}",
        record(dir.path())
    );
    drop(prov);

    // gatehouse restarts; the container comes back without auth.group
    let mut prov = provisioner_in(&fake, dir.path());
    fake.clear_requests();
    let without = [container(
        "jellyfin",
        &[("auth.protect", "true"), ("auth.icon", "fa://fa-film")],
    )];
    let r = sync(&fake, &mut prov, &without);
    assert_eq!((r.writes, r.failed), (1, 0), "{:?}", fake.writes());
    let w = &fake.writes()[0];
    assert_eq!(
        (w.method.as_str(), w.path.as_str()),
        ("PATCH", "/api/v3/core/applications/jellyfin/")
    );
    assert_eq!(w.body, Some(json!({"group": ""})));
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    assert_eq!(app_field(&fake, "jellyfin", "group"), "");
    assert_eq!(app_field(&fake, "jellyfin", "meta_icon"), "fa://fa-film");
    let text = record(dir.path());
    assert!(!text.contains("Media"), "{text}");
    assert!(text.contains("fa://fa-film"), "{text}");

    // nothing changed: no write, and the record is not rewritten
    let modified = || {
        std::fs::metadata(dir.path().join("gatehouse/authentik.json"))
            .and_then(|m| m.modified())
            .unwrap()
    };
    let before = modified();
    fake.clear_requests();
    assert_eq!(sync(&fake, &mut prov, &without).writes, 0);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(modified(), before);

    // the application goes with its container: the record forgets it
    sync(&fake, &mut prov, &[]);
    assert!(fake.applications().is_empty());
    assert!(
        !record(dir.path()).contains("jellyfin"),
        "{}",
        record(dir.path())
    );
}

#[test]
fn a_group_changed_in_authentik_meanwhile_is_kept_when_the_label_goes() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    // the user renames the group in authentik's UI
    fake.with(|s| s.applications[0]["group"] = json!("Films"));
    fake.clear_requests();
    let without = [container(
        "jellyfin",
        &[("auth.protect", "true"), ("auth.icon", "fa://fa-film")],
    )];
    let r = sync(&fake, &mut prov, &without);
    assert_eq!((r.writes, r.failed), (0, 0), "{:?}", fake.writes());
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Films");
    // the field is the user's now: forgotten, and left alone from then on
    assert!(
        !record(dir.path()).contains("Media"),
        "{}",
        record(dir.path())
    );
    let mut prov = provisioner_in(&fake, dir.path());
    assert_eq!(sync(&fake, &mut prov, &without).writes, 0);
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Films");
}

#[test]
fn a_corrupt_record_clears_nothing() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    std::fs::write(
        dir.path().join("gatehouse/authentik.json"),
        "{\"instances\": [",
    )
    .unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    fake.clear_requests();
    let r = sync(
        &fake,
        &mut prov,
        &[container("jellyfin", &[("auth.protect", "true")])],
    );
    assert_eq!(r.writes, 0, "{:?}", fake.writes());
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Media");
    assert_eq!(app_field(&fake, "jellyfin", "meta_icon"), "fa://fa-film");
    // the corrupt record was moved aside, not silently overwritten
    assert_eq!(
        std::fs::read_to_string(dir.path().join("gatehouse/authentik.json.corrupt")).unwrap(),
        "{\"instances\": ["
    );
    let fresh: Value = serde_json::from_str(&record(dir.path())).unwrap();
    assert_eq!(fresh, json!({"instances": {}}));
}

#[test]
fn an_unreadable_record_is_read_again_later_and_not_overwritten_meanwhile() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    let path = dir.path().join("gatehouse/authentik.json");
    let away = dir.path().join("away.json");
    std::fs::rename(&path, &away).unwrap();
    // cannot be read for now (here: something else is in its place)
    std::fs::create_dir(&path).unwrap();
    let docs = container("wiki", &[("auth.protect", "true"), ("auth.group", "Docs")]);
    let without = container(
        "jellyfin",
        &[("auth.protect", "true"), ("auth.icon", "fa://fa-film")],
    );
    let both = [without, docs];
    let mut prov = provisioner_in(&fake, dir.path());
    // auth.group is gone, but what gatehouse set is unknown now: nothing is cleared
    sync(&fake, &mut prov, &both);
    assert!(path.is_dir());
    assert_eq!(app_field(&fake, "wiki", "group"), "Docs");
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Media");
    // readable again: the record is read, and jellyfin's group, set before, is cleared
    std::fs::remove_dir(&path).unwrap();
    std::fs::rename(&away, &path).unwrap();
    sync(&fake, &mut prov, &both);
    assert_eq!(app_field(&fake, "jellyfin", "group"), "");
    let text = record(dir.path());
    assert!(
        text.contains("\"Docs\"") && text.contains("fa://fa-film") && !text.contains("Media"),
        "{text}"
    );
}

#[test]
fn the_dry_run_shows_the_clearing_and_writes_no_record() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    let path = dir.path().join("gatehouse/authentik.json");
    let (bytes, modified) = (
        std::fs::read(&path).unwrap(),
        std::fs::metadata(&path).unwrap().modified().unwrap(),
    );
    let mut prov = provisioner_in(&fake, dir.path());
    fake.clear_requests();
    let d = desired(&fake, &[container("jellyfin", &[("auth.protect", "true")])]);
    let preview = rt().block_on(prov.preview(&d)).expect("preview");
    let lines = preview.actions(gatehouse::render::wording::Tense::Planned);
    assert_eq!(
        lines,
        ["would update authentik application jellyfin for container jellyfin (group: \"\", meta_icon: \"\"; cleared: auth.group and auth.icon are no longer set, and authentik still held what gatehouse had set from them)"]
    );
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn the_dry_run_writes_no_record_where_a_round_would() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    // an empty record, while authentik holds what the labels ask for: a round would record it
    let path = dir.path().join("gatehouse/authentik.json");
    std::fs::write(&path, "{\n  \"instances\": {}\n}\n").unwrap();
    let (bytes, modified) = (
        std::fs::read(&path).unwrap(),
        std::fs::metadata(&path).unwrap().modified().unwrap(),
    );
    let mut prov = provisioner_in(&fake, dir.path());
    let d = desired(&fake, &[container("jellyfin", MEDIA)]);
    let preview = rt().block_on(prov.preview(&d)).expect("preview");
    assert!(
        preview
            .actions(gatehouse::render::wording::Tense::Planned)
            .is_empty(),
        "{:?}",
        preview.actions(gatehouse::render::wording::Tense::Planned)
    );
    assert!(!preview.plan.memory.is_empty(), "a round would record");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("gatehouse"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["authentik.json", "authentik.json.lock"]);
    // the same round for real does record it
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    assert_ne!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_value_authentik_refused_is_not_recorded() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let mut prov = provisioner_in(&fake, dir.path());
    sync(&fake, &mut prov, &[container("jellyfin", MEDIA)]);
    fake.refuse(
        "PATCH",
        "/api/v3/core/applications/jellyfin/",
        400,
        json!({"group": ["refused for the test"]}),
    );
    let video = [container(
        "jellyfin",
        &[
            ("auth.protect", "true"),
            ("auth.group", "Video"),
            ("auth.icon", "fa://fa-film"),
        ],
    )];
    let r = sync(&fake, &mut prov, &video);
    assert_eq!(r.failed, 1);
    assert_eq!(app_field(&fake, "jellyfin", "group"), "Media");
    let text = record(dir.path());
    assert!(
        text.contains("\"Media\"") && !text.contains("Video"),
        "{text}"
    );
}

#[test]
fn two_instances_writing_one_record_keep_each_others_values() {
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().unwrap();
    let as_instance = |name: &str| {
        let mut s = fake.settings();
        s.instance = Instance::named(name).unwrap();
        Provisioner::new(&s)
            .unwrap()
            .with_state_file(FieldStateFile::new(dir.path()))
    };
    let (mut east, mut west) = (as_instance("east"), as_instance("west"));
    // both have read the (missing) record before either writes it
    sync(&fake, &mut east, &[]);
    sync(&fake, &mut west, &[]);
    sync(&fake, &mut east, &[container("jellyfin", MEDIA)]);
    sync(
        &fake,
        &mut west,
        &[container(
            "wiki",
            &[("auth.protect", "true"), ("auth.group", "Docs")],
        )],
    );
    let text = record(dir.path());
    assert!(
        text.contains("\"gatehouse/east\"") && text.contains("\"Media\""),
        "{text}"
    );
    assert!(
        text.contains("\"gatehouse/west\"") && text.contains("\"Docs\""),
        "{text}"
    );
    // east, restarted, still clears its own group when the label goes
    let mut east = as_instance("east");
    fake.clear_requests();
    let r = sync(
        &fake,
        &mut east,
        &[container(
            "jellyfin",
            &[("auth.protect", "true"), ("auth.icon", "fa://fa-film")],
        )],
    );
    assert_eq!(r.writes, 1, "{:?}", fake.writes());
    assert_eq!(app_field(&fake, "jellyfin", "group"), "");
    assert_eq!(app_field(&fake, "wiki", "group"), "Docs");
}

#[test]
fn the_fake_refuses_what_authentiks_serializers_refuse() {
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    sync(
        &fake,
        &mut prov,
        &[container("app", &[("auth.protect", "true")])],
    );
    let pk = provider_named(&fake, "gatehouse:app").unwrap();
    let path = format!("/api/v3/providers/proxy/{pk}/");
    // A partial update without mode is validated as proxy mode, which needs an internal host.
    let (status, _, text) = fake.raw("PATCH", &path, Some(json!({"skip_path_regex": "^/x"})));
    assert_eq!(status, 400, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"internal_host": ["Internal host cannot be empty when forward auth is disabled."]})
    );
    let with_mode = json!({"mode": "forward_single", "skip_path_regex": "^/x"});
    assert_eq!(fake.raw("PATCH", &path, Some(with_mode)).0, 200);
    let basic = json!({"mode": "forward_single", "basic_auth_enabled": true});
    let (status, _, text) = fake.raw("PATCH", &path, Some(basic));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("basic_auth_enabled"), "{text}");

    let reserved = json!({"name": "Token", "slug": "token"});
    let (status, _, text) = fake.raw("POST", "/api/v3/core/applications/", Some(reserved));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("The slug 'token' is reserved"), "{text}");

    let target = fake
        .applications()
        .iter()
        .find(|a| a["slug"] == "app")
        .unwrap()["pk"]
        .clone();
    let group = fake.add_group("media");
    let both = json!({"group": group, "user": 1, "target": target, "order": 5});
    let (status, _, text) = fake.raw("POST", "/api/v3/policies/bindings/", Some(both));
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("Only one of 'policy', 'group', 'user' can be set."),
        "{text}"
    );
    let none = json!({"target": target, "order": 5});
    let (status, _, text) = fake.raw("POST", "/api/v3/policies/bindings/", Some(none));
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("One of 'policy', 'group', 'user' must be set."),
        "{text}"
    );

    let gone = "8e1b4b6c-2d1f-4c0a-9d2e-00000000dead";
    let (status, _, text) = fake.raw(
        "GET",
        &format!(
            "/api/v3/policies/bindings/?target_in={}&target_in={gone}",
            target.as_str().unwrap()
        ),
        None,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Select a valid choice."), "{text}");

    let (status, kind, text) = fake.raw("GET", "/api/v3/no/such/endpoint/", None);
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(text.contains("<html"), "{text}");
}

#[test]
fn paging_stops_when_the_server_repeats_a_page() {
    let fake = FakeAuthentik::start();
    fake.with(|s| s.stuck_next = true);
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let d = desired(&fake, &[container("app", &[("auth.protect", "true")])]);
    let r = rt()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), prov.sync(&d, Duration::ZERO)).await
        })
        .expect("a next that does not advance must not keep gatehouse reading")
        .expect("sync");
    assert_eq!(r.failed, 0);
    let provider_reads = fake
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.path.starts_with("/api/v3/providers/proxy/?"))
        .count();
    assert_eq!(provider_reads, 1);
}

#[test]
fn a_wrong_url_answered_with_an_html_page_is_said_without_quoting_it() {
    let fake = FakeAuthentik::start();
    let mut settings = fake.settings();
    settings.url = format!("{}/authentik", fake.url());
    let mut prov = Provisioner::new(&settings).unwrap();
    let d = desired(&fake, &[container("app", &[("auth.protect", "true")])]);
    let err = rt().block_on(prov.sync(&d, Duration::ZERO)).unwrap_err();
    let said = err.to_string();
    assert!(said.contains("404"), "{said}");
    assert!(said.contains("GATEHOUSE_AUTHENTIK_URL"), "{said}");
    assert!(!said.contains('<'), "{said}");
}

#[test]
fn an_application_deleted_while_bindings_are_read_does_not_fail_the_round() {
    let fake = FakeAuthentik::start();
    fake.add_group("media");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let apps = [
        container(
            "one",
            &[("auth.protect", "true"), ("auth.allow_groups", "media")],
        ),
        container(
            "two",
            &[("auth.protect", "true"), ("auth.allow_groups", "media")],
        ),
    ];
    sync(&fake, &mut prov, &apps);
    assert_eq!(fake.bindings().len(), 2);
    // The user deletes application two right after gatehouse listed the applications.
    fake.on_request("GET", "/api/v3/policies/bindings/", |st| {
        let pk = st.applications.iter().find(|a| a["slug"] == "two").unwrap()["pk"].clone();
        st.applications.retain(|a| a["pk"] != pk);
        st.bindings.retain(|b| b["target"] != pk);
    });
    let r = sync(&fake, &mut prov, &apps);
    let refused_reads: Vec<_> = fake
        .schema_rejections()
        .into_iter()
        .filter(|q| q.method == "GET" && q.path.contains("target_in"))
        .collect();
    assert!(!refused_reads.is_empty(), "the race did not happen");
    // one's binding was read: it is not made again. two's binding cannot be made (it is gone):
    // that request alone fails, and the next round makes two again.
    let one_pk = fake
        .applications()
        .iter()
        .find(|a| a["slug"] == "one")
        .unwrap()["pk"]
        .clone();
    let bindings = fake.bindings();
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    assert_eq!(bindings[0]["target"], one_pk);
    assert!(r.failed <= 1, "{r:?}");
    sync(&fake, &mut prov, &apps);
    assert_eq!(fake.bindings().len(), 2);
}

#[test]
fn removing_the_last_allow_groups_removes_its_binding_and_the_dry_run_says_so() {
    let fake = FakeAuthentik::start();
    fake.add_group("media");
    let mut prov = Provisioner::new(&fake.settings()).unwrap();
    let with = [container(
        "app",
        &[("auth.protect", "true"), ("auth.allow_groups", "media")],
    )];
    sync(&fake, &mut prov, &with);
    assert_eq!(fake.bindings().len(), 1);
    let without = [container("app", &[("auth.protect", "true")])];
    let preview = rt()
        .block_on(prov.preview(&desired(&fake, &without)))
        .expect("preview");
    assert!(
        preview
            .plan
            .ops
            .iter()
            .any(|op| matches!(op, authentik::Op::DeleteBinding { .. })),
        "{:?}",
        preview.plan.ops
    );
    let r = sync(&fake, &mut prov, &without);
    assert_eq!((r.writes, r.failed), (1, 0), "{:?}", fake.writes());
    assert!(fake.bindings().is_empty(), "{:?}", fake.bindings());
}
