use std::collections::BTreeSet;

use super::*;

const FLOW: &str = "f0000000-0000-0000-0000-000000000001";
const STAGE: &str = "50000000-0000-0000-0000-000000000030";
const TOTP: &str = "50000000-0000-0000-0000-0000000000a1";

/// What authentik's default blueprints make: the flow, its validation stage (skip, every class,
/// no configuration stage) bound at order 30, and the TOTP setup stage.
fn defaults() -> MfaActual {
    MfaActual {
        flow: Some(FlowInfo {
            pk: FLOW.into(),
            slug: AUTHENTICATION_FLOW.into(),
            name: "Welcome to authentik!".into(),
            designation: "authentication".into(),
        }),
        bindings: vec![
            FlowStageBinding {
                pk: "b1".into(),
                target: FLOW.into(),
                stage: "password".into(),
                order: 20,
            },
            FlowStageBinding {
                pk: "b2".into(),
                target: FLOW.into(),
                stage: STAGE.into(),
                order: 30,
            },
        ],
        validate_stages: vec![ValidateStage {
            pk: STAGE.into(),
            name: "default-authentication-mfa-validation".into(),
            device_classes: ["static", "totp", "webauthn", "duo", "sms", "email"]
                .map(String::from)
                .to_vec(),
            not_configured_action: "skip".into(),
            configuration_stages: Vec::new(),
            last_auth_threshold: "seconds=0".into(),
        }],
        totp_stages: vec![SetupStage {
            pk: TOTP.into(),
            name: "default-authenticator-totp-setup".into(),
        }],
        ..MfaActual::default()
    }
}

/// authentik after the stage's fields were set to `f`.
fn with_fields(mut a: MfaActual, f: &ValidateFields) -> MfaActual {
    let s = &mut a.validate_stages[0];
    s.device_classes = f.device_classes.clone();
    s.not_configured_action = f.not_configured_action.clone();
    s.configuration_stages = f.configuration_stages.clone();
    a
}

fn saved(plan: &MfaPlan) -> MfaRecord {
    match &plan.record {
        RecordAfter::Save(r) => r.clone(),
        other => panic!("expected a record to save, got {other:?}"),
    }
}

fn patched(plan: &MfaPlan) -> ValidateFields {
    plan.ops
        .iter()
        .find_map(|op| match op {
            MfaOp::PatchValidateStage { fields, .. } => Some(fields.clone()),
            _ => None,
        })
        .expect("a patch of the stage")
}

#[test]
fn off_then_totp_then_off_puts_back_exactly_what_was_there() {
    let me = Instance::unnamed();
    let a = defaults();
    let original = a.validate_stages[0].fields();
    assert_eq!(plan_stack(MfaMode::Off, &a, None, &me), MfaPlan::default());

    let on = plan_stack(MfaMode::Totp, &a, None, &me);
    let set = patched(&on);
    assert_eq!(set.device_classes, vec!["static", "totp"]);
    assert_eq!(set.not_configured_action, "configure");
    assert_eq!(set.configuration_stages, vec![TOTP]);
    let record = saved(&on);
    assert_eq!(record.before, original);
    assert_eq!(record.set, set);

    // Unchanged resync: nothing to send, nothing to record.
    let a = with_fields(a, &set);
    let again = plan_stack(MfaMode::Totp, &a, Some(&record), &me);
    assert!(again.ops.is_empty() && again.problems.is_empty());
    assert_eq!(again.record, RecordAfter::Unchanged);

    let off = plan_stack(MfaMode::Off, &a, Some(&record), &me);
    assert_eq!(patched(&off), original);
    assert_eq!(off.record, RecordAfter::Clear);
}

#[test]
fn a_stage_changed_in_authentik_since_is_refused_and_left_alone() {
    let me = Instance::unnamed();
    let on = plan_stack(MfaMode::Totp, &defaults(), None, &me);
    let record = saved(&on);
    let mut edited = patched(&on);
    edited.device_classes.push("webauthn".into());
    let a = with_fields(defaults(), &edited);
    for mode in [MfaMode::Totp, MfaMode::Webauthn, MfaMode::Off] {
        let p = plan_stack(mode, &a, Some(&record), &me);
        assert!(p.ops.is_empty(), "{mode}: {:?}", p.ops);
        assert_eq!(p.record, RecordAfter::Unchanged);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0]
            .message
            .contains("changed in authentik since gatehouse set it"));
    }
}

#[test]
fn no_validation_stage_in_the_flow_is_refused() {
    let me = Instance::unnamed();
    let mut a = defaults();
    a.bindings.retain(|b| b.stage != STAGE);
    let p = plan_stack(MfaMode::Totp, &a, None, &me);
    assert!(p.ops.is_empty());
    assert!(p.problems[0]
        .message
        .contains("has no authenticator validation stage"));
    a.flow = None;
    let p = plan_stack(MfaMode::Any, &a, None, &me);
    assert!(p.ops.is_empty());
    assert!(p.problems[0]
        .message
        .contains("no flow with slug default-authentication-flow"));
}

#[test]
fn the_stage_is_found_by_its_binding_not_its_name() {
    let me = Instance::unnamed();
    let mut a = defaults();
    a.validate_stages[0].name = "renamed by the admin".into();
    // Another validation stage, not bound into the flow.
    a.validate_stages.push(ValidateStage {
        pk: "other".into(),
        name: "default-authentication-mfa-validation".into(),
        ..ValidateStage::default()
    });
    let p = plan_stack(MfaMode::Totp, &a, None, &me);
    assert!(matches!(&p.ops[0], MfaOp::PatchValidateStage { pk, .. } if pk == STAGE));
}

#[test]
fn webauthn_and_a_missing_setup_stage() {
    let me = Instance::named("edge").expect("name");
    let p = plan_stack(MfaMode::Webauthn, &defaults(), None, &me);
    assert_eq!(
        p.ops[0],
        MfaOp::CreateSetupStage {
            kind: SetupKind::Webauthn,
            name: "gatehouse-edge-authenticator-webauthn-setup".into()
        }
    );
    assert_eq!(patched(&p).device_classes, vec!["webauthn"]);
    // any: every class the stage accepts stays.
    let p = plan_stack(MfaMode::Any, &defaults(), None, &me);
    assert_eq!(patched(&p).device_classes.len(), 6);
}

#[test]
fn switching_modes_keeps_the_first_before() {
    let me = Instance::unnamed();
    let a = defaults();
    let original = a.validate_stages[0].fields();
    let totp = plan_stack(MfaMode::Totp, &a, None, &me);
    let a = with_fields(a, &patched(&totp));
    let any = plan_stack(MfaMode::Any, &a, Some(&saved(&totp)), &me);
    assert_eq!(saved(&any).before, original);
    assert_eq!(saved(&any).mode, MfaMode::Any);
}

fn ages(list: &[&str]) -> BTreeSet<MaxAge> {
    list.iter()
        .map(|a| MaxAge::parse(a).expect("age"))
        .collect()
}

#[test]
fn one_step_up_flow_per_age_made_once_shared_and_removed_when_unused() {
    let me = Instance::unnamed();
    let a = defaults();
    // Two apps with 12h, one with 90m: two flows.
    let (creates, deletes) = stepup::plan(&a, &ages(&["12h", "90m"]), &me, false);
    assert!(deletes.is_empty());
    let flows: Vec<&str> = creates
        .iter()
        .filter_map(|op| match op {
            MfaOp::CreateStepUpFlow { slug, .. } => Some(slug.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(flows, vec!["gatehouse-mfa-90m", "gatehouse-mfa-12h"]);
    let threshold = creates.iter().find_map(|op| match op {
        MfaOp::CreateStepUpStage { body, .. } if body.name == "gatehouse-mfa-validate-12h" => {
            Some(body.last_auth_threshold.clone())
        }
        _ => None,
    });
    assert_eq!(threshold.as_deref(), Some("hours=12"));

    // Made: nothing more to do.
    let mut made = a.clone();
    made.stepup_flows.push(FlowInfo {
        pk: "sf".into(),
        slug: "gatehouse-mfa-12h".into(),
        ..FlowInfo::default()
    });
    made.validate_stages.push(ValidateStage {
        pk: "ss".into(),
        name: "gatehouse-mfa-validate-12h".into(),
        ..ValidateStage::default()
    });
    made.bindings.push(FlowStageBinding {
        pk: "sb".into(),
        target: "sf".into(),
        stage: "ss".into(),
        order: 10,
    });
    let (creates, deletes) = stepup::plan(&made, &ages(&["12h"]), &me, false);
    assert!(
        creates.is_empty() && deletes.is_empty(),
        "{creates:?} {deletes:?}"
    );

    // No app wants it, but a provider still uses it: kept this round.
    made.flows_in_use.push("sf".into());
    let (_, deletes) = stepup::plan(&made, &ages(&[]), &me, false);
    assert!(deletes.is_empty());
    made.flows_in_use.clear();
    let (_, deletes) = stepup::plan(&made, &ages(&[]), &me, true);
    assert!(deletes.is_empty(), "removals held");
    let (_, deletes) = stepup::plan(&made, &ages(&[]), &me, false);
    assert_eq!(deletes.len(), 2);
}

#[test]
fn the_flow_choice_never_falls_back_for_an_mfa_app() {
    let mut flows = std::collections::BTreeMap::new();
    let age = MaxAge::DEFAULT;
    assert_eq!(
        authorization_flow_for(None, Some("d"), &flows),
        Some("d".into())
    );
    assert_eq!(authorization_flow_for(Some(age), Some("d"), &flows), None);
    flows.insert(age, "s".to_owned());
    assert_eq!(
        authorization_flow_for(Some(age), Some("d"), &flows),
        Some("s".into())
    );
}

#[test]
fn max_age_grammar() {
    assert_eq!(
        MaxAge::parse("12h").map(MaxAge::threshold),
        Ok("hours=12".into())
    );
    assert_eq!(MaxAge::parse("90m").map(MaxAge::key), Ok("90m".into()));
    assert_eq!(MaxAge::parse("120m").map(MaxAge::key), Ok("2h".into()));
    assert_eq!(
        MaxAge::parse("1d").map(MaxAge::threshold),
        Ok("hours=24".into())
    );
    for bad in [
        "",
        "h",
        "0m",
        "31d",
        "12",
        "1.5h",
        "-1h",
        "12 h",
        "99999999h",
        // Not ASCII: a byte split would cut a character (found by tests/fuzz_labels.rs).
        "1\u{f8e}",
        "12h\u{e9}",
        "\u{1495}\u{f8e}",
    ] {
        assert!(MaxAge::parse(bad).is_err(), "{bad}");
    }
}
