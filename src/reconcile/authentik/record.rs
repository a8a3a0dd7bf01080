//! The record of the optional field values gatehouse set in authentik (see
//! [`crate::plan::authentik::fields`]): in this process, and in a file when one is given
//! ([`FieldStateFile`]), so that after a restart a field whose label is gone is still cleared.

use crate::edge::fieldstate::{FieldStateError, FieldStateFile};
use crate::plan::authentik::fields::FieldMemory;
use crate::plan::authentik::Instance;

/// What gatehouse set, where it is kept, and whether reading or writing it failed (each said
/// once).
#[derive(Debug, Default)]
pub(super) struct FieldRecord {
    /// Where the values are kept; `None`: in this process only.
    pub(crate) file: Option<FieldStateFile>,
    /// Those values (this instance's), loaded at the first round.
    memory: Option<FieldMemory>,
    /// This instance's values as the file holds them, as far as this process knows (not
    /// written again when unchanged).
    saved: Option<FieldMemory>,
    /// The file was read (or found corrupt): it may be written.
    loaded: bool,
    /// Reading the file failed, and was said once.
    load_failing: bool,
    /// Writing the file failed, and was said once.
    save_failing: bool,
}

impl FieldRecord {
    /// The values `instance` set, as recorded. Until the file is read, what this process
    /// saw since it started (nothing at first): nothing recorded before is then cleared. A file
    /// that cannot be read (permissions, I/O, not a regular file) is tried again next round
    /// and not written meanwhile; a corrupt one counts as empty, and is moved aside when the
    /// record is next written. Each is said once.
    pub(super) fn remembered(&mut self, instance: &Instance) -> FieldMemory {
        let Some(file) = &self.file else {
            return self.memory.clone().unwrap_or_default();
        };
        if self.loaded {
            return self.memory.clone().unwrap_or_default();
        }
        match file.load() {
            Ok(s) => {
                let mine = s.of(instance);
                self.saved = Some(mine.clone());
                // What this process saw while the file could not be read is newer.
                let mut memory = mine;
                if let Some(seen) = self.memory.take() {
                    memory.overlay(seen);
                }
                self.memory = Some(memory);
                self.loaded = true;
                if std::mem::take(&mut self.load_failing) {
                    tracing::info!(path = %file.path().display(), "the record of authentik field values is readable again");
                }
            }
            Err(e) if e.is_unreadable() => {
                if !std::mem::replace(&mut self.load_failing, true) {
                    tracing::warn!(
                        "{e}; trying again next round, and not writing it meanwhile: until then, values gatehouse set in authentik before are not cleared when their label goes"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(
                    "{e}; starting with an empty record (values gatehouse set in authentik before are not cleared when their label goes); it is moved aside to {} when the record is next written",
                    file.corrupt_path().display()
                );
                self.loaded = true;
            }
        }
        self.memory.clone().unwrap_or_default()
    }

    /// Records `instance`'s values after a round, and writes the file when they changed
    /// (never before it was read). The file is read again under its lock right before: the
    /// records of other instances writing to it stay.
    pub(super) fn remember(&mut self, instance: &Instance, memory: FieldMemory) {
        self.memory = Some(memory.clone());
        let Some(file) = &self.file else {
            return;
        };
        if !self.loaded || self.saved.as_ref() == Some(&memory) {
            return;
        }
        match file.update(|state| state.put(instance, memory.clone())) {
            Ok(u) => {
                if let Some((aside, reason)) = &u.moved_aside {
                    tracing::warn!(path = %file.path().display(), moved_to = %aside.display(), "the record of authentik field values was corrupt ({reason}); moved it aside and wrote a fresh one");
                }
                if u.written {
                    tracing::debug!(path = %file.path().display(), "recorded the authentik field values gatehouse set");
                }
                self.saved = Some(memory);
                if std::mem::take(&mut self.save_failing) {
                    tracing::info!(path = %file.path().display(), "the record of authentik field values is written again");
                }
            }
            // Another gatehouse is writing it: `saved` is unchanged, so the next round tries
            // again.
            Err(e @ FieldStateError::Busy { .. }) => {
                tracing::debug!(error = %e, "not recorded this round")
            }
            Err(e) => {
                if !self.save_failing {
                    tracing::warn!("{e}; not written: the authentik field values gatehouse set are known until it restarts only");
                    self.save_failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::authentik::fields::Field;

    #[tokio::test]
    async fn a_busy_record_is_not_warned_about_and_is_written_next_round() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = FieldStateFile::new(dir.path());
        let lock_path = file.lock_path();
        let mut record = FieldRecord {
            file: Some(file),
            ..FieldRecord::default()
        };
        let me = Instance::unnamed();
        let _ = record.remembered(&me);
        let mut memory = FieldMemory::default();
        memory.set("app", "app-pk", Field::Group, "Media");
        // Another gatehouse holds the lock.
        std::fs::create_dir_all(lock_path.parent().expect("parent")).expect("mkdir");
        let other = std::fs::File::create(&lock_path).expect("lock file");
        other.try_lock().expect("lock");
        let logs = crate::reconcile::test_log::logged(async {
            record.remember(&me, memory.clone());
        })
        .await;
        assert!(!logs.contains("WARN"), "{logs}");
        assert!(!record.file.as_ref().expect("file").path().exists());
        drop(other);
        record.remember(&me, memory);
        assert!(record.file.as_ref().expect("file").path().exists());
    }
}
