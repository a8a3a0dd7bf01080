//! Unit tests of the authentik planner, by topic; the helpers here build worlds and run plans
//! (also for the tests that apply plans on the in-memory authentik, in
//! `reconcile/authentik/plan_tests`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::fields::FieldMemory;
use super::*;
use crate::model::authentik::{Application, Outpost, ServerVersion};
use crate::plan::grace::GraceClock;

mod desired;
mod words;

pub(crate) const AUTHZ: &str = "11111111-1111-4111-8111-111111111111";
pub(crate) const INVAL: &str = "22222222-2222-4222-8222-222222222222";
pub(crate) const EMBEDDED: &str = "33333333-3333-4333-8333-333333333333";

pub(crate) fn want(slug: &str) -> AppWant {
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
        mfa: None,
    }
}

pub(crate) fn world(version: (u32, u32)) -> Actual {
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
            ..Outpost::default()
        }],
        ..Actual::default()
    }
}

pub(crate) fn rules() -> Rules {
    rules_as(Instance::unnamed())
}

pub(crate) fn rules_as(instance: Instance) -> Rules {
    Rules {
        instance,
        default_outpost: None,
        authorization_flow_slug: "authz".into(),
        invalidation_flow_slug: "inval".into(),
        own_outpost: None,
    }
}

pub(crate) static NOTHING_HELD: BTreeSet<String> = BTreeSet::new();

/// The planner's inputs: nothing remembered, nothing held, no grace period.
pub(crate) fn inputs<'a>(actual: &'a Actual, wants: &'a [AppWant], rules: &'a Rules) -> Inputs<'a> {
    static NOTHING_REMEMBERED: std::sync::OnceLock<FieldMemory> = std::sync::OnceLock::new();
    Inputs {
        actual,
        wants,
        remembered: NOTHING_REMEMBERED.get_or_init(FieldMemory::default),
        held: &NOTHING_HELD,
        hold_all: false,
        rules,
        now: Instant::now(),
        grace: Duration::ZERO,
    }
}

pub fn run(actual: &Actual, wants: &[AppWant]) -> Plan {
    run_as(&Instance::unnamed(), actual, wants)
}

pub(crate) fn run_as(instance: &Instance, actual: &Actual, wants: &[AppWant]) -> Plan {
    let rules = rules_as(instance.clone());
    plan(inputs(actual, wants, &rules), &mut GraceClock::default())
}

pub(crate) fn named(n: &str) -> Instance {
    Instance::named(n).unwrap()
}

pub(crate) fn provider_pk(a: &Actual, name: &str) -> i64 {
    a.providers
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no provider {name}: {:?}", a.providers))
        .pk
}

pub(crate) fn with_fields(slug: &str) -> AppWant {
    let mut w = want(slug);
    w.group = Some("Media".into());
    w.icon = Some("fa://fa-film".into());
    w.description = Some("Films and series".into());
    w.launch_url = Some("https://jf.example.com/web".into());
    w
}

pub(crate) fn app_of<'a>(a: &'a Actual, slug: &str) -> &'a Application {
    a.applications.iter().find(|x| x.slug == slug).unwrap()
}

/// The application patch of a plan, and nothing else.
pub(crate) fn only_app_patch(p: &Plan) -> Map<String, Value> {
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
