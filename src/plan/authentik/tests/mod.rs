//! Unit tests of the authentik planner, by topic; the helpers here build worlds and run plans.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::fields::{Field, FieldMemory};
use super::*;
use crate::model::authentik::{
    Application, Group, Outpost, PolicyBinding, ProxyProvider, ServerVersion,
};
use crate::plan::grace::GraceClock;

mod desired;
mod fields_kept;
mod instances;
mod requests;
mod words;

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

static NOTHING_HELD: BTreeSet<String> = BTreeSet::new();

/// The planner's inputs: nothing remembered, nothing held, no grace period.
fn inputs<'a>(actual: &'a Actual, wants: &'a [AppWant], rules: &'a Rules) -> Inputs<'a> {
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

fn run(actual: &Actual, wants: &[AppWant]) -> Plan {
    run_as(&Instance::unnamed(), actual, wants)
}

fn run_as(instance: &Instance, actual: &Actual, wants: &[AppWant]) -> Plan {
    let rules = rules_as(instance.clone());
    plan(inputs(actual, wants, &rules), &mut GraceClock::default())
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
