use super::*;
use serde_json::json;

const AUTHZ: &str = "11111111-1111-4111-8111-111111111111";
const INVAL: &str = "22222222-2222-4222-8222-222222222222";
const EMBEDDED: &str = "33333333-3333-4333-8333-333333333333";

fn want(slug: &str) -> AppWant {
    AppWant {
        container: format!("c-{slug}"),
        slug: slug.into(),
        name: slug.into(),
        group: None,
        icon: None,
        description: None,
        launch_url: None,
        external_host: format!("https://{slug}.example.com"),
        skip_path_regex: String::new(),
        allow_groups: Vec::new(),
        outpost: None,
        adopt: false,
    }
}

fn world(version: (u32, u32)) -> Actual {
    Actual {
        version: Some(ServerVersion::new(version.0, version.1)),
        authorization_flow: Some(AUTHZ.into()),
        invalidation_flow: Some(INVAL.into()),
        outposts: vec![Outpost {
            pk: EMBEDDED.into(),
            name: "authentik Embedded Outpost".into(),
            kind: Some("proxy".into()),
            providers: vec![],
            managed: Some(EMBEDDED_OUTPOST.into()),
        }],
        ..Actual::default()
    }
}

fn rules() -> Rules {
    rules_as(Instance::unnamed())
}

fn rules_as(instance: Instance) -> Rules {
    Rules {
        instance,
        default_outpost: None,
        authorization_flow_slug: "authz".into(),
        invalidation_flow_slug: "inval".into(),
    }
}

fn run(actual: &Actual, wants: &[AppWant]) -> Plan {
    plan(
        actual,
        wants,
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules(),
        &mut RemovalClock::default(),
        Instant::now(),
        Duration::ZERO,
    )
}

fn run_as(instance: &Instance, actual: &Actual, wants: &[AppWant]) -> Plan {
    plan(
        actual,
        wants,
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules_as(instance.clone()),
        &mut RemovalClock::default(),
        Instant::now(),
        Duration::ZERO,
    )
}

fn named(n: &str) -> Instance {
    Instance::named(n).unwrap()
}

/// What authentik would hold after the plan's requests (a tiny model of the server).
fn applied(actual: &Actual, plan: &Plan) -> Actual {
    let mut a = actual.clone();
    let mut next_pk = a.providers.iter().map(|p| p.pk).max().unwrap_or(0) + 1;
    let mut new_pk: BTreeMap<String, i64> = BTreeMap::new();
    fn s<B: serde::Serialize>(body: &B, k: &str) -> Option<String> {
        let m = serde_json::to_value(body).unwrap();
        m.get(k).and_then(|v| v.as_str()).map(str::to_owned)
    }
    for op in &plan.ops {
        match op {
            Op::CreateProvider { slug, body } => {
                a.providers.push(ProxyProvider {
                    pk: next_pk,
                    name: s(body, "name").unwrap(),
                    authorization_flow: s(body, "authorization_flow"),
                    invalidation_flow: s(body, "invalidation_flow"),
                    external_host: s(body, "external_host").unwrap(),
                    skip_path_regex: s(body, "skip_path_regex").unwrap_or_default(),
                    mode: s(body, "mode"),
                    assigned_application_slug: None,
                });
                new_pk.insert(slug.clone(), next_pk);
                next_pk += 1;
            }
            Op::PatchProvider { pk, body, .. } => {
                let p = a.providers.iter_mut().find(|p| p.pk == *pk).unwrap();
                if let Some(v) = s(body, "external_host") {
                    p.external_host = v;
                }
                if let Some(v) = s(body, "skip_path_regex") {
                    p.skip_path_regex = v;
                }
            }
            Op::CreateApplication {
                slug,
                body,
                provider,
            } => a.applications.push(Application {
                pk: format!("app-{slug}"),
                slug: slug.clone(),
                name: s(body, "name").unwrap(),
                provider: Some(match provider {
                    ProviderRef::Existing(pk) => *pk,
                    ProviderRef::New(s) => new_pk[s],
                }),
                group: s(body, "group"),
                meta_icon: s(body, "meta_icon"),
                meta_description: s(body, "meta_description"),
                meta_launch_url: s(body, "meta_launch_url"),
                meta_publisher: s(body, "meta_publisher"),
            }),
            Op::PatchApplication {
                slug,
                body,
                provider,
                ..
            } => {
                let app = a.applications.iter_mut().find(|x| &x.slug == slug).unwrap();
                if let Some(v) = s(body, "name") {
                    app.name = v;
                }
                if let Some(v) = s(body, "meta_publisher") {
                    app.meta_publisher = Some(v);
                }
                if let Some(v) = s(body, "group") {
                    app.group = Some(v);
                }
                if let Some(v) = s(body, "meta_icon") {
                    app.meta_icon = Some(v);
                }
                if let Some(v) = s(body, "meta_description") {
                    app.meta_description = Some(v);
                }
                if let Some(v) = s(body, "meta_launch_url") {
                    app.meta_launch_url = Some(v);
                }
                if let Some(p) = provider {
                    app.provider = Some(match p {
                        ProviderRef::Existing(pk) => *pk,
                        ProviderRef::New(s) => new_pk[s],
                    });
                }
            }
            Op::SetOutpostProviders {
                pk, added, removed, ..
            } => {
                let o = a.outposts.iter_mut().find(|o| &o.pk == pk).unwrap();
                let add: Vec<i64> = added
                    .iter()
                    .map(|(_, r)| match r {
                        ProviderRef::Existing(pk) => *pk,
                        ProviderRef::New(s) => new_pk[s],
                    })
                    .collect();
                let remove: Vec<i64> = removed.iter().map(|(_, pk)| *pk).collect();
                o.providers = outpost_providers(&o.providers, &add, &remove);
            }
            Op::CreateBinding { app, group_pk, .. } => a.bindings.push(PolicyBinding {
                pk: format!("b{}", a.bindings.len()),
                policy: None,
                group: Some(group_pk.clone()),
                user: None,
                target: match app {
                    AppRef::Existing(pk) => pk.clone(),
                    AppRef::New(s) => format!("app-{s}"),
                },
                order: BINDING_ORDER,
            }),
            Op::DeleteBinding { pk, .. } => a.bindings.retain(|b| &b.pk != pk),
            Op::DeleteApplication { slug } => a.applications.retain(|x| &x.slug != slug),
            Op::DeleteProvider { pk, .. } => a.providers.retain(|p| p.pk != *pk),
        }
    }
    a
}

#[test]
fn a_new_app_gets_provider_application_and_outpost_in_that_order() {
    let p = run(&world((2026, 5)), &[want("jf")]);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.ops.len(), 3);
    let Op::CreateProvider { body, .. } = &p.ops[0] else {
        panic!("{:?}", p.ops[0])
    };
    let body = body.fields();
    assert_eq!(body["name"], "gatehouse:jf");
    assert_eq!(body["mode"], "forward_single");
    assert_eq!(body["authorization_flow"], AUTHZ);
    assert_eq!(body["invalidation_flow"], INVAL);
    assert_eq!(body["external_host"], "https://jf.example.com");
    let Op::CreateApplication { body, provider, .. } = &p.ops[1] else {
        panic!("{:?}", p.ops[1])
    };
    let body = body.fields();
    assert_eq!(body["meta_publisher"], PUBLISHER);
    assert_eq!(*provider, ProviderRef::New("jf".into()));
    let Op::SetOutpostProviders {
        pk, added, removed, ..
    } = &p.ops[2]
    else {
        panic!("{:?}", p.ops[2])
    };
    assert_eq!(pk, EMBEDDED);
    assert_eq!(added, &[("jf".into(), ProviderRef::New("jf".into()))]);
    assert!(removed.is_empty());
}

#[test]
fn an_unchanged_world_plans_nothing() {
    let wants: Vec<AppWant> = (0..100).map(|i| want(&format!("app{i}"))).collect();
    let a = world((2026, 5));
    let after = applied(&a, &run(&a, &wants));
    assert_eq!(after.providers.len(), 100);
    assert_eq!(after.outposts[0].providers.len(), 100);
    let again = run(&after, &wants);
    assert_eq!(again.ops, vec![], "second round must write nothing");
}

#[test]
fn older_servers_get_no_invalidation_flow() {
    let mut a = world((2024, 2));
    a.invalidation_flow = None;
    let p = run(&a, &[want("jf")]);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let Op::CreateProvider { body, .. } = &p.ops[0] else {
        panic!()
    };
    let body = body.fields();
    assert!(!body.contains_key("invalidation_flow"));
    // and a provider without one is not patched on such a server
    let after = applied(&a, &p);
    assert_eq!(run(&after, &[want("jf")]).ops, vec![]);
}

#[test]
fn a_missing_invalidation_flow_blocks_new_servers_only() {
    let mut a = world((2024, 10));
    a.invalidation_flow = None;
    let p = run(&a, &[want("jf")]);
    assert!(p.ops.is_empty());
    assert!(p.problems[0].message.contains("inval"));
}

#[test]
fn a_label_change_patches_only_what_changed() {
    let a = world((2026, 5));
    let after = applied(&a, &run(&a, &[want("jf")]));
    let mut w = want("jf");
    w.external_host = "https://tv.example.com".into();
    w.skip_path_regex = "^/api(/|$)".into();
    w.name = "Jellyfin".into();
    w.group = Some("Media".into());
    let p = run(&after, &[w]);
    assert_eq!(p.ops.len(), 2, "{:?}", p.ops);
    let Op::PatchProvider { body, .. } = &p.ops[0] else {
        panic!()
    };
    let body = body.fields();
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["external_host", "skip_path_regex"]);
    let Op::PatchApplication { body, provider, .. } = &p.ops[1] else {
        panic!()
    };
    let body = body.fields();
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["group", "name"]);
    assert_eq!(*provider, None);
}

#[test]
fn removal_deletes_only_gatehouse_objects_and_keeps_user_providers_in_the_outpost() {
    let mut a = world((2026, 5));
    a.providers.push(ProxyProvider {
        pk: 50,
        name: "users own".into(),
        ..ProxyProvider::default()
    });
    a.outposts[0].providers.push(50);
    a.applications.push(Application {
        pk: "u".into(),
        slug: "mine".into(),
        name: "mine".into(),
        provider: Some(50),
        ..Application::default()
    });
    let after = applied(&a, &run(&a, &[want("jf")]));
    assert_eq!(after.outposts[0].providers.len(), 2);
    let p = run(&after, &[]);
    let jf_pk = after
        .providers
        .iter()
        .find(|p| p.name == "gatehouse:jf")
        .unwrap()
        .pk;
    assert_eq!(
        p.ops,
        vec![
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "authentik Embedded Outpost".into(),
                added: vec![],
                removed: vec![("jf".into(), jf_pk)],
            },
            Op::DeleteApplication { slug: "jf".into() },
            Op::DeleteProvider {
                slug: "jf".into(),
                pk: jf_pk
            },
        ]
    );
}

#[test]
fn removal_waits_for_the_grace_period() {
    let a = world((2026, 5));
    let after = applied(&a, &run(&a, &[want("jf")]));
    let mut clock = RemovalClock::default();
    let t0 = Instant::now();
    let grace = Duration::from_secs(30);
    let p = plan(
        &after,
        &[],
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules(),
        &mut clock,
        t0,
        grace,
    );
    assert!(p.ops.is_empty(), "{:?}", p.ops);
    assert_eq!(p.next_due, Some(grace));
    let p = plan(
        &after,
        &[],
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules(),
        &mut clock,
        t0 + grace,
        grace,
    );
    assert_eq!(p.ops.len(), 3);
    // coming back within the grace period resets the clock
    let mut clock = RemovalClock::default();
    plan(
        &after,
        &[],
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules(),
        &mut clock,
        t0,
        grace,
    );
    let p = plan(
        &after,
        &[want("jf")],
        &FieldMemory::default(),
        &BTreeSet::new(),
        false,
        &rules(),
        &mut clock,
        t0,
        grace,
    );
    assert!(p.ops.is_empty());
    assert_eq!(clock.pending(), 0);
}

#[test]
fn held_apps_are_not_removed() {
    let a = world((2026, 5));
    let after = applied(&a, &run(&a, &[want("jf")]));
    let held = BTreeSet::from(["jf".to_owned()]);
    let p = plan(
        &after,
        &[],
        &FieldMemory::default(),
        &held,
        false,
        &rules(),
        &mut RemovalClock::default(),
        Instant::now(),
        Duration::ZERO,
    );
    assert!(p.ops.is_empty(), "{:?}", p.ops);
    assert_eq!(p.kept.len(), 1);
}

#[test]
fn an_unmarked_app_with_the_same_slug_is_a_conflict_unless_adopted() {
    let mut a = world((2026, 5));
    a.applications.push(Application {
        pk: "u".into(),
        slug: "jf".into(),
        name: "Their Jellyfin".into(),
        ..Application::default()
    });
    let p = run(&a, &[want("jf")]);
    assert!(p.ops.is_empty());
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].container, "c-jf");
    assert!(p.problems[0].message.contains("auth.adopt"));
    // the unmarked app is never removed either
    assert!(run(&a, &[]).ops.is_empty());

    let mut w = want("jf");
    w.adopt = true;
    let p = run(&a, &[w.clone()]);
    let Op::PatchApplication {
        body,
        provider,
        adopt,
        ..
    } = &p.ops[1]
    else {
        panic!("{:?}", p.ops)
    };
    assert!(adopt);
    let body = body.fields();
    assert_eq!(body["meta_publisher"], PUBLISHER);
    assert_eq!(*provider, Some(ProviderRef::New("jf".into())));
    let after = applied(&a, &p);
    assert!(run(&after, &[w]).ops.is_empty());
}

#[test]
fn allow_groups_become_marked_bindings_and_user_bindings_keep_an_app() {
    let mut a = world((2026, 5));
    a.groups = vec![
        Group {
            pk: "g-admins".into(),
            name: "admins".into(),
        },
        Group {
            pk: "g-family".into(),
            name: "family".into(),
        },
    ];
    let mut w = want("jf");
    w.allow_groups = vec!["admins".into(), "family".into()];
    let after = applied(&a, &run(&a, &[w.clone()]));
    assert_eq!(after.bindings.len(), 2);
    assert!(run(&after, &[w.clone()]).ops.is_empty());
    // a group dropped from the label: only that binding goes
    w.allow_groups = vec!["family".into()];
    let p = run(&after, &[w.clone()]);
    assert!(
        matches!(&p.ops[..], [Op::DeleteBinding { .. }]),
        "{:?}",
        p.ops
    );
    // an unknown group is an error for that app
    w.allow_groups = vec!["nobody".into()];
    let p = run(&after, &[w]);
    assert!(p.ops.is_empty());
    assert!(p.problems[0].message.contains("nobody"));
    // the user bound a policy themselves: removal keeps the application, takes it out of the outpost
    let mut with_user = after.clone();
    with_user.bindings.push(PolicyBinding {
        pk: "user-binding".into(),
        policy: Some("p".into()),
        target: "app-jf".into(),
        order: 0,
        ..PolicyBinding::default()
    });
    let p = run(&with_user, &[]);
    assert!(
        matches!(&p.ops[..], [Op::SetOutpostProviders { .. }]),
        "{:?}",
        p.ops
    );
    assert!(p.kept[0].1.contains("policy binding"));
}

#[test]
fn a_named_outpost_is_used_and_a_move_changes_both_outposts() {
    let mut a = world((2026, 5));
    a.outposts.push(Outpost {
        pk: "lan".into(),
        name: "LAN".into(),
        ..Outpost::default()
    });
    let after = applied(&a, &run(&a, &[want("jf")]));
    let mut w = want("jf");
    w.outpost = Some("LAN".into());
    let p = run(&after, &[w.clone()]);
    assert_eq!(p.ops.len(), 2, "{:?}", p.ops);
    let after = applied(&after, &p);
    assert!(after.outposts[0].providers.is_empty());
    assert_eq!(after.outposts[1].providers.len(), 1);
    w.outpost = Some("nope".into());
    let p = run(&after, &[w]);
    assert!(p.problems[0].message.contains("nope"));
}

#[test]
fn two_containers_with_one_slug_are_a_conflict() {
    let mut second = want("jf");
    second.container = "c-other".into();
    let p = run(&world((2026, 5)), &[want("jf"), second]);
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].container, "c-other");
}

#[test]
fn an_orphan_provider_from_a_crash_is_reused() {
    let a = world((2026, 5));
    let p = run(&a, &[want("jf")]);
    // only the provider request went through
    let partial = applied(
        &a,
        &Plan {
            ops: p.ops[..1].to_vec(),
            ..Plan::default()
        },
    );
    let p = run(&partial, &[want("jf")]);
    assert!(
        matches!(
            &p.ops[..],
            [
                Op::CreateApplication {
                    provider: ProviderRef::Existing(_),
                    ..
                },
                Op::SetOutpostProviders { .. }
            ]
        ),
        "{:?}",
        p.ops
    );
}

#[test]
fn icons_are_set_only_where_the_field_is_writable() {
    let mut w = want("jf");
    w.icon = Some("https://cdn.example.com/jf.png".into());
    let new = run(&world((2026, 5)), &[w.clone()]);
    let Op::CreateApplication { body, .. } = &new.ops[1] else {
        panic!()
    };
    let body = body.fields();
    assert_eq!(body["meta_icon"], "https://cdn.example.com/jf.png");
    assert!(new.problems.is_empty());
    let old = run(&world((2025, 10)), &[w]);
    let Op::CreateApplication { body, .. } = &old.ops[1] else {
        panic!()
    };
    let body = body.fields();
    assert!(!body.contains_key("meta_icon"));
    assert!(old.problems[0].message.contains("auth.icon is not applied"));
}

#[test]
fn with_removals_held_nothing_leaves_but_wanted_apps_are_still_made() {
    let mut a = world((2026, 5));
    a.outposts.push(Outpost {
        pk: "lan".into(),
        name: "LAN".into(),
        ..Outpost::default()
    });
    let after = applied(&a, &run(&a, &[want("jf")]));
    let mut clock = RemovalClock::default();
    let p = plan(
        &after,
        &[want("new")],
        &FieldMemory::default(),
        &BTreeSet::new(),
        true,
        &rules(),
        &mut clock,
        Instant::now(),
        Duration::ZERO,
    );
    assert!(
        !p.ops
            .iter()
            .any(|o| matches!(o, Op::DeleteApplication { .. } | Op::DeleteProvider { .. })),
        "{:?}",
        p.ops
    );
    assert_eq!(p.held_back, ["jf"]);
    assert!(p
        .ops
        .iter()
        .any(|o| matches!(o, Op::CreateProvider { slug, .. } if slug == "new")));
    // jf stays in its outpost
    let after = applied(&after, &p);
    assert_eq!(after.outposts[0].providers.len(), 2);
    assert_eq!(clock.pending(), 0);
}

#[test]
fn the_outpost_write_applies_only_the_delta_to_the_list_read_before_it() {
    // read at the start of the round: [50, 7]; since then the user added 60
    let now = [50, 7, 60];
    assert_eq!(outpost_providers(&now, &[8], &[7]), [50, 60, 8]);
    // already there / already gone: no change
    assert_eq!(outpost_providers(&now, &[60], &[9]), now);
}

/// One authentik shared by three gatehouses: `edge` publishes jf, `core` publishes tv, and the
/// unnamed instance (an install from before instances) publishes old; the user has a provider
/// of their own on the embedded outpost.
fn shared_world() -> Actual {
    let mut a = world((2026, 5));
    a.providers.push(ProxyProvider {
        pk: 50,
        name: "users own".into(),
        ..ProxyProvider::default()
    });
    a.outposts[0].providers.push(50);
    let a = applied(&a, &run_as(&named("edge"), &a, &[want("jf")]));
    let a = applied(&a, &run_as(&named("core"), &a, &[want("tv")]));
    applied(&a, &run_as(&Instance::unnamed(), &a, &[want("old")]))
}

fn provider_pk(a: &Actual, name: &str) -> i64 {
    a.providers
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no provider {name}: {:?}", a.providers))
        .pk
}

#[test]
fn each_instance_marks_its_objects_with_its_name() {
    let a = shared_world();
    let publisher = |slug: &str| {
        a.applications
            .iter()
            .find(|x| x.slug == slug)
            .and_then(|x| x.meta_publisher.clone())
    };
    assert_eq!(publisher("jf").as_deref(), Some("gatehouse/edge"));
    assert_eq!(publisher("tv").as_deref(), Some("gatehouse/core"));
    assert_eq!(publisher("old").as_deref(), Some("gatehouse"));
    let on_outpost = &a.outposts[0].providers;
    for name in ["gatehouse/edge:jf", "gatehouse/core:tv", "gatehouse:old"] {
        assert!(on_outpost.contains(&provider_pk(&a, name)), "{name}");
    }
    // each instance's resync over the shared world writes nothing
    assert_eq!(run_as(&named("edge"), &a, &[want("jf")]).ops, vec![]);
    assert_eq!(run_as(&named("core"), &a, &[want("tv")]).ops, vec![]);
    assert_eq!(run_as(&Instance::unnamed(), &a, &[want("old")]).ops, vec![]);
}

#[test]
fn another_instances_stale_looking_objects_are_never_removed() {
    let a = shared_world();
    // From core's and the unnamed instance's point of view nobody wants jf (or each other's
    // apps): they must not touch them, not even after the grace period.
    for me in [named("core"), Instance::unnamed(), named("edge2")] {
        let p = run_as(&me, &a, &[]);
        for op in &p.ops {
            let slug = concerned(op);
            assert!(
                match &me {
                    i if i == &named("core") => slug == ["tv"],
                    i if i.is_unnamed() => slug == ["old"],
                    _ => false,
                },
                "{me} planned {op:?}"
            );
        }
        assert!(
            p.kept.is_empty() && p.held_back.is_empty(),
            "{me}: {:?}",
            p.kept
        );
    }
}

#[test]
fn an_instance_removes_its_own_stale_objects_and_only_its_providers_from_the_outpost() {
    let a = shared_world();
    let jf = provider_pk(&a, "gatehouse/edge:jf");
    let p = run_as(&named("edge"), &a, &[]);
    assert_eq!(
        p.ops,
        vec![
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "authentik Embedded Outpost".into(),
                added: vec![],
                removed: vec![("jf".into(), jf)],
            },
            Op::DeleteApplication { slug: "jf".into() },
            Op::DeleteProvider {
                slug: "jf".into(),
                pk: jf
            },
        ]
    );
    let after = applied(&a, &p);
    assert_eq!(
        after.outposts[0].providers,
        [
            50,
            provider_pk(&a, "gatehouse/core:tv"),
            provider_pk(&a, "gatehouse:old")
        ]
    );
    let slugs: Vec<&str> = after.applications.iter().map(|x| x.slug.as_str()).collect();
    assert_eq!(slugs, ["tv", "old"]);
    // the unnamed instance removing its own leaves the named ones' alone too
    let p = run_as(&Instance::unnamed(), &after, &[]);
    let after = applied(&after, &p);
    assert_eq!(
        after.outposts[0].providers,
        [50, provider_pk(&a, "gatehouse/core:tv")]
    );
    assert_eq!(after.applications.len(), 1);
    assert_eq!(after.providers.len(), 2);
}

#[test]
fn an_outpost_move_takes_out_only_this_instances_provider() {
    let mut a = shared_world();
    a.outposts.push(Outpost {
        pk: "lan".into(),
        name: "LAN".into(),
        ..Outpost::default()
    });
    let mut w = want("tv");
    w.outpost = Some("LAN".into());
    let p = run_as(&named("core"), &a, &[w]);
    let removed: Vec<&(String, i64)> = p
        .ops
        .iter()
        .flat_map(|o| match o {
            Op::SetOutpostProviders { removed, .. } => removed.iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(
        removed,
        [&("tv".to_owned(), provider_pk(&a, "gatehouse/core:tv"))]
    );
}

#[test]
fn the_same_slug_in_two_instances_is_a_conflict_naming_the_owner() {
    let a = shared_world();
    let p = run_as(&named("core"), &a, &[want("tv"), want("jf")]);
    assert_eq!(p.ops, vec![], "core must not touch edge's jf");
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert_eq!(p.problems[0].container, "c-jf");
    let m = &p.problems[0].message;
    assert!(m.contains("gatehouse instance edge"), "{m}");
    assert!(m.contains("\"gatehouse/edge\""), "{m}");
    assert!(m.contains("auth.slug"), "{m}");
    // the unnamed instance's app, seen by a named one, and the other way round
    let p = run_as(&named("core"), &a, &[want("tv"), want("old")]);
    assert_eq!(p.ops, vec![]);
    assert!(
        p.problems[0]
            .message
            .contains("the unnamed gatehouse instance"),
        "{:?}",
        p.problems
    );
    let p = run_as(&Instance::unnamed(), &a, &[want("old"), want("tv")]);
    assert_eq!(p.ops, vec![]);
    assert!(
        p.problems[0].message.contains("gatehouse instance core"),
        "{:?}",
        p.problems
    );
    // and it stays so: the owner's next round changes nothing either
    assert_eq!(run_as(&named("edge"), &a, &[want("jf")]).ops, vec![]);
}

#[test]
fn an_app_of_another_instance_is_taken_over_only_with_adopt() {
    let a = shared_world();
    let old_provider = provider_pk(&a, "gatehouse:old");
    let mut w = want("old");
    w.adopt = true;
    let p = run_as(&named("edge"), &a, &[want("jf"), w.clone()]);
    let after = applied(&a, &p);
    let app = after.applications.iter().find(|x| x.slug == "old").unwrap();
    assert_eq!(app.meta_publisher.as_deref(), Some("gatehouse/edge"));
    let new_provider = provider_pk(&after, "gatehouse/edge:old");
    assert_eq!(app.provider, Some(new_provider));
    // the unnamed instance's provider is left where it was: not deleted, still on the outpost
    assert!(after.outposts[0].providers.contains(&old_provider));
    assert!(after.outposts[0].providers.contains(&new_provider));
    assert_eq!(
        run_as(&named("edge"), &after, &[want("jf"), w.clone()]).ops,
        vec![]
    );
    // the unnamed instance, if it still runs, reports the conflict and deletes nothing, and
    // cannot take it back even when told to adopt: no tug of war
    let p = run_as(&Instance::unnamed(), &after, &[want("old")]);
    assert_eq!(p.ops, vec![]);
    assert!(p.problems[0].message.contains("gatehouse instance edge"));
    let p = run_as(&Instance::unnamed(), &after, &[w]);
    assert_eq!(p.ops, vec![]);
    assert!(p.problems[0]
        .message
        .contains("auth.adopt does not take applications from another gatehouse instance"));
}

#[test]
fn adopt_never_takes_an_app_from_another_named_instance() {
    let a = shared_world();
    let mut jf = want("jf");
    jf.adopt = true;
    let p = run_as(&named("core"), &a, &[want("tv"), jf]);
    assert_eq!(p.ops, vec![]);
    assert_eq!(p.problems.len(), 1);
    let m = &p.problems[0].message;
    assert!(m.contains("gatehouse instance edge"), "{m}");
    assert!(m.contains("clear the application's publisher"), "{m}");
    // a user's application, taken over by edge, is then edge's: core cannot take it either
    let mut a = a;
    a.applications.push(Application {
        pk: "u".into(),
        slug: "mine".into(),
        name: "mine".into(),
        ..Application::default()
    });
    let mut mine = want("mine");
    mine.adopt = true;
    let after = applied(&a, &run_as(&named("edge"), &a, &[want("jf"), mine.clone()]));
    assert!(named("edge").owns_app(
        after
            .applications
            .iter()
            .find(|x| x.slug == "mine")
            .unwrap()
    ));
    let p = run_as(&named("core"), &after, &[want("tv"), mine]);
    assert_eq!(p.ops, vec![]);
    assert_eq!(p.problems.len(), 1);
}

#[test]
fn a_provider_of_a_named_instance_is_not_the_unnamed_ones() {
    // Before instances, any provider named gatehouse:<anything> was gatehouse's; a named
    // instance's provider must not parse as an unnamed one's with an odd slug.
    let mut a = world((2026, 5));
    a.providers.push(ProxyProvider {
        pk: 7,
        name: "gatehouse/edge:jf".into(),
        ..ProxyProvider::default()
    });
    a.providers.push(ProxyProvider {
        pk: 8,
        name: "gatehouse:Not A Slug".into(),
        ..ProxyProvider::default()
    });
    a.outposts[0].providers = vec![7, 8];
    assert_eq!(run(&a, &[]).ops, vec![]);
    assert_eq!(run(&a, &[want("jf")]).ops.len(), 3);
}

#[test]
fn the_objects_of_other_instances_are_listed_by_owner() {
    let a = shared_world();
    let others = others_objects(&a, &named("edge"));
    let owners: Vec<&Instance> = others.keys().collect();
    assert_eq!(owners, [&Instance::unnamed(), &named("core")]);
    assert_eq!(
        others[&Instance::unnamed()],
        ["application old", "provider gatehouse:old"]
    );
    assert_eq!(
        others[&named("core")],
        ["application tv", "provider gatehouse/core:tv"]
    );
    assert!(!others_objects(&a, &Instance::unnamed()).contains_key(&Instance::unnamed()));
}

#[test]
fn every_request_reads_the_same_planned_and_done_naming_its_container() {
    use crate::render::wording::{Describe, Tense};
    let containers = BTreeMap::from([("jelly".to_owned(), "jellyfin".to_owned())]);
    let said = |op: &Op, tense| {
        OpFor {
            op,
            instance: &Instance::unnamed(),
            containers: &containers,
        }
        .said(tense)
        .to_string()
    };
    // A request body of the op's type, from its fields.
    fn b<B: serde::de::DeserializeOwned>(pairs: &[(&str, Value)]) -> B {
        let m: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        serde_json::from_value(Value::Object(m)).unwrap()
    }
    let cases: Vec<(Op, &str, &str)> = vec![
        (
            Op::CreateProvider {
                slug: "jelly".into(),
                body: b(&[
                    ("external_host", json!("https://jelly.example.com")),
                    ("skip_path_regex", json!("^/api(/|$)\n^/hooks(/|$)")),
                ]),
            },
            "would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$) ^/hooks(/|$)) for container jellyfin",
            "created authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$) ^/hooks(/|$)) for container jellyfin",
        ),
        (
            Op::PatchProvider {
                slug: "jelly".into(),
                pk: 4,
                body: b(&[("skip_path_regex", json!("^/hooks(/|$)"))]),
            },
            "would update authentik provider gatehouse:jelly for container jellyfin (skip_path_regex: \"^/hooks(/|$)\")",
            "updated authentik provider gatehouse:jelly for container jellyfin (skip_path_regex: \"^/hooks(/|$)\")",
        ),
        (
            Op::CreateApplication {
                slug: "jelly".into(),
                body: b(&[
                    ("name", json!("Jelly \"Fin\"")),
                    ("slug", json!("jelly")),
                    ("meta_publisher", json!("gatehouse")),
                    ("group", json!("Media")),
                ]),
                provider: ProviderRef::New("jelly".into()),
            },
            "would create authentik application jelly with provider gatehouse:jelly for container jellyfin (group: \"Media\", name: \"Jelly \\\"Fin\\\"\")",
            "created authentik application jelly with provider gatehouse:jelly for container jellyfin (group: \"Media\", name: \"Jelly \\\"Fin\\\"\")",
        ),
        (
            Op::PatchApplication {
                slug: "jelly".into(),
                body: b(&[("name", json!("Jelly"))]),
                provider: None,
                adopt: false,
            },
            "would update authentik application jelly for container jellyfin (name: \"Jelly\")",
            "updated authentik application jelly for container jellyfin (name: \"Jelly\")",
        ),
        (
            Op::PatchApplication {
                slug: "jelly".into(),
                body: b(&[("meta_publisher", json!("gatehouse"))]),
                provider: Some(ProviderRef::Existing(4)),
                adopt: true,
            },
            "would adopt authentik application jelly for container jellyfin (auth.adopt=true; meta_publisher: \"gatehouse\", provider: gatehouse:jelly)",
            "adopted authentik application jelly for container jellyfin (auth.adopt=true; meta_publisher: \"gatehouse\", provider: gatehouse:jelly)",
        ),
        (
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "authentik Embedded Outpost".into(),
                added: vec![("jelly".into(), ProviderRef::New("jelly".into()))],
                removed: Vec::new(),
            },
            "would add provider gatehouse:jelly (container jellyfin) to authentik outpost \"authentik Embedded Outpost\"",
            "added provider gatehouse:jelly (container jellyfin) to authentik outpost \"authentik Embedded Outpost\"",
        ),
        (
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "o".into(),
                added: Vec::new(),
                removed: vec![("jelly".into(), 4), ("old".into(), 5)],
            },
            "would take provider gatehouse:jelly (it moves to another outpost) and gatehouse:old (no container publishes it any more) out of authentik outpost \"o\"",
            "took provider gatehouse:jelly (it moves to another outpost) and gatehouse:old (no container publishes it any more) out of authentik outpost \"o\"",
        ),
        (
            Op::CreateBinding {
                slug: "jelly".into(),
                app: AppRef::New("jelly".into()),
                group_pk: "g".into(),
                group_name: "family".into(),
            },
            "would allow group family on authentik application jelly for container jellyfin (auth.allow_groups)",
            "allowed group family on authentik application jelly for container jellyfin (auth.allow_groups)",
        ),
        (
            Op::DeleteBinding {
                slug: "jelly".into(),
                pk: "b".into(),
            },
            "would remove a group binding gatehouse made from authentik application jelly for container jellyfin: its group is no longer in auth.allow_groups",
            "removed a group binding gatehouse made from authentik application jelly for container jellyfin: its group is no longer in auth.allow_groups",
        ),
        (
            Op::DeleteApplication { slug: "old".into() },
            "would delete authentik application old: no container publishes it any more",
            "deleted authentik application old: no container publishes it any more",
        ),
        (
            Op::DeleteProvider {
                slug: "old".into(),
                pk: 5,
            },
            "would delete authentik provider gatehouse:old: no container publishes it any more",
            "deleted authentik provider gatehouse:old: no container publishes it any more",
        ),
    ];
    for (op, planned, done) in &cases {
        assert_eq!(&said(op, Tense::Planned), planned);
        assert_eq!(&said(op, Tense::Done), done);
    }
}

#[test]
fn the_words_for_a_plan_follow_its_requests() {
    let p = run(&world((2026, 5)), &[want("jelly")]);
    let containers = containers_of(&[want("jelly")]);
    let lines: Vec<String> = p
        .ops
        .iter()
        .map(|op| {
            use crate::render::wording::{Describe, Tense};
            OpFor {
                op,
                instance: &Instance::unnamed(),
                containers: &containers,
            }
            .said(Tense::Planned)
            .to_string()
        })
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com) for container c-jelly"), "{lines:?}");
    assert!(lines[1].starts_with("would create authentik application jelly with provider gatehouse:jelly for container c-jelly"), "{lines:?}");
    assert!(
        lines[2].starts_with(
            "would add provider gatehouse:jelly (container c-jelly) to authentik outpost"
        ),
        "{lines:?}"
    );
}

#[test]
fn requests_name_the_provider_by_this_instances_marks() {
    use crate::render::wording::{Describe, Tense};
    let containers = containers_of(&[want("jf")]);
    let op = Op::DeleteProvider {
        slug: "jf".into(),
        pk: 7,
    };
    let said = OpFor {
        op: &op,
        instance: &named("edge"),
        containers: &containers,
    }
    .said(Tense::Done)
    .to_string();
    assert!(said.contains("provider gatehouse/edge:jf"), "{said}");
}

/// One round with field memory, every request accepted: the plan, what authentik then holds,
/// and what the worker then remembers (the plan's memory plus the accepted application writes,
/// minus the deleted applications).
fn round(actual: &Actual, wants: &[AppWant], memory: &FieldMemory) -> (Plan, Actual, FieldMemory) {
    let p = plan(
        actual,
        wants,
        memory,
        &BTreeSet::new(),
        false,
        &rules(),
        &mut RemovalClock::default(),
        Instant::now(),
        Duration::ZERO,
    );
    let after = applied(actual, &p);
    let mut next = p.memory.clone();
    for op in &p.ops {
        match op {
            Op::CreateApplication { slug, body, .. } => {
                next.record_body(slug, &app_of(&after, slug).pk, &body.fields())
            }
            Op::PatchApplication { slug, body, .. } => {
                next.record_body(slug, &app_of(&after, slug).pk, &body.fields())
            }
            Op::DeleteApplication { slug } => next.forget(slug),
            _ => {}
        }
    }
    (p, after, next)
}

fn with_fields(slug: &str) -> AppWant {
    let mut w = want(slug);
    w.group = Some("Media".into());
    w.icon = Some("fa://fa-film".into());
    w.description = Some("Films and series".into());
    w.launch_url = Some("https://jf.example.com/web".into());
    w
}

fn app_of<'a>(a: &'a Actual, slug: &str) -> &'a Application {
    a.applications.iter().find(|x| x.slug == slug).unwrap()
}

/// The application patch of a plan, and nothing else.
fn only_app_patch(p: &Plan) -> Map<String, Value> {
    match &p.ops[..] {
        [Op::PatchApplication {
            body,
            provider: None,
            adopt: false,
            ..
        }] => body.fields(),
        other => panic!("expected one application patch, got {other:?}"),
    }
}

#[test]
fn a_removed_label_clears_the_value_gatehouse_set_and_a_resync_then_does_nothing() {
    let (_, a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    assert_eq!(mem.get("jf", "app-jf", Field::Group), Some("Media"));
    assert_eq!(mem.get("jf", "app-jf", Field::Icon), Some("fa://fa-film"));
    // every optional label removed (the container recreated without them)
    let (p, a, mem) = round(&a, &[want("jf")], &mem);
    assert_eq!(
        Value::Object(only_app_patch(&p).clone()),
        json!({"group": "", "meta_icon": "", "meta_description": "", "meta_launch_url": ""})
    );
    assert!(p.user_changed.is_empty());
    let app = app_of(&a, "jf");
    assert_eq!(app.group.as_deref(), Some(""));
    assert_eq!(app.meta_icon.as_deref(), Some(""));
    assert_eq!(app.meta_launch_url.as_deref(), Some(""));
    assert!(mem.is_empty(), "cleared fields are forgotten: {mem:?}");
    let (p, _, mem2) = round(&a, &[want("jf")], &mem);
    assert_eq!(p.ops, vec![], "a resync after clearing must write nothing");
    assert_eq!(mem2, mem);
    // only the removed label's field goes; the others stay set
    let (_, a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    let mut w = with_fields("jf");
    w.group = None;
    let (p, _, mem) = round(&a, &[w], &mem);
    assert_eq!(
        Value::Object(only_app_patch(&p).clone()),
        json!({"group": ""})
    );
    assert_eq!(mem.get("jf", "app-jf", Field::Group), None);
    assert_eq!(
        mem.get("jf", "app-jf", Field::Description),
        Some("Films and series")
    );
}

#[test]
fn a_removed_label_leaves_a_value_the_user_changed_since_and_says_so_once() {
    let (_, mut a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    // the user renames the group in authentik's UI, then the label goes
    a.applications[0].group = Some("Films".into());
    let mut w = with_fields("jf");
    w.group = None;
    let (p, a, mem) = round(&a, &[w.clone()], &mem);
    assert_eq!(p.ops, vec![], "{:?}", p.ops);
    assert_eq!(
        p.user_changed,
        [UserChanged {
            container: "c-jf".into(),
            slug: "jf".into(),
            field: Field::Group,
            set: "Media".into(),
            now: "Films".into(),
        }]
    );
    let said = p.user_changed[0].to_string();
    for part in [
        "container c-jf",
        "application jf",
        "auth.group",
        "group",
        "\"Media\"",
        "\"Films\"",
    ] {
        assert!(said.contains(part), "{part} missing in {said}");
    }
    assert_eq!(app_of(&a, "jf").group.as_deref(), Some("Films"));
    // forgotten: the field is the user's now, and nothing more is said
    assert_eq!(mem.get("jf", "app-jf", Field::Group), None);
    assert_eq!(mem.get("jf", "app-jf", Field::Icon), Some("fa://fa-film"));
    let (p, _, _) = round(&a, &[w], &mem);
    assert_eq!(p.ops, vec![]);
    assert!(p.user_changed.is_empty());
}

#[test]
fn a_value_set_in_authentik_for_a_field_no_label_ever_set_is_never_touched() {
    let (_, mut a, mem) = round(&world((2026, 5)), &[want("jf")], &FieldMemory::default());
    assert!(mem.is_empty());
    let app = &mut a.applications[0];
    app.group = Some("Media".into());
    app.meta_icon = Some("application-icons/jf.png".into());
    app.meta_description = Some("mine".into());
    let (p, _, mem) = round(&a, &[want("jf")], &mem);
    assert_eq!(p.ops, vec![]);
    assert!(p.user_changed.is_empty());
    assert!(mem.is_empty(), "{mem:?}");
}

#[test]
fn without_a_record_nothing_is_cleared() {
    // gatehouse set the fields, then its record was lost (missing or corrupt file: empty)
    let (_, a, _) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    let (p, after, mem) = round(&a, &[want("jf")], &FieldMemory::default());
    assert_eq!(p.ops, vec![]);
    assert!(p.user_changed.is_empty());
    assert!(mem.is_empty());
    assert_eq!(app_of(&after, "jf").group.as_deref(), Some("Media"));
}

#[test]
fn a_value_authentik_holds_that_the_label_asks_for_is_remembered_without_a_write() {
    // an install from before the record existed: labels set, authentik in line, no record
    let (_, a, _) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    let (p, _, mem) = round(&a, &[with_fields("jf")], &FieldMemory::default());
    assert_eq!(p.ops, vec![], "remembering sends nothing");
    assert_eq!(mem.get("jf", "app-jf", Field::Group), Some("Media"));
    assert_eq!(
        mem.get("jf", "app-jf", Field::LaunchUrl),
        Some("https://jf.example.com/web")
    );
    // so the label's removal later clears it
    let (p, _, _) = round(&a, &[want("jf")], &mem);
    assert_eq!(
        Value::Object(only_app_patch(&p).clone()),
        json!({"group": "", "meta_icon": "", "meta_description": "", "meta_launch_url": ""})
    );
}

#[test]
fn a_changed_label_value_replaces_the_record_only_once_authentik_holds_it() {
    let (_, a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    let mut w = with_fields("jf");
    w.group = Some("Video".into());
    let (p, _, _) = round(&a, &[w], &mem);
    assert_eq!(
        Value::Object(only_app_patch(&p).clone()),
        json!({"group": "Video"})
    );
    // before authentik accepts it, the plan keeps what authentik still holds
    assert_eq!(p.memory.get("jf", "app-jf", Field::Group), Some("Media"));
}

#[test]
fn icons_are_cleared_only_where_the_field_is_writable() {
    let mut a = world((2026, 5));
    a.applications.push(Application {
        pk: "app-jf".into(),
        slug: "jf".into(),
        name: "jf".into(),
        meta_icon: Some("fa://fa-film".into()),
        meta_publisher: Some(PUBLISHER.into()),
        ..Application::default()
    });
    let (_, a, _) = round(&a, &[want("jf")], &FieldMemory::default());
    let mut mem = FieldMemory::default();
    mem.set("jf", "app-jf", Field::Icon, "fa://fa-film");
    let (p, _, _) = round(&a, &[want("jf")], &mem);
    assert_eq!(
        Value::Object(only_app_patch(&p).clone()),
        json!({"meta_icon": ""})
    );
    // before 2025.12 meta_icon is read-only: never sent, still remembered
    let mut old = a.clone();
    old.version = Some(ServerVersion::new(2025, 10));
    let (p, _, kept) = round(&old, &[want("jf")], &mem);
    assert_eq!(p.ops, vec![]);
    assert_eq!(kept.get("jf", "app-jf", Field::Icon), Some("fa://fa-film"));
}

#[test]
fn records_survive_rejected_labels_and_go_with_the_application() {
    let (_, a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    // the container's labels are rejected for now: the app is held, nothing is cleared
    let p = plan(
        &a,
        &[],
        &mem,
        &BTreeSet::from(["jf".to_owned()]),
        false,
        &rules(),
        &mut RemovalClock::default(),
        Instant::now(),
        Duration::ZERO,
    );
    assert_eq!(p.ops, vec![]);
    assert_eq!(p.memory, mem);
    // the container is gone: the application is deleted, and its record with it
    let (p, _, after) = round(&a, &[], &mem);
    assert!(p
        .ops
        .iter()
        .any(|o| matches!(o, Op::DeleteApplication { .. })));
    assert!(after.is_empty(), "{after:?}");
}

#[test]
fn an_adopted_or_foreign_application_is_never_cleared() {
    let mut a = world((2026, 5));
    a.applications.push(Application {
        pk: "u".into(),
        slug: "jf".into(),
        name: "Their Jellyfin".into(),
        group: Some("Media".into()),
        ..Application::default()
    });
    // a stale record for the slug (say, gatehouse's own app was deleted and the user made one)
    let mut mem = FieldMemory::default();
    mem.set("jf", "app-jf", Field::Group, "Media");
    let (p, _, next) = round(&a, &[want("jf")], &mem);
    assert_eq!(p.ops, vec![], "a conflict changes nothing");
    assert!(next.is_empty(), "not gatehouse's: not remembered: {next:?}");
    let mut w = want("jf");
    w.adopt = true;
    let (p, _, _) = round(&a, &[w], &mem);
    let Op::PatchApplication {
        body, adopt: true, ..
    } = &p.ops[1]
    else {
        panic!("{:?}", p.ops)
    };
    let body = body.fields();
    assert!(!body.contains_key("group"), "{body:?}");
}

#[test]
fn a_record_of_another_application_with_the_same_slug_clears_nothing() {
    let (_, mut a, mem) = round(
        &world((2026, 5)),
        &[with_fields("jf")],
        &FieldMemory::default(),
    );
    // the application was made again (by hand or a blueprint, marked as gatehouse's; or
    // authentik was restored): same slug, same values, another pk
    a.applications
        .iter_mut()
        .find(|x| x.slug == "jf")
        .unwrap()
        .pk = "made-again".into();
    let (p, _, next) = round(&a, &[want("jf")], &mem);
    assert_eq!(p.ops, vec![], "{:?}", p.ops);
    assert!(p.user_changed.is_empty());
    assert!(next.is_empty(), "the old entry is forgotten: {next:?}");
    // the labels still there: the values are remembered for the new application
    let (p, _, next) = round(&a, &[with_fields("jf")], &mem);
    assert_eq!(p.ops, vec![]);
    assert_eq!(next.get("jf", "made-again", Field::Group), Some("Media"));
    assert_eq!(next.get("jf", "app-jf", Field::Group), None);
}

#[test]
fn a_clearing_patch_says_which_labels_are_gone() {
    use crate::render::wording::{Describe, Tense};
    let containers = BTreeMap::from([("jf".to_owned(), "jellyfin".to_owned())]);
    let said = |body: Value, tense| {
        let op = Op::PatchApplication {
            slug: "jf".into(),
            body: serde_json::from_value(body).unwrap(),
            provider: None,
            adopt: false,
        };
        OpFor {
            op: &op,
            instance: &Instance::unnamed(),
            containers: &containers,
        }
        .said(tense)
        .to_string()
    };
    assert_eq!(
        said(json!({"group": ""}), Tense::Planned),
        "would update authentik application jf for container jellyfin (group: \"\"; cleared: auth.group is no longer set, and authentik still held what gatehouse had set from it)"
    );
    assert_eq!(
        said(json!({"meta_description": "", "meta_icon": "", "name": "JF"}), Tense::Done),
        "updated authentik application jf for container jellyfin (meta_description: \"\", meta_icon: \"\", name: \"JF\"; cleared: auth.description and auth.icon are no longer set, and authentik still held what gatehouse had set from them)"
    );
}
