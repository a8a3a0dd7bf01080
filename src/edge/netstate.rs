//! The network attachments gatehouse made, kept in `<SWAG config>/gatehouse/networks.json` so a
//! restart of gatehouse neither forgets them (and leaks them) nor mistakes them for the user's.
//!
//! Written atomically (temp file + rename), only when the bytes differ (see [`crate::edge::files`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::edge::files::{ReadError, StateDir, StateDirError, StateFileError};
use crate::plan::networks::Remembered;

/// The file is small; anything larger is not ours.
const MAX_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum NetStateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not gatehouse's network state ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    StateDir(#[from] StateDirError),
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub(crate) struct NetStateFile {
    dir: StateDir,
    path: PathBuf,
}

impl NetStateFile {
    /// `swag_config` is SWAG's `/config`.
    pub(crate) fn new(swag_config: &Path) -> Self {
        let dir = StateDir::new(swag_config, None);
        Self {
            path: dir.path().join("networks.json"),
            dir,
        }
    }

    /// The file (and the state folder, when gatehouse creates it) goes to `uid:gid` (SWAG's
    /// PUID/PGID) when gatehouse may give it.
    pub(crate) fn owned_by(self, uid: u32, gid: u32) -> Self {
        Self {
            dir: self.dir.with_owner(Some((uid, gid))),
            ..self
        }
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// What was remembered; nothing when the file does not exist yet.
    pub(crate) fn load(&self) -> Result<Remembered, NetStateError> {
        let Some(bytes) = self
            .dir
            .read(&self.path, MAX_BYTES)
            .map_err(|e| self.error(e))?
        else {
            return Ok(Remembered::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| NetStateError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Stores `state`. Returns whether the file changed.
    pub(crate) fn save(&self, state: &Remembered) -> Result<bool, NetStateError> {
        self.dir
            .write_json(&self.path, state, MAX_BYTES)
            .map_err(|e| self.error(e))
    }

    /// The state file's trouble in this file's words: anything but a plain read error makes
    /// the file unusable as gatehouse's record.
    fn error(&self, e: StateFileError) -> NetStateError {
        let path = self.path.clone();
        match e {
            StateFileError::Dir(e) => NetStateError::StateDir(e),
            StateFileError::Read(ReadError::Io(source)) => NetStateError::Read { path, source },
            StateFileError::Read(other) => NetStateError::Corrupt {
                path,
                reason: other.to_string(),
            },
            StateFileError::Write(source) => NetStateError::Write { path, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::networks::Joined;
    use std::fs;

    fn state() -> Remembered {
        Remembered {
            joined: [Joined {
                container_id: "abc".into(),
                container: "swag".into(),
                network_id: "n1".into(),
                network: "app_default".into(),
            }]
            .into_iter()
            .collect(),
            ..Remembered::default()
        }
    }

    #[test]
    fn round_trip_and_no_rewrite_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = NetStateFile::new(dir.path());
        assert_eq!(file.load().unwrap(), Remembered::default());
        assert!(file.save(&state()).unwrap());
        assert_eq!(file.load().unwrap(), state());
        assert!(!file.save(&state()).unwrap());
        assert!(file.save(&Remembered::default()).unwrap());
        assert_eq!(file.load().unwrap(), Remembered::default());
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("gatehouse"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, ["networks.json"]);
    }

    #[test]
    fn a_file_from_before_requested_records_loads_and_new_ones_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = NetStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        fs::write(
            file.path(),
            r#"{"joined":[{"container_id":"abc","container":"swag","network_id":"n1","network":"app_default"}]}"#,
        )
        .unwrap();
        assert_eq!(file.load().unwrap(), state());
        let mut s = state();
        let j = Joined {
            container_id: "abc".into(),
            container: "swag".into(),
            network_id: "n2".into(),
            network: "b_default".into(),
        };
        s.request(&j, 1_700_000_000);
        assert!(file.save(&s).unwrap());
        let text = fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("1700000000"), "{text}");
        assert_eq!(file.load().unwrap(), s);
        // A state with nothing requested is written as before.
        assert!(file.save(&state()).unwrap());
        let text = fs::read_to_string(file.path()).unwrap();
        assert!(!text.contains("requested"), "{text}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = NetStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        fs::write(file.path(), "{not json").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("networks.json"), "{err}");
    }

    #[test]
    fn a_symlinked_state_folder_is_refused_and_nothing_written_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("gatehouse")).unwrap();
        let file = NetStateFile::new(dir.path());
        let err = file.save(&state()).unwrap_err().to_string();
        assert!(
            err.contains("symlink") && err.contains("gatehouse"),
            "{err}"
        );
        assert!(file.load().is_err());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn as_root_the_record_and_its_folder_go_to_puid_pgid() {
        use std::os::unix::fs::MetadataExt as _;
        if crate::edge::files::effective_uid() != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = NetStateFile::new(dir.path()).owned_by(4321, 4322);
        assert!(file.save(&state()).unwrap());
        for p in [dir.path().join("gatehouse"), file.path().to_owned()] {
            let m = fs::symlink_metadata(&p).unwrap();
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "{}", p.display());
        }
        // and it is still read back (the folder's owner is trusted)
        assert_eq!(file.load().unwrap(), state());
    }
}
