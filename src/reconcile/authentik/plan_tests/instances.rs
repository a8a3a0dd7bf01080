//! Several gatehouse instances sharing one authentik: each touches only its own objects.

use super::*;

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
