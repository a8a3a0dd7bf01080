use super::*;
use std::os::unix::fs::PermissionsExt as _;

fn spec() -> FileSpec {
    FileSpec::readable(100)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn writes_once_reads_back_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    assert_eq!(read_small(&path, 100).unwrap(), None);
    assert!(write_atomic(&path, b"{}\n", &spec()).unwrap().changed);
    assert!(!write_atomic(&path, b"{}\n", &spec()).unwrap().changed);
    assert_eq!(
        read_small(&path, 100).unwrap().as_deref(),
        Some(&b"{}\n"[..])
    );
    assert_eq!(names_in(dir.path()), ["state.json"]);
}

#[test]
fn the_mode_is_exact_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf");
    let s = FileSpec {
        mode: 0o640,
        owner: None,
        max: 100,
    };
    write_atomic(&path, b"x", &s).unwrap();
    let m = fs::metadata(&path).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o640);
    write_atomic(&path, b"y", &FileSpec::readable(100)).unwrap();
    let m = fs::metadata(&path).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o644);
}

#[test]
fn the_owner_is_given_on_the_open_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf");
    let me = effective_uid();
    let gid = fs::metadata(dir.path()).unwrap().gid();
    let w = write_atomic(&path, b"x", &spec().owned_by(Some((me, gid)))).unwrap();
    assert!(w.owner_refused.is_none());
    if me == 0 {
        let w = write_atomic(&path, b"y", &spec().owned_by(Some((4321, 4322)))).unwrap();
        assert!(w.owner_refused.is_none());
        let m = fs::metadata(&path).unwrap();
        assert_eq!((m.uid(), m.gid()), (4321, 4322));
    }
}

#[test]
fn only_small_regular_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    fs::write(&big, vec![b'x'; 101]).unwrap();
    assert!(matches!(
        read_small(&big, 100),
        Err(ReadError::TooLarge(100))
    ));
    // A sparse file of 1 GiB is refused without being read.
    let sparse = dir.path().join("sparse");
    fs::File::create(&sparse).unwrap().set_len(1 << 30).unwrap();
    assert!(matches!(
        read_small(&sparse, 100),
        Err(ReadError::TooLarge(_))
    ));
    // A FIFO would block a plain read forever; a link to a device would never end.
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let e = read_small(&fifo, 100).unwrap_err().to_string();
    assert!(e.contains("FIFO"), "{e}");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let e = read_small(&link, 100).unwrap_err().to_string();
    assert!(e.contains("symlink"), "{e}");
    let link = dir.path().join("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    assert!(read_small(&link, 100).is_err());
    let e = read_small(dir.path(), 100).unwrap_err().to_string();
    assert!(e.contains("directory"), "{e}");
    assert!(read_small(Path::new("/dev/null"), 100).is_err());
}

#[test]
fn temp_names_are_dot_names_unpredictable_and_short() {
    let a = temp_name().into_string().unwrap();
    let b = temp_name().into_string().unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with(".gatehouse-") && a.ends_with(".tmp"), "{a}");
    assert!(!a.ends_with(".conf"));
    assert!(a.len() < 64);
}

#[test]
fn a_link_planted_at_a_predictable_temp_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let confs = dir.path().join("confs");
    fs::create_dir(&confs).unwrap();
    let target = confs.join("gatehouse.app.subdomain.conf");
    // Every name an older gatehouse used, and some guesses.
    let pid = std::process::id();
    let mut planted = vec![
        ".gatehouse.gatehouse.app.subdomain.conf.tmp".to_owned(),
        format!(".gatehouse.app.subdomain.conf.{pid}.tmp"),
    ];
    planted.extend((0..4).map(|n| format!(".gatehouse.app.subdomain.conf.{pid}.{n}.tmp")));
    for name in &planted {
        std::os::unix::fs::symlink(&victim, confs.join(name)).unwrap();
    }
    let owner = Some((4321, 4321)).filter(|_| effective_uid() == 0);
    for i in 0..8u8 {
        write_atomic(&target, &[b'0' + i], &spec().owned_by(owner)).unwrap();
    }
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    let m = fs::metadata(&victim).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o600);
    assert_eq!(m.uid(), effective_uid());
    assert!(!fs::symlink_metadata(&target).unwrap().is_symlink());
    assert_eq!(fs::read(&target).unwrap(), b"7");
}

#[test]
fn a_failed_write_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty folder: the rename fails after the temp file was written.
    let target = dir.path().join("target");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("x"), b"").unwrap();
    assert!(write_atomic(&target, b"x", &spec()).is_err());
    assert_eq!(names_in(dir.path()), ["target"]);
}

#[test]
fn a_symlinked_or_foreign_state_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let swag = dir.path().join("swag");
    fs::create_dir(&swag).unwrap();
    std::os::unix::fs::symlink(&elsewhere, swag.join("gatehouse")).unwrap();
    let state = StateDir::new(&swag, None);
    let e = state.checked(true).unwrap_err().to_string();
    assert!(e.contains("is a symlink") && e.contains("gatehouse"), "{e}");
    fs::remove_file(swag.join("gatehouse")).unwrap();
    fs::write(swag.join("gatehouse"), b"").unwrap();
    let e = state.checked(true).unwrap_err().to_string();
    assert!(e.contains("not a folder"), "{e}");
    fs::remove_file(swag.join("gatehouse")).unwrap();
    assert_eq!(state.checked(false).unwrap(), None);
    assert!(state.checked(true).unwrap().is_some());
    if effective_uid() == 0 {
        std::os::unix::fs::chown(swag.join("gatehouse"), Some(4444), None).unwrap();
        let e = state.checked(true).unwrap_err().to_string();
        assert!(e.contains("uid 4444") && e.contains("chown"), "{e}");
        // The owner gatehouse gives its files is trusted.
        let given = StateDir::new(&swag, Some((4444, 4444)));
        assert!(given.checked(true).is_ok());
    }
}

#[test]
fn as_root_a_new_state_folder_goes_to_the_given_owner() {
    if effective_uid() != 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path(), Some((4321, 4322)));
    let path = state.checked(true).unwrap().unwrap().to_owned();
    let m = fs::symlink_metadata(path).unwrap();
    assert_eq!((m.uid(), m.gid()), (4321, 4322));
}

#[test]
fn read_head_gives_the_first_bytes_of_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    fs::write(&big, b"0123456789").unwrap();
    let head = read_head(&big, 4).unwrap().unwrap();
    assert_eq!(
        (head.bytes.as_slice(), head.complete),
        (&b"0123"[..], false)
    );
    let head = read_head(&big, 10).unwrap().unwrap();
    assert_eq!((head.bytes.len(), head.complete), (10, true));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    assert!(read_head(&link, 4).is_err());
}

#[test]
fn only_old_temp_files_of_gatehouse_s_own_names_are_swept() {
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("victim");
    fs::write(&victim, "keep").unwrap();
    let old = dir
        .path()
        .join(".gatehouse-0123456789abcdef0123456789abcdef.tmp");
    let fresh = dir
        .path()
        .join(".gatehouse-ffffffffffffffffffffffffffffffff.tmp");
    let link = dir
        .path()
        .join(".gatehouse-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tmp");
    let other = dir.path().join(".gatehouse-notours.tmp");
    let conf = dir.path().join("app.subdomain.conf");
    for p in [&old, &fresh, &other, &conf] {
        fs::write(p, "x").unwrap();
    }
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let long_ago = SystemTime::now() - Duration::from_secs(3600);
    for p in [&old, &other, &conf] {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    // The link's own time is now: sweep with no age to take it too.
    let removed = sweep_temps(dir.path(), TEMP_LEFT_BEHIND);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(!old.exists() && fresh.exists() && other.exists() && conf.exists());
    let removed = sweep_temps(dir.path(), Duration::ZERO);
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(fs::symlink_metadata(&link).is_err());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    assert!(other.exists() && conf.exists());
}
