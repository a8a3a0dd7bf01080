//! What `GATEHOUSE_MFA` changed on authentik's validation stage, and what the fields held
//! before, kept in `<SWAG config>/gatehouse/mfa.json` so that `off` puts them back after any
//! number of restarts. `null` when gatehouse changed nothing (or put it back).
//!
//! Written atomically (temp file + rename), only when the bytes differ (see [`crate::edge::files`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::edge::files::{ReadError, StateDir, StateDirError, StateFileError};
use crate::plan::authentik::mfa::{MfaRecord, RECORD_FILE};

/// The file is small; anything larger is not ours.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum MfaStateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not gatehouse's MFA record ({reason}): gatehouse changes nothing in authentik's login until it is fixed or removed")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    StateDir(#[from] StateDirError),
}

/// Where the record lives.
#[derive(Debug, Clone)]
pub struct MfaStateFile {
    dir: StateDir,
    path: PathBuf,
}

impl MfaStateFile {
    /// `swag_config` is SWAG's `/config`.
    pub fn new(swag_config: &Path) -> Self {
        let dir = StateDir::new(swag_config, None);
        Self {
            path: dir.path().join(RECORD_FILE),
            dir,
        }
    }

    /// The file (and the state folder, when gatehouse creates it) goes to `uid:gid`.
    pub(crate) fn owned_by(self, uid: u32, gid: u32) -> Self {
        Self {
            dir: self.dir.with_owner(Some((uid, gid))),
            ..self
        }
    }

    /// The record; `None` when there is none (or no file yet).
    pub(crate) fn load(&self) -> Result<Option<MfaRecord>, MfaStateError> {
        let Some(bytes) = self
            .dir
            .read(&self.path, MAX_BYTES)
            .map_err(|e| self.error(e))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map_err(|e| MfaStateError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Stores `record` (`None`: nothing to put back). Returns whether the file changed.
    pub(crate) fn save(&self, record: Option<&MfaRecord>) -> Result<bool, MfaStateError> {
        self.dir
            .write_json(&self.path, &record, MAX_BYTES)
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: StateFileError) -> MfaStateError {
        let path = self.path.clone();
        match e {
            StateFileError::Dir(e) => MfaStateError::StateDir(e),
            StateFileError::Read(ReadError::Io(source)) => MfaStateError::Read { path, source },
            StateFileError::Read(other) => MfaStateError::Corrupt {
                path,
                reason: other.to_string(),
            },
            StateFileError::Write(source) => MfaStateError::Write { path, source },
        }
    }
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
        assert!(file.save(Some(&r)).unwrap());
        assert!(!file.save(Some(&r)).unwrap());
        assert_eq!(file.load().unwrap(), Some(r));
        assert!(file.save(None).unwrap());
        assert_eq!(file.load().unwrap(), None);
    }
}
