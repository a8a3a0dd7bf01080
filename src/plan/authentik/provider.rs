//! The proxy provider of each wanted app (pure): made when missing, patched when the labels
//! changed it.

use super::planner::Index;
use super::types::{Op, ProviderRef};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{ProviderCreate, ProviderPatch, ProxyMode};

/// Why no app can be provisioned: a flow providers need is missing.
pub(super) fn flows_missing(ix: &Index<'_>) -> Option<String> {
    let actual = ix.input.actual;
    let rules = ix.input.rules;
    match (&actual.authorization_flow, &actual.invalidation_flow) {
        (None, _) => Some(format!(
            "authentik has no flow with slug {} (GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW)",
            rules.authorization_flow_slug
        )),
        (_, None) if ix.with_invalidation => Some(format!(
            "authentik has no flow with slug {} (GATEHOUSE_AUTHENTIK_INVALIDATION_FLOW)",
            rules.invalidation_flow_slug
        )),
        _ => None,
    }
}

/// Why an `auth.mfa=true` app cannot be provisioned yet: its step-up flow is missing (made
/// before the providers in a round; a provider is never made without it).
pub(super) fn stepup_missing(ix: &Index<'_>, want: &AppWant) -> Option<String> {
    let age = want.mfa?;
    (!ix.input.actual.stepup_flows.contains_key(&age)).then(|| {
        format!(
            "not provisioned yet: the step-up flow {} for auth.mfa.max_age={} is not in authentik yet (gatehouse makes it first)",
            super::mfa::stepup::flow_slug(&ix.input.rules.instance, age),
            age.key()
        )
    })
}

/// Plans `want`'s provider into `ops`, and returns it (the one made in this round if new).
pub(super) fn plan(ix: &Index<'_>, want: &AppWant, ops: &mut Vec<Op>) -> ProviderRef {
    let desired = body(ix, want);
    match ix.owned_providers.get(want.slug.as_str()) {
        Some(p) => {
            let patch = ProviderPatch::between(p, &desired);
            if !patch.is_empty() {
                ops.push(Op::PatchProvider {
                    slug: want.slug.clone(),
                    pk: p.pk,
                    body: patch,
                });
            }
            ProviderRef::Existing(p.pk)
        }
        None => {
            ops.push(Op::CreateProvider {
                slug: want.slug.clone(),
                body: desired,
            });
            ProviderRef::New(want.slug.clone())
        }
    }
}

fn body(ix: &Index<'_>, want: &AppWant) -> ProviderCreate {
    let actual = ix.input.actual;
    ProviderCreate {
        name: ix.input.rules.instance.provider_name(&want.slug),
        authorization_flow: super::mfa::authorization_flow_for(
            want.mfa,
            actual.authorization_flow.as_deref(),
            &actual.stepup_flows,
        )
        .unwrap_or_default(),
        invalidation_flow: ix
            .with_invalidation
            .then(|| actual.invalidation_flow.clone().unwrap_or_default()),
        external_host: want.external_host.clone(),
        mode: ProxyMode::ForwardSingle,
        skip_path_regex: want.skip_path_regex.clone(),
    }
}
