//! One typed JSON record in the state folder `<SWAG config>/gatehouse/` ([`StateDir`]): read
//! bounded, written atomically (temp file + rename) and only when the bytes differ (see
//! [`crate::edge::files`]), its trouble said in one error type naming the file.
//! [`crate::edge::netstate`], [`crate::edge::mfastate`] and [`crate::edge::fieldstate`] are
//! such records.

use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use crate::edge::files::{ReadError, StateDir, StateDirError, StateFileError};

/// How a record is stored and named in errors.
#[derive(Debug)]
pub struct Spec {
    /// Its file name in the state folder.
    pub(crate) file: &'static str,
    /// What it is, in "{path} is not gatehouse's {what}".
    pub(crate) what: &'static str,
    /// What follows the reason when it is corrupt (empty or ": ...").
    pub(crate) hint: &'static str,
    /// The file is small; anything larger is not ours.
    pub(crate) max: u64,
    /// Something other than a regular file in its place is [`StateError::NotAFile`] (true) or
    /// [`StateError::Corrupt`] (false).
    pub(crate) not_a_file_unreadable: bool,
}

/// A value kept as a JSON state file; its default stands for "no file yet".
pub trait StateRecord: Serialize + DeserializeOwned + Default {
    const SPEC: Spec;
}

/// Why a state record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: it is a {kind}, not a regular file")]
    NotAFile { path: PathBuf, kind: String },
    #[error("{path} is not gatehouse's {what} ({reason}){hint}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        reason: String,
        hint: &'static str,
    },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{path} is being updated by another gatehouse (its lock is held); trying again next round"
    )]
    Busy { path: PathBuf },
    #[error(transparent)]
    StateDir(#[from] StateDirError),
}

impl StateError {
    /// The file exists but could not be read (as opposed to read and found corrupt): it may be
    /// readable later, and must not be overwritten meanwhile.
    pub(crate) fn is_unreadable(&self) -> bool {
        matches!(
            self,
            Self::Read { .. } | Self::NotAFile { .. } | Self::StateDir(_) | Self::Busy { .. }
        )
    }
}

/// Where a record of type `T` lives.
#[derive(Debug, Clone)]
pub struct StateFile<T> {
    dir: StateDir,
    path: PathBuf,
    _record: PhantomData<fn() -> T>,
}

impl<T: StateRecord> StateFile<T> {
    /// `swag_config` is SWAG's `/config`.
    pub fn new(swag_config: &Path) -> Self {
        let dir = StateDir::new(swag_config, None);
        Self {
            path: dir.path().join(T::SPEC.file),
            dir,
            _record: PhantomData,
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

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn dir(&self) -> &StateDir {
        &self.dir
    }

    /// What was recorded; the default when the file does not exist yet.
    pub(crate) fn load(&self) -> Result<T, StateError> {
        let Some(bytes) = self
            .dir
            .read(&self.path, T::SPEC.max)
            .map_err(|e| self.error(e))?
        else {
            return Ok(T::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e.to_string()))
    }

    /// Stores `value`. Returns whether the file changed.
    pub(crate) fn save(&self, value: &T) -> Result<bool, StateError> {
        self.dir
            .write_json(&self.path, value, T::SPEC.max)
            .map_err(|e| self.error(e))
    }

    fn corrupt(&self, reason: String) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            what: T::SPEC.what,
            reason,
            hint: T::SPEC.hint,
        }
    }

    /// The state file's trouble in this record's words: anything but a plain read error (or,
    /// where the record says so, something not a regular file) makes it unusable.
    fn error(&self, e: StateFileError) -> StateError {
        let path = self.path.clone();
        match e {
            StateFileError::Dir(e) => StateError::StateDir(e),
            StateFileError::Read(ReadError::Io(source)) => StateError::Read { path, source },
            StateFileError::Read(ReadError::NotAFile(kind)) if T::SPEC.not_a_file_unreadable => {
                StateError::NotAFile { path, kind }
            }
            StateFileError::Read(other) => self.corrupt(other.to_string()),
            StateFileError::Write(source) => StateError::Write { path, source },
        }
    }
}
