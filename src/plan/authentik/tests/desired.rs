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
    let settings = AuthentikSettings {
        url: "http://ak:9000".into(),
        token: "t".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: "a".into(),
        invalidation_flow: "i".into(),
        instance: Instance::unnamed(),
    };
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

#[test]
fn a_round_reports_typed_problems_in_a_stable_order() {
    use super::{applied, rules, run, want, world};
    use crate::labels::LabelErrors;
    use crate::model::problem::ProblemKind::{Kept, Rejected, Warning};
    use crate::plan::grace::GraceClock;
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    let a = world((2026, 5));
    let after = applied(&a, &run(&a, &[want("jf")]));
    let mut tv = want("tv");
    tv.outpost = Some("nope".into());
    let mut d = Desired {
        wants: vec![tv],
        held: BTreeSet::from(["jf".to_owned()]),
        rejected: vec![LabelErrors {
            container: "bad".into(),
            problems: Vec::new(),
            wants_protection: true,
        }],
        hold_removals: Vec::new(),
    };
    let round = |d: &Desired| {
        let (_, problems) = plan_round(
            &after,
            d,
            &FieldMemory::default(),
            &rules(),
            &mut GraceClock::default(),
            Instant::now(),
            Duration::ZERO,
        );
        problems
    };
    let problems = round(&d);
    let told: Vec<_> = problems
        .iter()
        .map(|p| (p.kind, p.subject.as_str()))
        .collect();
    assert_eq!(told, [(Kept, "jf"), (Rejected, "bad"), (Warning, "c-tv")]);
    assert!(problems[2].message.starts_with("container c-tv: "));
    d.held.clear();
    d.hold_removals = vec!["bad".into()];
    let problems = round(&d);
    assert_eq!(
        (problems[0].kind, problems[0].subject.as_str()),
        (Warning, "removals held")
    );
    assert!(problems[0].message.contains("application(s) jf"));
}
