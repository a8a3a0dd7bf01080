//! The OAuth2/OpenID planner: create, no-op, patch, adopt, removal, version differences.

use super::super::tests::{rules, want, world};
use super::*;
use crate::labels::oidc::{OidcWant, Redirect};
use crate::model::authentik::{Application, ServerVersion};
use crate::plan::authentik::types::{Actual, Op, Plan};
use crate::plan::authentik::{plan_with_oidc, Inputs};
use crate::plan::grace::GraceClock;

fn oidc(slug: &str) -> OidcWant {
    OidcWant {
        app: want(slug),
        container_id: format!("id-{slug}"),
        redirects: vec![Redirect {
            regex: false,
            url: format!("https://{slug}.example.com/cb"),
        }],
        client_id: None,
        public: false,
        scopes: Vec::new(),
        owner: None,
        restart: false,
        email_verified: false,
    }
}

fn sso_world(version: (u32, u32)) -> Actual {
    let mut a = world(version);
    a.scope_mappings = ["openid", "email", "profile", "offline_access"]
        .iter()
        .map(|s| ScopeMapping {
            pk: format!("scope-{s}"),
            managed: Some(managed_scope(s)),
            name: format!("default {s}"),
            scope_name: (*s).into(),
        })
        .collect();
    a.signing_key = Some("cert".into());
    a
}

fn run(actual: &Actual, wants: &[OidcWant]) -> Plan {
    let r = rules();
    let held = std::collections::BTreeSet::new();
    let mem = crate::plan::authentik::fields::FieldMemory::default();
    plan_with_oidc(
        Inputs {
            actual,
            wants: &[],
            remembered: &mem,
            held: &held,
            hold_all: false,
            rules: &r,
            now: std::time::Instant::now(),
            grace: std::time::Duration::ZERO,
        },
        wants,
        &mut GraceClock::default(),
    )
}

fn created(p: &Plan) -> &OAuth2Create {
    p.ops
        .iter()
        .find_map(|op| match op {
            Op::CreateOAuth2Provider { body, .. } => Some(body),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no provider made: {:?}", p.ops))
}

/// What authentik holds after `p`'s provider and application are made.
fn made(mut a: Actual, p: &Plan, slug: &str) -> Actual {
    let b = created(p);
    a.oauth2_providers.push(OAuth2Provider {
        pk: 7,
        name: b.name.clone(),
        authorization_flow: Some(b.authorization_flow.clone()),
        invalidation_flow: b.invalidation_flow.clone(),
        property_mappings: b.property_mappings.clone(),
        client_type: Some(b.client_type.clone()),
        client_id: b.client_id.clone(),
        client_secret: crate::model::authentik::Secret::new("x".into()),
        signing_key: b.signing_key.clone(),
        redirect_uris: b.redirect_uris.clone(),
        grant_types: b.grant_types.clone(),
        assigned_application_slug: Some(slug.into()),
    });
    a.applications.push(Application {
        pk: format!("app-{slug}"),
        slug: slug.into(),
        name: slug.into(),
        provider: Some(7),
        meta_publisher: Some("gatehouse".into()),
        ..Application::default()
    });
    a
}

#[test]
fn a_new_app_gets_a_provider_with_scopes_key_and_redirects_then_an_application() {
    let p = run(&sso_world((2026, 5)), &[oidc("grafana")]);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert!(matches!(p.ops[0], Op::CreateOAuth2Provider { .. }));
    assert!(matches!(
        &p.ops[1],
        Op::CreateApplication { provider: ProviderRef::New(s), .. } if s == "grafana"
    ));
    assert_eq!(p.ops.len(), 2, "no outpost change: {:?}", p.ops);
    let b = created(&p);
    assert_eq!(b.name, "gatehouse:grafana");
    assert_eq!(b.client_id, "grafana");
    assert_eq!(b.client_type, "confidential");
    assert_eq!(b.client_secret, None, "made when the request is sent");
    assert_eq!(b.signing_key.as_deref(), Some("cert"));
    assert_eq!(
        b.property_mappings,
        ["scope-openid", "scope-email", "scope-profile"]
    );
    assert_eq!(
        b.grant_types.as_deref(),
        Some(&["authorization_code".to_owned(), "refresh_token".to_owned()][..])
    );
    let json = serde_json::to_value(b).unwrap();
    assert_eq!(
        json["redirect_uris"],
        serde_json::json!([{"matching_mode": "strict", "url": "https://grafana.example.com/cb"}])
    );
}

#[test]
fn an_unchanged_app_plans_nothing_and_a_changed_redirect_patches_only_that() {
    let a = sso_world((2026, 5));
    let p = run(&a, &[oidc("grafana")]);
    let a = made(a, &p, "grafana");
    assert_eq!(run(&a, &[oidc("grafana")]).ops, vec![]);
    let mut w = oidc("grafana");
    w.redirects.push(Redirect {
        regex: true,
        url: "^https://grafana\\.lan/.*$".into(),
    });
    w.scopes = vec!["offline_access".into()];
    let p = run(&a, &[w]);
    match &p.ops[..] {
        [Op::PatchOAuth2Provider { pk: 7, body, .. }] => {
            let f = body.fields();
            assert_eq!(
                f.keys().collect::<Vec<_>>(),
                ["property_mappings", "redirect_uris"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn versions_decide_redirect_format_invalidation_flow_and_grant_types() {
    let mut old = sso_world((2024, 6));
    old.redirect_text = true;
    let b = created(&run(&old, &[oidc("app")])).clone();
    assert_eq!(
        serde_json::to_value(&b).unwrap()["redirect_uris"],
        serde_json::json!("https://app.example.com/cb")
    );
    assert_eq!(b.invalidation_flow, None);
    assert_eq!(b.grant_types, None);
    let b = created(&run(&sso_world((2025, 10)), &[oidc("app")])).clone();
    assert!(b.invalidation_flow.is_some());
    assert_eq!(b.grant_types, None);
    assert!(ServerVersion::new(2026, 5).has_grant_types());
}

#[test]
fn missing_key_or_scope_is_a_problem_for_that_app_only() {
    let mut a = sso_world((2026, 5));
    a.signing_key = None;
    let p = run(&a, &[oidc("app")]);
    assert!(p.ops.is_empty());
    assert!(p.problems[0].message.contains(SIGNING_KEY_NAME));
    let a = sso_world((2026, 5));
    let mut w = oidc("app");
    w.scopes = vec!["groups".into()];
    let p = run(&a, &[w, oidc("other")]);
    assert_eq!(p.problems.len(), 1);
    assert!(
        p.problems[0].message.contains("scope(s) groups"),
        "{:?}",
        p.problems
    );
    assert!(matches!(&p.ops[0], Op::CreateOAuth2Provider { slug, .. } if slug == "other"));
}

#[test]
fn an_adopted_application_keeps_its_provider_and_secret() {
    let mut a = sso_world((2026, 5));
    a.oauth2_providers.push(OAuth2Provider {
        pk: 3,
        name: "Grafana (mine)".into(),
        client_id: "abc".into(),
        client_secret: crate::model::authentik::Secret::new("kept".into()),
        ..OAuth2Provider::default()
    });
    a.applications.push(Application {
        pk: "app-g".into(),
        slug: "grafana".into(),
        name: "Grafana".into(),
        provider: Some(3),
        ..Application::default()
    });
    // not without auth.adopt
    let p = run(&a, &[oidc("grafana")]);
    assert!(p.ops.is_empty() && p.problems[0].message.contains("auth.adopt"));
    let mut w = oidc("grafana");
    w.app.adopt = true;
    w.client_id = Some("abc".into());
    let p = run(&a, &[w]);
    match &p.ops[0] {
        Op::PatchOAuth2Provider { pk: 3, body, .. } => {
            assert_eq!(body.name.as_deref(), Some("gatehouse:grafana"));
            assert_eq!(body.client_id, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &p.ops[1],
        Op::PatchApplication { adopt: true, .. }
    ));
}

#[test]
fn an_app_no_longer_wanted_loses_application_and_provider_and_only_gatehouses() {
    let a = sso_world((2026, 5));
    let p = run(&a, &[oidc("grafana")]);
    let mut a = made(a, &p, "grafana");
    a.oauth2_providers.push(OAuth2Provider {
        pk: 9,
        name: "user's own".into(),
        ..OAuth2Provider::default()
    });
    let p = run(&a, &[]);
    assert_eq!(
        p.ops,
        vec![
            Op::DeleteApplication {
                slug: "grafana".into()
            },
            Op::DeleteOAuth2Provider {
                slug: "grafana".into(),
                pk: 7
            }
        ]
    );
}

#[test]
fn the_same_slug_for_forward_auth_and_sso_is_a_conflict() {
    let a = sso_world((2026, 5));
    let r = rules();
    let held = std::collections::BTreeSet::new();
    let mem = crate::plan::authentik::fields::FieldMemory::default();
    let p = plan_with_oidc(
        Inputs {
            actual: &a,
            wants: &[want("app")],
            remembered: &mem,
            held: &held,
            hold_all: false,
            rules: &r,
            now: std::time::Instant::now(),
            grace: std::time::Duration::ZERO,
        },
        &[oidc("app")],
        &mut GraceClock::default(),
    );
    assert!(p.problems[0].message.contains("already used"));
}

#[test]
fn email_verified_makes_one_shared_mapping_then_uses_it() {
    let mut a = sso_world((2026, 5));
    let mut one = oidc("a");
    one.email_verified = true;
    let mut two = oidc("b");
    two.email_verified = true;
    let p = run(&a, &[one.clone(), two.clone()]);
    let made: Vec<_> = p
        .ops
        .iter()
        .filter(|op| matches!(op, Op::CreateScopeMapping { .. }))
        .collect();
    assert_eq!(made.len(), 1, "{:?}", p.ops);
    assert!(
        matches!(p.ops[0], Op::CreateScopeMapping { .. }),
        "made before the providers"
    );
    assert_eq!(
        created(&p).property_mappings,
        ["scope-openid", NEW_EMAIL_MAPPING, "scope-profile"]
    );
    a.scope_mappings.push(ScopeMapping {
        pk: "mine-email".into(),
        managed: None,
        name: EMAIL_VERIFIED_MAPPING.into(),
        scope_name: "email".into(),
    });
    let p = run(&a, &[one]);
    assert!(!p
        .ops
        .iter()
        .any(|op| matches!(op, Op::CreateScopeMapping { .. })));
    assert_eq!(
        created(&p).property_mappings,
        ["scope-openid", "mine-email", "scope-profile"]
    );
}
