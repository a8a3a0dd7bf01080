//! What `GATEHOUSE_MFA` changed on authentik's validation stage, and what the fields held
//! before, kept in `<SWAG config>/gatehouse/mfa.json` so that `off` puts them back after any
//! number of restarts. `null` when gatehouse changed nothing (or put it back).
//!
//! Written atomically (temp file + rename), only when the bytes differ (see [`crate::edge::files`]).

use crate::edge::statefile::{Spec, StateFile, StateRecord};
use crate::plan::authentik::mfa::{MfaRecord, RECORD_FILE};

/// Where the record lives; `None` when there is none (or no file yet).
pub type MfaStateFile = StateFile<Option<MfaRecord>>;

impl StateRecord for Option<MfaRecord> {
    const SPEC: Spec = Spec {
        file: RECORD_FILE,
        what: "MFA record",
        hint: ": gatehouse changes nothing in authentik's login until it is fixed or removed",
        // The file is small; anything larger is not ours.
        max: 64 * 1024,
        not_a_file_unreadable: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::authentik::{MfaMode, ValidateFields};

    #[test]
    fn round_trip_and_no_rewrite_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = MfaStateFile::new(dir.path());
        assert_eq!(file.load().unwrap(), None);
        let r = MfaRecord {
            stage: "s".into(),
            stage_name: "default-authentication-mfa-validation".into(),
            mode: MfaMode::Totp,
            before: ValidateFields::default(),
            set: ValidateFields {
                not_configured_action: "configure".into(),
                ..ValidateFields::default()
            },
        };
        let r = Some(r);
        assert!(file.save(&r).unwrap());
        assert!(!file.save(&r).unwrap());
        assert_eq!(file.load().unwrap(), r);
        assert!(file.save(&None).unwrap());
        assert_eq!(file.load().unwrap(), None);
    }
}
