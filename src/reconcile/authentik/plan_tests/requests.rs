//! Requests for one instance: made, patched, removed, held, in order.

use super::*;

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
    let mut clock = GraceClock::default();
    let t0 = Instant::now();
    let grace = Duration::from_secs(30);
    let p = plan(
        Inputs {
            now: t0,
            grace,
            ..inputs(&after, &[], &rules())
        },
        &mut clock,
    );
    assert!(p.ops.is_empty(), "{:?}", p.ops);
    assert_eq!(p.next_due, Some(grace));
    let p = plan(
        Inputs {
            now: t0 + grace,
            grace,
            ..inputs(&after, &[], &rules())
        },
        &mut clock,
    );
    assert_eq!(p.ops.len(), 3);
    // coming back within the grace period resets the clock
    let mut clock = GraceClock::default();
    plan(
        Inputs {
            now: t0,
            grace,
            ..inputs(&after, &[], &rules())
        },
        &mut clock,
    );
    let p = plan(
        Inputs {
            now: t0,
            grace,
            ..inputs(&after, &[want("jf")], &rules())
        },
        &mut clock,
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
        Inputs {
            held: &held,
            ..inputs(&after, &[], &rules())
        },
        &mut GraceClock::default(),
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
    let mut clock = GraceClock::default();
    let p = plan(
        Inputs {
            hold_all: true,
            ..inputs(&after, &[want("new")], &rules())
        },
        &mut clock,
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
