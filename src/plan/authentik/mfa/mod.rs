//! The MFA settings, planned (pure). Stack-wide (`GATEHOUSE_MFA`, this file): the authenticator
//! validation stage of authentik's default authentication flow — found by the flow's slug and
//! the flow's stage bindings, never by a display name — gets the device classes asked for,
//! "configure when none" with a setup stage, and what its fields held before is recorded
//! ([`MfaRecord`]) so that `off` puts it back. Per app (`auth.mfa=true`, [`stepup`]): a
//! gatehouse-marked authorization flow that asks for a recent second factor. Each request in
//! words: [`words`].
//!
//! gatehouse never fights the admin: when the stage no longer holds what gatehouse set, or the
//! flow has no validation stage, the plan is a refusal and no request.

pub mod stepup;
mod words;

use serde::{Deserialize, Serialize};

use super::marker::Instance;
use crate::model::authentik::{
    FlowInfo, FlowStageBinding, MfaMode, SetupStage, ValidateFields, ValidateStage,
    ValidateStageCreate,
};
use crate::model::problem::{Problem, ProblemKind};

pub use crate::model::authentik::MaxAge;
pub use stepup::authorization_flow_for;

/// The slug of authentik's default authentication flow (its blueprint's identifier).
pub const AUTHENTICATION_FLOW: &str = "default-authentication-flow";
/// The subject of the stack-wide setting's problems.
pub const SUBJECT: &str = "GATEHOUSE_MFA";
/// The state file the previous field values are kept in (in the state folder).
pub const RECORD_FILE: &str = "mfa.json";

/// The kind of a setup (enrolment) stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetupKind {
    Totp,
    Webauthn,
}

impl SetupKind {
    /// The name authentik's default blueprints give the stage (a stage's name is its unique key).
    pub(crate) fn default_name(self) -> &'static str {
        match self {
            Self::Totp => "default-authenticator-totp-setup",
            Self::Webauthn => "default-authenticator-webauthn-setup",
        }
    }

    /// The name of the one gatehouse makes when the default is missing.
    pub(crate) fn gatehouse_name(self, instance: &Instance) -> String {
        let kind = match self {
            Self::Totp => "totp",
            Self::Webauthn => "webauthn",
        };
        format!("{}-authenticator-{kind}-setup", marked(instance))
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Totp => "TOTP",
            Self::Webauthn => "WebAuthn",
        }
    }
}

/// `gatehouse` or `gatehouse-<instance>`: the start of the names and slugs of the flows and
/// stages gatehouse makes.
pub(crate) fn marked(instance: &Instance) -> String {
    match instance.name() {
        None => "gatehouse".to_owned(),
        Some(n) => format!("gatehouse-{n}"),
    }
}

/// What authentik holds that the MFA settings read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaActual {
    /// The default authentication flow, when it exists.
    pub(crate) flow: Option<FlowInfo>,
    /// The stage bindings of the flows read (the default authentication flow, the step-up ones).
    pub(crate) bindings: Vec<FlowStageBinding>,
    pub(crate) validate_stages: Vec<ValidateStage>,
    pub(crate) totp_stages: Vec<SetupStage>,
    pub(crate) webauthn_stages: Vec<SetupStage>,
    /// gatehouse's step-up flows (by slug mark).
    pub(crate) stepup_flows: Vec<FlowInfo>,
    /// The authorization flows providers use (pks): a flow in use is never deleted (authentik
    /// deletes a provider with its flow).
    pub(crate) flows_in_use: Vec<String>,
}

/// What gatehouse set on the stage, and what the fields held before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRecord {
    /// The stage's pk and name when gatehouse changed it.
    pub(crate) stage: String,
    pub(crate) stage_name: String,
    pub(crate) mode: MfaMode,
    pub(crate) before: ValidateFields,
    pub(crate) set: ValidateFields,
}

/// A setup stage that exists, or the one made earlier in this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupRef {
    Existing { pk: String, name: String },
    New { kind: SetupKind, name: String },
}

impl SetupRef {
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Existing { name, .. } | Self::New { name, .. } => name,
        }
    }
}

/// One request of the MFA settings, in the order of [`MfaPlan::ops`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaOp {
    CreateSetupStage {
        kind: SetupKind,
        name: String,
    },
    /// `fields.configuration_stages` is filled with `setup`'s pk when the request is made.
    PatchValidateStage {
        pk: String,
        name: String,
        mode: MfaMode,
        fields: ValidateFields,
        setup: Option<SetupRef>,
        /// Putting back what the fields held before gatehouse changed them (`off`).
        restore: bool,
    },
    /// A step-up validation stage, with the setup stage of users without a factor.
    CreateStepUpStage {
        age: MaxAge,
        body: ValidateStageCreate,
        setup: SetupRef,
    },
    CreateStepUpFlow {
        age: MaxAge,
        slug: String,
    },
    /// Binds the step-up stage (by name, made earlier or existing) into the flow (by slug).
    BindStepUp {
        age: MaxAge,
        flow: String,
        stage: String,
    },
    DeleteStepUpFlow {
        slug: String,
    },
    DeleteStepUpStage {
        pk: String,
        name: String,
    },
}

impl MfaOp {
    /// A step-up flow or stage going (made after the apps' requests).
    pub(crate) fn is_removal(&self) -> bool {
        matches!(
            self,
            Self::DeleteStepUpFlow { .. } | Self::DeleteStepUpStage { .. }
        )
    }
}

/// What happens to the record once the requests are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordAfter {
    Unchanged,
    /// Saved; its `set` is what the patch sends (`configuration_stages` resolved).
    Save(MfaRecord),
    Clear,
}

/// The requests of the stack-wide setting, its problem, and the record after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPlan {
    pub ops: Vec<MfaOp>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) record: RecordAfter,
}

impl Default for MfaPlan {
    fn default() -> Self {
        Self {
            ops: Vec::new(),
            problems: Vec::new(),
            record: RecordAfter::Unchanged,
        }
    }
}

fn refused(message: String, fix: &str) -> MfaPlan {
    let mut p = Problem::new(ProblemKind::Refused, SUBJECT, message);
    p.fix = Some(fix.to_owned());
    MfaPlan {
        problems: vec![p],
        ..MfaPlan::default()
    }
}

/// The validation stage bound into the default authentication flow (the first by order).
fn validation_stage(actual: &MfaActual) -> Result<&ValidateStage, String> {
    let Some(flow) = &actual.flow else {
        return Err(format!(
            "authentik has no flow with slug {AUTHENTICATION_FLOW}"
        ));
    };
    let mut bound: Vec<&FlowStageBinding> = actual
        .bindings
        .iter()
        .filter(|b| b.target == flow.pk)
        .collect();
    bound.sort_by_key(|b| b.order);
    bound
        .iter()
        .find_map(|b| actual.validate_stages.iter().find(|s| s.pk == b.stage))
        .ok_or_else(|| {
            format!("authentik's flow {AUTHENTICATION_FLOW} has no authenticator validation stage bound to it")
        })
}

/// The setup stage users without a factor enrol with: authentik's default, else gatehouse's,
/// else one to make.
pub(crate) fn setup_stage(actual: &MfaActual, kind: SetupKind, instance: &Instance) -> SetupRef {
    let stages = match kind {
        SetupKind::Totp => &actual.totp_stages,
        SetupKind::Webauthn => &actual.webauthn_stages,
    };
    let ours = kind.gatehouse_name(instance);
    [kind.default_name(), ours.as_str()]
        .iter()
        .find_map(|n| stages.iter().find(|s| s.name == *n))
        .map_or(
            SetupRef::New {
                kind,
                name: ours.clone(),
            },
            |s| SetupRef::Existing {
                pk: s.pk.clone(),
                name: s.name.clone(),
            },
        )
}

/// The device classes a mode asks for; `any` keeps every class the stage accepts.
fn device_classes(mode: MfaMode, current: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match mode {
        MfaMode::Off => current.to_vec(),
        MfaMode::Totp => vec!["static".into(), "totp".into()],
        MfaMode::Webauthn => vec!["webauthn".into()],
        MfaMode::Any => current
            .iter()
            .cloned()
            .chain(["static", "totp", "webauthn"].map(String::from))
            .collect(),
    };
    out.sort();
    out.dedup();
    out
}

/// The fields a mode wants on a stage holding `current`, and the setup stage they name.
fn wanted(
    mode: MfaMode,
    current: &ValidateFields,
    actual: &MfaActual,
    instance: &Instance,
) -> (ValidateFields, SetupRef) {
    let kind = if mode == MfaMode::Webauthn {
        SetupKind::Webauthn
    } else {
        SetupKind::Totp
    };
    let setup = setup_stage(actual, kind, instance);
    let configuration_stages = match &setup {
        SetupRef::Existing { pk, .. } => vec![pk.clone()],
        SetupRef::New { .. } => Vec::new(),
    };
    let fields = ValidateFields {
        device_classes: device_classes(mode, &current.device_classes),
        not_configured_action: "configure".into(),
        configuration_stages,
    };
    (fields, setup)
}

/// The refusal when the stage no longer holds what gatehouse set.
fn changed_since(mode: MfaMode, stage: &ValidateStage, r: &MfaRecord) -> MfaPlan {
    refused(
        format!(
            "GATEHOUSE_MFA={mode}: authentik stage {} was changed in authentik since gatehouse set it (gatehouse set {}; it holds {}); gatehouse changes nothing, so as not to undo your edit",
            stage.name,
            words::fields(&r.set),
            words::fields(&stage.fields())
        ),
        &format!("to let gatehouse manage it again, put those fields back, or delete {RECORD_FILE} in gatehouse's state folder (gatehouse then records the stage as it is now)"),
    )
}

/// `off`: the fields back to what they held before gatehouse changed them.
fn restore(stage: &ValidateStage, r: &MfaRecord) -> MfaPlan {
    MfaPlan {
        ops: vec![MfaOp::PatchValidateStage {
            pk: stage.pk.clone(),
            name: stage.name.clone(),
            mode: MfaMode::Off,
            fields: r.before.clone(),
            setup: None,
            restore: true,
        }],
        problems: Vec::new(),
        record: RecordAfter::Clear,
    }
}

/// The stack-wide plan: `mode` against what authentik holds and what gatehouse recorded.
pub fn plan_stack(
    mode: MfaMode,
    actual: &MfaActual,
    record: Option<&MfaRecord>,
    instance: &Instance,
) -> MfaPlan {
    if mode == MfaMode::Off && record.is_none() {
        return MfaPlan::default();
    }
    let stage = match validation_stage(actual) {
        Ok(s) => s,
        Err(why) => {
            return refused(
                format!("GATEHOUSE_MFA={mode}: {why}; gatehouse changes nothing"),
                "restore authentik's default authentication flow (its blueprint \"Default - Authentication flow\"), or set GATEHOUSE_MFA=off and configure MFA in authentik yourself",
            )
        }
    };
    let current = stage.fields();
    if let Some(r) = record.filter(|r| r.stage != stage.pk || !current.same(&r.set)) {
        return changed_since(mode, stage, r);
    }
    if mode == MfaMode::Off {
        return record.map_or_else(MfaPlan::default, |r| restore(stage, r));
    }
    let (fields, setup) = wanted(mode, &current, actual, instance);
    let before = record.map_or_else(|| current.clone(), |r| r.before.clone());
    let mut next = MfaRecord {
        stage: stage.pk.clone(),
        stage_name: stage.name.clone(),
        mode,
        before,
        set: fields.clone(),
    };
    let unchanged = matches!(setup, SetupRef::Existing { .. }) && fields.same(&current);
    if unchanged {
        next.set = current;
        return MfaPlan {
            record: if record == Some(&next) {
                RecordAfter::Unchanged
            } else {
                RecordAfter::Save(next)
            },
            ..MfaPlan::default()
        };
    }
    let mut ops = Vec::new();
    if let SetupRef::New { kind, name } = &setup {
        ops.push(MfaOp::CreateSetupStage {
            kind: *kind,
            name: name.clone(),
        });
    }
    ops.push(MfaOp::PatchValidateStage {
        pk: stage.pk.clone(),
        name: stage.name.clone(),
        mode,
        fields,
        setup: Some(setup),
        restore: false,
    });
    MfaPlan {
        ops,
        problems: Vec::new(),
        record: RecordAfter::Save(next),
    }
}

#[cfg(test)]
mod tests;
