//! Step-up for single apps (`auth.mfa=true`, pure): one gatehouse-marked authorization flow per
//! `auth.mfa.max_age`, shared by every app that asks for that age — implicit consent (no consent
//! stage, like authentik's `default-provider-authorization-implicit-consent`) and one
//! authenticator validation stage with `last_auth_threshold`, so a factor validated within the
//! age is not asked again. Made once, removed when no app uses it any more (and no provider
//! still points at it: authentik deletes a provider together with its authorization flow).
//!
//! The flow is the provider's `authorization_flow`, which every supported server (2024.2 on)
//! runs when a signed-in user opens the app: [`authorization_flow_for`] is the one choice of it,
//! for proxy providers here and OAuth2 providers alike.

use std::collections::{BTreeMap, BTreeSet};

use super::{marked, setup_stage, MfaActual, MfaOp, SetupKind, SetupRef};
use crate::model::authentik::{FlowInfo, MaxAge, ValidateStageCreate};
use crate::plan::authentik::marker::Instance;

pub(crate) fn flow_slug(instance: &Instance, age: MaxAge) -> String {
    format!("{}-mfa-{}", marked(instance), age.key())
}

pub(crate) fn stage_name(instance: &Instance, age: MaxAge) -> String {
    format!("{}-mfa-validate-{}", marked(instance), age.key())
}

/// The age a flow slug of this instance's names.
pub(crate) fn age_of(instance: &Instance, slug: &str) -> Option<MaxAge> {
    let key = slug.strip_prefix(&format!("{}-mfa-", marked(instance)))?;
    MaxAge::from_key(key)
}

/// This instance's step-up flows, by age.
pub fn stepup_flows(instance: &Instance, flows: &[FlowInfo]) -> BTreeMap<MaxAge, String> {
    flows
        .iter()
        .filter_map(|f| age_of(instance, &f.slug).map(|a| (a, f.pk.clone())))
        .collect()
}

/// The authorization flow (pk) a provider of an app gets: the step-up flow of its age for an
/// `auth.mfa=true` app (`None` while that flow does not exist yet: the app waits, it is never
/// provisioned without its step-up), else the configured default flow.
pub fn authorization_flow_for(
    mfa: Option<MaxAge>,
    default: Option<&str>,
    stepup: &BTreeMap<MaxAge, String>,
) -> Option<String> {
    match mfa {
        Some(age) => stepup.get(&age).cloned(),
        None => default.map(str::to_owned),
    }
}

/// The requests that make the step-up flows `wanted` asks for (`creates`, sent before the
/// providers are planned) and remove the ones no app asks for (`deletes`). `hold_removals`: a
/// rejected container may still want one: none is removed.
pub fn plan(
    actual: &MfaActual,
    wanted: &BTreeSet<MaxAge>,
    instance: &Instance,
    hold_removals: bool,
) -> (Vec<MfaOp>, Vec<MfaOp>) {
    let mut creates = Vec::new();
    for &age in wanted {
        let slug = flow_slug(instance, age);
        let name = stage_name(instance, age);
        let flow = actual.stepup_flows.iter().find(|f| f.slug == slug);
        let stage = actual.validate_stages.iter().find(|s| s.name == name);
        if stage.is_none() {
            let setup = setup_stage(actual, SetupKind::Totp, instance);
            if let SetupRef::New { kind, name } = &setup {
                let op = MfaOp::CreateSetupStage {
                    kind: *kind,
                    name: name.clone(),
                };
                if !creates.contains(&op) {
                    creates.push(op);
                }
            }
            creates.push(MfaOp::CreateStepUpStage {
                age,
                body: ValidateStageCreate {
                    name: name.clone(),
                    device_classes: ["static", "totp", "webauthn"].map(String::from).to_vec(),
                    not_configured_action: "configure".into(),
                    configuration_stages: Vec::new(),
                    last_auth_threshold: age.threshold(),
                },
                setup,
            });
        }
        if flow.is_none() {
            creates.push(MfaOp::CreateStepUpFlow {
                age,
                slug: slug.clone(),
            });
        }
        let bound = match (flow, stage) {
            (Some(f), Some(s)) => actual
                .bindings
                .iter()
                .any(|b| b.target == f.pk && b.stage == s.pk),
            _ => false,
        };
        if !bound {
            creates.push(MfaOp::BindStepUp {
                age,
                flow: slug,
                stage: name,
            });
        }
    }
    let mut deletes = Vec::new();
    if hold_removals {
        return (creates, deletes);
    }
    for f in &actual.stepup_flows {
        let Some(age) = age_of(instance, &f.slug) else {
            continue;
        };
        if wanted.contains(&age) || actual.flows_in_use.contains(&f.pk) {
            continue;
        }
        deletes.push(MfaOp::DeleteStepUpFlow {
            slug: f.slug.clone(),
        });
        let name = stage_name(instance, age);
        if let Some(s) = actual.validate_stages.iter().find(|s| s.name == name) {
            deletes.push(MfaOp::DeleteStepUpStage {
                pk: s.pk.clone(),
                name,
            });
        }
    }
    (creates, deletes)
}
