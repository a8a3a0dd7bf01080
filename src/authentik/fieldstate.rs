//! The optional application fields gatehouse set in authentik (see [`super::fields`]), kept in
//! `<SWAG config>/gatehouse/authentik.json` so a restart still knows which values are its own.
//!
//! One file holds every instance's record, by its publisher mark (`gatehouse`,
//! `gatehouse/<name>`): renaming an instance neither loses nor borrows another's record. Written
//! atomically (temp file + rename), only when the bytes differ.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fields::FieldMemory;
use super::marker::Instance;

/// The file is small; anything larger is not ours.
const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FieldStateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not gatehouse's authentik record ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The file's contents: each instance's record, by publisher mark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldState {
    pub instances: BTreeMap<String, FieldMemory>,
}

impl FieldState {
    /// What `instance` set; nothing when it has no record yet.
    pub fn of(&self, instance: &Instance) -> FieldMemory {
        self.instances
            .get(&instance.publisher())
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces `instance`'s record, leaving the others' as they are.
    pub fn put(&mut self, instance: &Instance, memory: FieldMemory) {
        if memory.is_empty() {
            self.instances.remove(&instance.publisher());
        } else {
            self.instances.insert(instance.publisher(), memory);
        }
    }
}

/// Where the record lives.
#[derive(Debug, Clone)]
pub struct FieldStateFile {
    path: PathBuf,
}

impl FieldStateFile {
    /// `swag_config` is SWAG's `/config`.
    pub fn new(swag_config: &Path) -> Self {
        Self {
            path: swag_config.join("gatehouse").join("authentik.json"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was recorded; nothing when the file does not exist yet.
    pub fn load(&self) -> Result<FieldState, FieldStateError> {
        match fs::metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FieldState::default()),
            Err(source) => {
                return Err(FieldStateError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
            Ok(m) if m.len() > MAX_BYTES => {
                return Err(FieldStateError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("larger than {MAX_BYTES} bytes"),
                })
            }
            Ok(_) => {}
        }
        let text = fs::read_to_string(&self.path).map_err(|source| FieldStateError::Read {
            path: self.path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| FieldStateError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Stores `state`. Returns whether the file changed.
    pub fn save(&self, state: &FieldState) -> Result<bool, FieldStateError> {
        let write_err = |source| FieldStateError::Write {
            path: self.path.clone(),
            source,
        };
        let mut bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| write_err(io::Error::other(e.to_string())))?;
        bytes.push(b'\n');
        if fs::read(&self.path).ok().as_deref() == Some(bytes.as_slice()) {
            return Ok(false);
        }
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(dir).map_err(write_err)?;
        let tmp = dir.join(".authentik.json.tmp");
        let mut f = fs::File::create(&tmp).map_err(write_err)?;
        f.write_all(&bytes).map_err(write_err)?;
        f.sync_all().map_err(write_err)?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(write_err)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fields::Field;
    use super::*;

    fn memory(slug: &str, group: &str) -> FieldMemory {
        let mut m = FieldMemory::default();
        m.set(slug, Field::Group, group);
        m.set(slug, Field::Icon, "fa://fa-film");
        m
    }

    #[test]
    fn round_trip_per_instance_and_no_rewrite_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        assert_eq!(file.load().unwrap(), FieldState::default());
        let east = Instance::named("east").unwrap();
        let mut state = FieldState::default();
        state.put(&Instance::unnamed(), memory("jf", "Media"));
        state.put(&east, memory("wiki", "Docs \"quoted\"\n"));
        assert!(file.save(&state).unwrap());
        let back = file.load().unwrap();
        assert_eq!(back, state);
        assert_eq!(back.of(&Instance::unnamed()), memory("jf", "Media"));
        assert_eq!(back.of(&east), memory("wiki", "Docs \"quoted\"\n"));
        assert_eq!(
            back.of(&Instance::named("west").unwrap()),
            FieldMemory::default()
        );
        let text = fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("\"gatehouse/east\""), "{text}");
        assert!(text.contains("\"meta_icon\": \"fa://fa-film\""), "{text}");
        // unchanged: not written again (same modification time and bytes)
        let before = fs::metadata(file.path()).unwrap().modified().unwrap();
        assert!(!file.save(&state).unwrap());
        assert_eq!(
            fs::metadata(file.path()).unwrap().modified().unwrap(),
            before
        );
        // an instance with nothing left is dropped; the other stays
        state.put(&east, FieldMemory::default());
        assert!(file.save(&state).unwrap());
        assert_eq!(file.load().unwrap().instances.len(), 1);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("gatehouse"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, ["authentik.json"]);
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        for bad in [
            "{not json",
            "[]",
            r#"{"instances": {"gatehouse": {"jf": {"group": 3}}}}"#,
            r#"{"instances": {"gatehouse": ["jf"]}}"#,
            "{}",
        ] {
            fs::write(file.path(), bad).unwrap();
            let err = file.load().unwrap_err();
            assert!(
                matches!(err, FieldStateError::Corrupt { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("authentik.json"), "{err}");
        }
    }
}
