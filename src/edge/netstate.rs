//! The network attachments gatehouse made, kept in `<SWAG config>/gatehouse/networks.json` so a
//! restart of gatehouse neither forgets them (and leaks them) nor mistakes them for the user's.
//!
//! Written atomically (temp file + rename), only when the bytes differ (see [`crate::edge::files`]).

use crate::edge::statefile::{Spec, StateFile, StateRecord};
use crate::plan::networks::Remembered;

/// Where the state lives; nothing remembered when the file does not exist yet.
pub(crate) type NetStateFile = StateFile<Remembered>;

impl StateRecord for Remembered {
    const SPEC: Spec = Spec {
        file: "networks.json",
        what: "network state",
        hint: "",
        // The file is small; anything larger is not ours.
        max: 1 << 20,
        not_a_file_unreadable: false,
    };
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
