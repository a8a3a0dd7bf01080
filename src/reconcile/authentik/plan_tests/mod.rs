//! The authentik planner's tests that apply a plan and plan again: each plan's requests are
//! made by the provisioner's apply step on the in-memory authentik (the one simulator of
//! authentik for unit tests; the schema-checked fake serves the integration tests). They live
//! here, not beside the planner, because the pure `plan` folder may not reach `edge` or
//! `reconcile`. The worlds and wants are the planner tests' own.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::apply::Outcomes;
use super::Provisioner;
use crate::config::AuthentikSettings;
use crate::edge::authentik::memory::{MemoryApi, World};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{
    Application, Group, Outpost, PolicyBinding, ProxyProvider, ServerVersion,
};
use crate::plan::authentik::fields::{Field, FieldMemory};
use crate::plan::authentik::tests::*;
use crate::plan::authentik::*;
use crate::plan::grace::GraceClock;

mod fields_kept;
mod instances;
mod problems;
mod requests;

/// The provisioner's apply step on an in-memory authentik holding `actual`: what authentik
/// then holds, and the field values recorded, from `memory` on (each accepted application
/// write added, each deleted application forgotten). authentik must accept every request.
fn apply(actual: &Actual, plan: &Plan, mut memory: FieldMemory) -> (Actual, FieldMemory) {
    let rules = rules();
    let api = MemoryApi::new(World::from_actual(actual, &rules));
    let settings = AuthentikSettings {
        url: "http://authentik.invalid".into(),
        token: "unused".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: rules.authorization_flow_slug.clone(),
        invalidation_flow: rules.invalidation_flow_slug.clone(),
        instance: rules.instance.clone(),
    };
    let prov = Provisioner::with_api(api.clone(), &settings);
    let mut refused = BTreeMap::new();
    let mut problems = Vec::new();
    let mut oauth2 = BTreeMap::new();
    let mut oauth2_removed = Vec::new();
    let out = Outcomes {
        refused: &mut refused,
        problems: &mut problems,
        memory: &mut memory,
        oauth2: &mut oauth2,
        oauth2_removed: &mut oauth2_removed,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let failed = rt
        .block_on(prov.apply(plan, &[], out))
        .expect("the in-memory authentik is up");
    assert_eq!((failed, &problems), (0, &Vec::new()), "authentik refused");
    (api.world().to_actual(actual), memory)
}

/// What authentik holds after the plan's requests.
fn applied(actual: &Actual, plan: &Plan) -> Actual {
    apply(actual, plan, FieldMemory::default()).0
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

/// One round with field memory, every request accepted: the plan, what authentik then holds,
/// and what the worker then remembers (the plan's memory plus the accepted application writes,
/// minus the deleted applications).
fn round(actual: &Actual, wants: &[AppWant], memory: &FieldMemory) -> (Plan, Actual, FieldMemory) {
    let rules = rules();
    let p = plan(
        Inputs {
            remembered: memory,
            ..inputs(actual, wants, &rules)
        },
        &mut GraceClock::default(),
    );
    let (after, next) = apply(actual, &p, p.memory.clone());
    (p, after, next)
}
