//! Flows, stages and the bindings of a flow to its stages, as far as the MFA settings read and
//! write them (`/flows/instances/`, `/flows/bindings/`, `/stages/authenticator/validate/`,
//! `/stages/authenticator/totp/`, `/stages/authenticator/webauthn/`). Tolerant like the rest:
//! every field has a default, unknown fields are ignored (`last_auth_threshold` and the
//! `webauthn_*` fields appeared over the versions gatehouse supports).

use serde::{Deserialize, Serialize};

/// A flow with what the MFA settings need of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FlowInfo {
    pub(crate) pk: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) designation: String,
}

/// `/flows/bindings/`: a stage bound into a flow at an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FlowStageBinding {
    pub(crate) pk: String,
    /// The flow's pk.
    pub(crate) target: String,
    /// The stage's pk.
    pub(crate) stage: String,
    pub(crate) order: i64,
}

/// An authenticator validation stage (`/stages/authenticator/validate/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ValidateStage {
    pub(crate) pk: String,
    pub(crate) name: String,
    pub(crate) device_classes: Vec<String>,
    pub(crate) not_configured_action: String,
    pub(crate) configuration_stages: Vec<String>,
    pub(crate) last_auth_threshold: String,
}

impl ValidateStage {
    /// The three fields the stack-wide MFA setting changes, as authentik holds them.
    pub(crate) fn fields(&self) -> ValidateFields {
        ValidateFields {
            device_classes: self.device_classes.clone(),
            not_configured_action: self.not_configured_action.clone(),
            configuration_stages: self.configuration_stages.clone(),
        }
    }
}

/// A setup (enrolment) stage: TOTP (`/stages/authenticator/totp/`) or WebAuthn
/// (`/stages/authenticator/webauthn/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SetupStage {
    pub(crate) pk: String,
    pub(crate) name: String,
}

/// The fields of a validation stage gatehouse sets for `GATEHOUSE_MFA`, and the body of the
/// `PATCH` that sets them. Compared as sets where authentik keeps a set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidateFields {
    pub(crate) device_classes: Vec<String>,
    pub(crate) not_configured_action: String,
    pub(crate) configuration_stages: Vec<String>,
}

impl ValidateFields {
    /// The same fields, lists sorted (authentik does not promise an order).
    pub(crate) fn normalised(&self) -> Self {
        let mut n = self.clone();
        n.device_classes.sort();
        n.device_classes.dedup();
        n.configuration_stages.sort();
        n.configuration_stages.dedup();
        n
    }

    /// Whether both hold the same values.
    pub(crate) fn same(&self, other: &Self) -> bool {
        self.normalised() == other.normalised()
    }
}

/// `POST /stages/authenticator/validate/`: a gatehouse-marked validation stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidateStageCreate {
    pub(crate) name: String,
    pub(crate) device_classes: Vec<String>,
    pub(crate) not_configured_action: String,
    pub(crate) configuration_stages: Vec<String>,
    /// `hours=12`: a factor validated within this time is not asked again.
    pub(crate) last_auth_threshold: String,
}

/// `POST /stages/authenticator/totp/`: a gatehouse-marked TOTP setup stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TotpStageCreate {
    pub(crate) name: String,
    /// authentik's `DigitsEnum`: `"6"` or `"8"`.
    pub(crate) digits: String,
}

/// `POST /flows/instances/`: a gatehouse-marked flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowCreate {
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) designation: String,
}

/// `POST /flows/bindings/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowStageBindingCreate {
    pub(crate) target: String,
    pub(crate) stage: String,
    pub(crate) order: i64,
}

/// `GATEHOUSE_MFA`: what the default authentication flow asks of every login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMode {
    /// Leave authentik's login as it is (and put back what gatehouse changed).
    #[default]
    Off,
    /// A TOTP code (or a static recovery code); users without one enrol a TOTP device.
    Totp,
    /// A passkey / security key; users without one enrol one.
    Webauthn,
    /// Any factor the stage accepts; users without one enrol a TOTP device.
    Any,
}

impl MfaMode {
    pub const VALUES: &'static str = "off, totp, webauthn or any";

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "off" | "false" | "no" => Ok(Self::Off),
            "totp" => Ok(Self::Totp),
            "webauthn" | "passkey" | "passkeys" => Ok(Self::Webauthn),
            "any" => Ok(Self::Any),
            _ => Err(format!("must be {}", Self::VALUES)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Totp => "totp",
            Self::Webauthn => "webauthn",
            Self::Any => "any",
        }
    }
}

impl std::fmt::Display for MfaMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `auth.mfa.max_age`: how long a validated second factor counts for an app's step-up, in
/// whole minutes (1 minute to 30 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxAge(u32);

impl MaxAge {
    /// The default: 12 hours.
    pub const DEFAULT: Self = Self(12 * 60);
    pub const RULE: &'static str =
        "must be a duration from 1m to 30d: a whole number followed by m (minutes), h (hours) or d (days), e.g. 12h";

    /// `90m`, `12h`, `1d`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        // A label value is hostile: only ASCII can be split by bytes without a panic.
        if !raw.is_ascii() {
            return Err(Self::RULE);
        }
        let (n, unit) = raw.split_at(raw.len().saturating_sub(1));
        let n: u32 = if !n.is_empty() && n.len() <= 5 && n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().map_err(|_| Self::RULE)?
        } else {
            return Err(Self::RULE);
        };
        let minutes = match unit {
            "m" => n,
            "h" => n.saturating_mul(60),
            "d" => n.saturating_mul(24 * 60),
            _ => return Err(Self::RULE),
        };
        if (1..=30 * 24 * 60).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(Self::RULE)
        }
    }

    /// The shortest spelling: `12h`, `90m` (it names the flow and stage gatehouse makes).
    pub fn key(self) -> String {
        if self.0.is_multiple_of(60) {
            format!("{}h", self.0 / 60)
        } else {
            format!("{}m", self.0)
        }
    }

    /// authentik's `last_auth_threshold`: `hours=12`, `minutes=90`.
    pub fn threshold(self) -> String {
        if self.0.is_multiple_of(60) {
            format!("hours={}", self.0 / 60)
        } else {
            format!("minutes={}", self.0)
        }
    }

    /// The age a key names (`12h` → 12 hours).
    pub fn from_key(key: &str) -> Option<Self> {
        let age = Self::parse(key).ok()?;
        (age.key() == key).then_some(age)
    }
}
