//! The problems of a round, typed and in a stable order.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::labels::LabelErrors;
use crate::model::problem::ProblemKind::{Kept, Rejected, Warning};

#[test]
fn a_round_reports_typed_problems_in_a_stable_order() {
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
        oidc: Vec::new(),
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
