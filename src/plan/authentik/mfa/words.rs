//! The MFA requests in words (pure): one sentence for "would" (the dry run) and "did" (the log).

use std::fmt;

use super::{MfaOp, SetupRef, AUTHENTICATION_FLOW};
use crate::model::authentik::ValidateFields;
use crate::render::wording::{Describe, Tense};

/// `device_classes: ["static","totp"], not_configured_action: "configure", configuration_stages: [...]`.
pub(crate) fn fields(f: &ValidateFields) -> String {
    format!(
        "device_classes: {}, not_configured_action: {:?}, configuration_stages: {}",
        json(&f.device_classes),
        f.not_configured_action,
        json(&f.configuration_stages)
    )
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The configuration stages named: the setup stage by name when gatehouse picks it.
fn stages(fields: &ValidateFields, setup: Option<&SetupRef>) -> String {
    match setup {
        Some(s) => format!("[{:?}]", s.name()),
        None => json(&fields.configuration_stages),
    }
}

impl Describe for MfaOp {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateSetupStage { kind, name } => write!(
                f,
                "{} authentik {} setup stage {name} (authentik's default one is missing)",
                tense.verb("create", "created"),
                kind.word()
            ),
            Self::PatchValidateStage {
                name,
                mode,
                fields: v,
                setup,
                restore,
                ..
            } => {
                let what = format!(
                    "device_classes: {}, not_configured_action: {:?}, configuration_stages: {}",
                    json(&v.device_classes),
                    v.not_configured_action,
                    stages(v, setup.as_ref())
                );
                if *restore {
                    write!(
                        f,
                        "{} authentik stage {name} of flow {AUTHENTICATION_FLOW} to what it held before gatehouse changed it (GATEHOUSE_MFA=off; {what})",
                        tense.verb("restore", "restored")
                    )
                } else {
                    write!(
                        f,
                        "{} authentik stage {name} of flow {AUTHENTICATION_FLOW} (GATEHOUSE_MFA={mode}; {what})",
                        tense.verb("update", "updated")
                    )
                }
            }
            Self::CreateStepUpStage { age, body, setup } => write!(
                f,
                "{} authentik stage {} (second factor at most {} old, else asked again; users without one enrol with {})",
                tense.verb("create", "created"),
                body.name,
                age.key(),
                setup.name()
            ),
            Self::CreateStepUpFlow { age, slug } => write!(
                f,
                "{} authentik flow {slug} (authorization with a second factor at most {} old, for apps with auth.mfa=true)",
                tense.verb("create", "created"),
                age.key()
            ),
            Self::BindStepUp { flow, stage, .. } => write!(
                f,
                "{} authentik stage {stage} into flow {flow}",
                tense.verb("bind", "bound")
            ),
            Self::DeleteStepUpFlow { slug } => write!(
                f,
                "{} authentik flow {slug}: no app with auth.mfa=true uses it any more",
                tense.verb("delete", "deleted")
            ),
            Self::DeleteStepUpStage { name, .. } => write!(
                f,
                "{} authentik stage {name}: no app with auth.mfa=true uses it any more",
                tense.verb("delete", "deleted")
            ),
        }
    }
}
