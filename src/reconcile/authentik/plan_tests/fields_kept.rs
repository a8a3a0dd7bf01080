//! Optional fields: cleared only while authentik holds what gatehouse set.

use serde_json::json;

use super::*;

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
        Inputs {
            remembered: &mem,
            held: &BTreeSet::from(["jf".to_owned()]),
            ..inputs(&a, &[], &rules())
        },
        &mut GraceClock::default(),
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
