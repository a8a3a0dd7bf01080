//! What authentik should hold from a conf pass, and what is said of other instances.

use super::super::*;
use crate::config::AuthentikSettings;
use crate::labels::LabelRules;
use crate::model::workload::Workload;
use crate::plan;
use std::collections::BTreeMap;

#[test]
fn the_unnamed_instances_objects_draw_a_hint_for_a_named_instance() {
    let me = Instance::named("edge").unwrap();
    let objects: Vec<String> = (0..12).map(|i| format!("application a{i}")).collect();
    let (warn, msg) = others_notice(&me, &Instance::unnamed(), &objects);
    assert!(warn);
    assert!(msg.starts_with("12 authentik object(s)"), "{msg}");
    assert!(msg.contains("application a9 and 2 more"), "{msg}");
    assert!(!msg.contains("a10"), "{msg}");
    assert!(msg.contains("leaves them alone"), "{msg}");
    assert!(msg.contains("auth.adopt=true"), "{msg}");
    // another named instance's objects: an info line, no hint to adopt
    let (warn, msg) = others_notice(&me, &Instance::named("core").unwrap(), &objects[..1]);
    assert!(!warn);
    assert!(msg.contains("gatehouse instance core"), "{msg}");
    assert!(!msg.contains("adopt"), "{msg}");
    let (warn, _) = others_notice(&Instance::unnamed(), &me, &objects[..1]);
    assert!(!warn);
}

#[test]
fn a_rejected_protected_container_without_a_slug_holds_every_removal() {
    let settings = AuthentikSettings::for_tests();
    let rules = LabelRules::default();
    let c = |labels: &[(&str, &str)]| Workload {
        name: "app".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        exposed_tcp_ports: vec![80],
        ..Workload::default()
    };
    let run = |cs: &[Workload]| {
        let planned = plan::desired(
            cs,
            &crate::model::workload::ConfDirState::default(),
            &BTreeMap::new(),
            &rules,
        );
        desired(&planned, cs, &rules, &settings)
    };
    let bad_slug = run(&[c(&[("auth.protect", "true"), ("auth.slug", "A!")])]);
    assert_eq!(bad_slug.hold_removals, ["app"]);
    assert_eq!(bad_slug.rejected.len(), 1);
    let bad_sub = run(&[c(&[("auth.protect", "true"), ("auth.subdomain", "a_b")])]);
    assert_eq!(bad_sub.hold_removals, ["app"]);
    let bad_port = run(&[c(&[("auth.protect", "true"), ("auth.port", "x")])]);
    assert!(bad_port.hold_removals.is_empty());
    assert!(bad_port.held.contains("app"));
}
