//! The optional application fields gatehouse set in authentik (see [`crate::plan::authentik::fields`]), kept in
//! `<SWAG config>/gatehouse/authentik.json` so a restart still knows which values are its own.
//!
//! One file holds every instance's record, by its publisher mark (`gatehouse`,
//! `gatehouse/<name>`): renaming an instance neither loses nor borrows another's record. Only a
//! regular file is read, at most 4 MiB. Written atomically (a unique temp file +
//! rename), only when the bytes differ, and by [`FieldStateFile::update`] under an advisory lock
//! on a side file, so instances sharing the file do not lose each other's updates.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::edge::files;
pub(crate) use crate::edge::statefile::StateError as FieldStateError;
use crate::edge::statefile::{Spec, StateFile, StateRecord};
use crate::plan::authentik::fields::FieldMemory;
use crate::plan::authentik::marker::Instance;

/// The file is small; anything larger is not ours.
const MAX_BYTES: u64 = 4 << 20;

/// The file's contents: each instance's record, by publisher mark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldState {
    pub(crate) instances: BTreeMap<String, FieldMemory>,
}

impl FieldState {
    /// What `instance` set; nothing when it has no record yet.
    pub(crate) fn of(&self, instance: &Instance) -> FieldMemory {
        self.instances
            .get(&instance.publisher())
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces `instance`'s record, leaving the others' as they are.
    pub(crate) fn put(&mut self, instance: &Instance, memory: FieldMemory) {
        if memory.is_empty() {
            self.instances.remove(&instance.publisher());
        } else {
            self.instances.insert(instance.publisher(), memory);
        }
    }
}

impl StateRecord for FieldState {
    const SPEC: Spec = Spec {
        file: "authentik.json",
        what: "authentik record",
        hint: "",
        max: MAX_BYTES,
        not_a_file_unreadable: true,
    };
}

/// Where the record lives.
pub type FieldStateFile = StateFile<FieldState>;

impl FieldStateFile {
    /// Where a record that failed to parse is moved before a fresh one is written.
    pub(crate) fn corrupt_path(&self) -> PathBuf {
        self.path().with_extension("json.corrupt")
    }

    /// The side file whose advisory lock every writer holds around read, merge and write.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.path().with_extension("json.lock")
    }

    /// Reads the file again under the lock, lets `change` edit it, and writes it when the
    /// bytes differ: the records of other instances sharing it stay, and two writers do not
    /// lose each other's updates. A file that cannot be read (permissions, I/O, not a regular
    /// file) is not written: the error is returned. One whose content is corrupt is first moved
    /// aside to [`Self::corrupt_path`] (said in [`Updated::moved_aside`]), then replaced.
    ///
    /// Never waits: when another process holds the lock, [`FieldStateError::Busy`] is returned
    /// at once and nothing is written (this runs inside the async authentik round).
    pub(crate) fn update(
        &self,
        change: impl FnOnce(&mut FieldState),
    ) -> Result<Updated, FieldStateError> {
        let _lock = self.lock()?;
        let mut moved_aside = None;
        let mut state = match self.load() {
            Ok(s) => s,
            Err(FieldStateError::Corrupt { reason, .. }) => {
                let aside = self.corrupt_path();
                fs::rename(self.path(), &aside).map_err(|source| FieldStateError::Write {
                    path: aside.clone(),
                    source,
                })?;
                moved_aside = Some((aside, reason));
                FieldState::default()
            }
            Err(e) => return Err(e),
        };
        change(&mut state);
        let written = self.save(&state)?;
        Ok(Updated {
            written,
            moved_aside,
        })
    }

    /// Takes the advisory lock without waiting (released when the returned file is dropped).
    /// Held only around a read and a write of a small file; when another process holds it,
    /// [`FieldStateError::Busy`].
    fn lock(&self) -> Result<fs::File, FieldStateError> {
        let f = self.open_lock()?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => Err(FieldStateError::Busy {
                path: self.path().to_path_buf(),
            }),
            Err(fs::TryLockError::Error(source)) => Err(FieldStateError::Write {
                path: self.lock_path(),
                source,
            }),
        }
    }

    /// Opens (or creates) the lock file: a regular file in the checked state folder, never
    /// through a symlink, given to the folder's owner.
    fn open_lock(&self) -> Result<fs::File, FieldStateError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        self.dir().checked(true)?;
        let path = self.lock_path();
        let err = |source| FieldStateError::Write {
            path: path.clone(),
            source,
        };
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(err)?;
        let m = f.metadata().map_err(err)?;
        if !m.file_type().is_file() {
            return Err(FieldStateError::NotAFile {
                path: path.clone(),
                kind: files::kind_of(&m),
            });
        }
        if let Some((uid, gid)) = self.dir().owner().filter(|_| files::effective_uid() == 0) {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid)).map_err(err)?;
        }
        Ok(f)
    }
}

/// What [`FieldStateFile::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Updated {
    /// The file changed.
    pub(crate) written: bool,
    /// The corrupt record was moved here first, and why it was corrupt.
    pub(crate) moved_aside: Option<(PathBuf, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::authentik::fields::Field;

    fn memory(slug: &str, group: &str) -> FieldMemory {
        let mut m = FieldMemory::default();
        m.set(slug, "pk", Field::Group, group);
        m.set(slug, "pk", Field::Icon, "fa://fa-film");
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

    #[test]
    fn only_a_regular_file_is_read_and_never_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        // a symlink, even to a good record, is refused (not followed)
        let good = dir.path().join("good.json");
        fs::write(&good, "{\"instances\": {}}").unwrap();
        std::os::unix::fs::symlink(&good, file.path()).unwrap();
        let err = file.load().unwrap_err();
        assert!(matches!(err, FieldStateError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("symlink"), "{err}");
        // an endless device behind a symlink: refused, not read
        fs::remove_file(file.path()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", file.path()).unwrap();
        assert!(matches!(
            file.load().unwrap_err(),
            FieldStateError::NotAFile { .. }
        ));
        // a FIFO: refused without blocking
        fs::remove_file(file.path()).unwrap();
        let c = std::ffi::CString::new(file.path().as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = file.load().unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        // too large: corrupt
        fs::remove_file(file.path()).unwrap();
        fs::write(file.path(), vec![b' '; MAX_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            file.load().unwrap_err(),
            FieldStateError::Corrupt { .. }
        ));
    }

    #[test]
    fn a_symlink_planted_at_the_old_temp_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "mine").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("gatehouse/.authentik.json.tmp"))
            .unwrap();
        let mut state = FieldState::default();
        state.put(&Instance::unnamed(), memory("jf", "Media"));
        assert!(file.save(&state).unwrap());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "mine");
        assert_eq!(file.load().unwrap(), state);
        assert!(!fs::symlink_metadata(file.path()).unwrap().is_symlink());
    }

    #[test]
    fn update_moves_a_corrupt_record_aside_and_leaves_an_unreadable_one_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        fs::create_dir_all(dir.path().join("gatehouse")).unwrap();
        fs::write(file.path(), "{not json").unwrap();
        let put = |s: &mut FieldState| s.put(&Instance::unnamed(), memory("jf", "Media"));
        let u = file.update(put).unwrap();
        assert!(u.written);
        assert_eq!(u.moved_aside.unwrap().0, file.corrupt_path());
        assert_eq!(
            fs::read_to_string(file.corrupt_path()).unwrap(),
            "{not json"
        );
        assert_eq!(
            file.load().unwrap().of(&Instance::unnamed()),
            memory("jf", "Media")
        );
        // unreadable (here: a directory in its place): an error, nothing written or moved
        fs::remove_file(file.path()).unwrap();
        fs::remove_file(file.corrupt_path()).unwrap();
        fs::create_dir(file.path()).unwrap();
        let err = file.update(put).unwrap_err();
        assert!(err.is_unreadable(), "{err}");
        assert!(file.path().is_dir());
        assert!(!file.corrupt_path().exists());
    }

    #[test]
    fn a_writer_never_waits_for_the_lock_and_merges_what_was_written_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path());
        let east = Instance::named("east").unwrap();
        // Another process's lock: a separate open file description of the lock file.
        let held = file.open_lock().unwrap();
        held.lock().unwrap();
        let put = |s: &mut FieldState| s.put(&Instance::unnamed(), memory("jf", "Media"));
        let started = std::time::Instant::now();
        let err = file.update(put).unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "update waited for the lock"
        );
        assert!(matches!(err, FieldStateError::Busy { .. }), "{err}");
        assert!(err.is_unreadable());
        assert!(!file.path().exists(), "written while busy");
        // another writer's update, made while holding the lock
        let mut other = FieldState::default();
        other.put(&east, memory("wiki", "Docs"));
        assert!(file.save(&other).unwrap());
        drop(held);
        assert!(file.update(put).unwrap().written);
        let back = file.load().unwrap();
        assert_eq!(back.of(&east), memory("wiki", "Docs"));
        assert_eq!(back.of(&Instance::unnamed()), memory("jf", "Media"));
        let mut names: Vec<_> = fs::read_dir(dir.path().join("gatehouse"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["authentik.json", "authentik.json.lock"]);
    }

    #[test]
    fn a_symlinked_state_folder_is_refused_and_nothing_written_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let swag = dir.path().join("swag");
        fs::create_dir(&swag).unwrap();
        std::os::unix::fs::symlink(&elsewhere, swag.join("gatehouse")).unwrap();
        let file = FieldStateFile::new(&swag);
        let put = |s: &mut FieldState| s.put(&Instance::unnamed(), memory("jf", "Media"));
        let err = file.update(put).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(err.is_unreadable());
        assert!(file.load().is_err());
        assert!(file.save(&FieldState::default()).is_err());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn as_root_the_record_and_its_folder_go_to_puid_pgid() {
        use std::os::unix::fs::MetadataExt as _;
        if files::effective_uid() != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = FieldStateFile::new(dir.path()).owned_by(4321, 4322);
        file.update(|s| s.put(&Instance::unnamed(), memory("jf", "Media")))
            .unwrap();
        for p in [
            dir.path().join("gatehouse"),
            file.path().to_owned(),
            file.lock_path(),
        ] {
            let m = fs::symlink_metadata(&p).unwrap();
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "{}", p.display());
        }
    }
}
