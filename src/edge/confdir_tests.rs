use super::*;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

fn marked(container: &str) -> String {
    format!(
        "{}\n## gatehouse: container={container} access=protected template=builtin\nserver {{\n    server_name {container}.*;\n}}\n",
        render::MARKER
    )
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let confs = dir.path().join("nginx/proxy-confs");
    fs::create_dir_all(&confs).unwrap();
    (dir, confs)
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_users_conf_that_is_not_utf8_still_shows_its_names() {
    let (dir, confs) = setup();
    let mut latin1 = b"# caf\xe9\nserver {\n    server_name app.*;\n}\n".to_vec();
    latin1.extend_from_slice(b"\n");
    fs::write(confs.join("app.subdomain.conf"), latin1).unwrap();
    fs::write(confs.join("gatehouse.web.subdomain.conf"), marked("web")).unwrap();
    let state = ConfDir::new(dir.path(), 0, 0).scan().unwrap();
    assert_eq!(
        state.foreign_server_names.get("app.*").map(String::as_str),
        Some("proxy-confs/app.subdomain.conf")
    );
    let owned = &state.owned["gatehouse.web.subdomain.conf"];
    assert_eq!(
        (owned.container.as_deref(), owned.protected),
        (Some("web"), true)
    );
}

#[test]
fn a_users_conf_whose_file_name_is_not_utf8_still_shows_its_names() {
    let (dir, confs) = setup();
    let name = std::ffi::OsString::from_vec(b"caf\xe9.subdomain.conf".to_vec());
    fs::write(confs.join(&name), "server {\n    server_name cafe.*;\n}\n").unwrap();
    let site = dir.path().join("nginx/site-confs");
    fs::create_dir_all(&site).unwrap();
    let name = std::ffi::OsString::from_vec(b"d\xe9faut.conf".to_vec());
    fs::write(site.join(&name), "server {\n    server_name www.*;\n}\n").unwrap();
    let state = ConfDir::new(dir.path(), 0, 0).scan().unwrap();
    assert_eq!(
        state.foreign_server_names.get("cafe.*").map(String::as_str),
        Some("proxy-confs/caf\u{fffd}.subdomain.conf")
    );
    assert!(state.foreign_server_names.contains_key("www.*"));
}

#[test]
fn a_marked_copy_under_another_name_is_the_users() {
    let (dir, confs) = setup();
    let cd = ConfDir::new(dir.path(), 0, 0);
    fs::write(confs.join("mycopy.subdomain.conf"), marked("www")).unwrap();
    fs::write(confs.join("gatehouse.subdomain.conf"), marked("odd")).unwrap();
    let state = cd.scan().unwrap();
    assert!(state.owned.is_empty(), "{:?}", state.owned.keys());
    assert_eq!(
        state.foreign_server_names.get("www.*").map(String::as_str),
        Some("proxy-confs/mycopy.subdomain.conf")
    );
    assert!(state.foreign_server_names.contains_key("odd.*"));
    // Never removed or rewritten, even if asked.
    assert!(matches!(
        cd.remove("mycopy.subdomain.conf"),
        Err(ConfDirError::NotOurName { .. })
    ));
    assert!(matches!(
        cd.write("mycopy.subdomain.conf", &marked("x")),
        Err(ConfDirError::NotOurName { .. })
    ));
    assert!(matches!(
        cd.write("../gatehouse.x.subdomain.conf", &marked("x")),
        Err(ConfDirError::NotOurName { .. })
    ));
    assert_eq!(
        fs::read_to_string(confs.join("mycopy.subdomain.conf")).unwrap(),
        marked("www")
    );
    // Warned once per file per process, not on every scan.
    cd.scan().unwrap();
    let warned = cd.warned.lock().unwrap().clone();
    let copies: Vec<_> = warned.iter().filter(|(_, t)| *t == "marked copy").collect();
    assert_eq!(copies.len(), 2, "{warned:?}");
}

#[test]
fn writes_are_skipped_when_equal_and_refused_over_a_users_file() {
    let (dir, confs) = setup();
    let cd = ConfDir::new(dir.path(), crate_uid(), crate_gid());
    let text = format!("{}\nserver {{}}\n", render::MARKER);
    assert!(cd.write("gatehouse.a.subdomain.conf", &text).unwrap());
    assert!(!cd.write("gatehouse.a.subdomain.conf", &text).unwrap());
    fs::write(confs.join("gatehouse.b.subdomain.conf"), "# mine\n").unwrap();
    assert!(matches!(
        cd.write("gatehouse.b.subdomain.conf", &text),
        Err(ConfDirError::NotOwned { .. })
    ));
    assert!(matches!(
        cd.remove("gatehouse.b.subdomain.conf"),
        Err(ConfDirError::NotOwned { .. })
    ));
    assert_eq!(
        fs::read_to_string(confs.join("gatehouse.b.subdomain.conf")).unwrap(),
        "# mine\n"
    );
    assert!(cd.remove("gatehouse.a.subdomain.conf").unwrap());
    // No temporary file is left behind.
    let left: Vec<_> = fs::read_dir(&confs)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn a_link_at_the_old_temp_name_leaves_the_victim_untouched() {
    let (dir, confs) = setup();
    let victim = dir.path().join("victim");
    fs::write(&victim, "secret").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(
        &victim,
        confs.join(".gatehouse.gatehouse.app.subdomain.conf.tmp"),
    )
    .unwrap();
    let cd = ConfDir::new(dir.path(), 4321, 4321);
    assert!(cd
        .write("gatehouse.app.subdomain.conf", &marked("app"))
        .unwrap());
    let m = fs::metadata(&victim).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "secret");
    assert_eq!(m.permissions().mode() & 0o7777, 0o600);
    assert_eq!(m.uid(), crate_uid());
    let conf = confs.join("gatehouse.app.subdomain.conf");
    let c = fs::symlink_metadata(&conf).unwrap();
    assert!(c.is_file());
    assert_eq!(c.permissions().mode() & 0o7777, 0o644);
    if crate_uid() == 0 {
        assert_eq!((c.uid(), c.gid()), (4321, 4321));
    }
}

#[test]
fn fifos_links_and_huge_files_are_skipped_without_hanging() {
    let (dir, confs) = setup();
    mkfifo(&confs.join("fifo.subdomain.conf"));
    mkfifo(&dir.path().join("elsewhere-fifo"));
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere-fifo"),
        confs.join("linkfifo.subdomain.conf"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", confs.join("zero.subdomain.conf")).unwrap();
    fs::create_dir(confs.join("dir.subdomain.conf")).unwrap();
    fs::File::create(confs.join("sparse.subdomain.conf"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    mkfifo(&confs.join("nextcloud.subdomain.conf.sample"));
    let site = dir.path().join("nginx/site-confs");
    fs::create_dir_all(&site).unwrap();
    mkfifo(&site.join("default.conf"));
    fs::write(
        confs.join("ok.subdomain.conf"),
        "server { server_name ok.*; }",
    )
    .unwrap();
    let cd = ConfDir::new(dir.path(), 0, 0);
    let started = Instant::now();
    let state = cd.scan().unwrap();
    let samples = cd.read_samples(&[PresetName::parse("nextcloud").unwrap()].into());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(samples.is_empty());
    assert_eq!(state.foreign_server_names.len(), 1);
    let warned = cd.warned.lock().unwrap().clone();
    assert_eq!(warned.len(), 7, "{warned:?}");
}

#[test]
fn the_target_of_a_write_or_remove_is_read_with_a_bound() {
    let (dir, confs) = setup();
    let cd = ConfDir::new(dir.path(), 0, 0);
    let conf = confs.join("gatehouse.big.subdomain.conf");
    // Marked, but over the bound: not gatehouse's, never rewritten, removed or counted as owned.
    let f = fs::File::create(&conf).unwrap();
    use std::io::Write as _;
    (&f).write_all(marked("big").as_bytes()).unwrap();
    f.set_len(MAX_CONF_BYTES + 1).unwrap();
    // Its names (from its first bytes) are someone else's: the app is not published over it,
    // so a render does not show a change every time.
    let state = cd.scan().unwrap();
    assert!(state.owned.is_empty());
    assert_eq!(
        state.foreign_server_names.get("big.*").map(String::as_str),
        Some("proxy-confs/gatehouse.big.subdomain.conf")
    );
    for r in [
        cd.write("gatehouse.big.subdomain.conf", &marked("big")),
        cd.remove("gatehouse.big.subdomain.conf"),
    ] {
        let e = r.unwrap_err();
        assert!(matches!(e, ConfDirError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
    }
    assert_eq!(fs::metadata(&conf).unwrap().len(), MAX_CONF_BYTES + 1);
    fs::remove_file(&conf).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &conf).unwrap();
    let e = cd.write("gatehouse.big.subdomain.conf", "x").unwrap_err();
    assert!(e.to_string().contains("symlink"), "{e}");
    assert!(cd.remove("gatehouse.big.subdomain.conf").is_err());
    assert!(fs::symlink_metadata(&conf).unwrap().is_symlink());
}

#[test]
fn is_our_name_follows_conf_file_name() {
    assert!(is_our_name("gatehouse.www.subdomain.conf"));
    assert!(is_our_name("gatehouse.a.b.subdomain.conf"));
    assert!(!is_our_name("gatehouse.subdomain.conf"));
    assert!(!is_our_name("mycopy.subdomain.conf"));
    assert!(!is_our_name("gatehouse.www.subdomain.conf.bak"));
}

fn crate_uid() -> u32 {
    files::effective_uid()
}

fn crate_gid() -> u32 {
    fs::metadata("/proc/self").map(|m| m.gid()).unwrap_or(0)
}

#[test]
fn a_scan_sweeps_old_temp_files_from_the_folder_and_the_state_folder() {
    let (dir, confs) = setup();
    let state_dir = dir.path().join("gatehouse");
    fs::create_dir_all(&state_dir).unwrap();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let old_conf_tmp = confs.join(".gatehouse-0123456789abcdef0123456789abcdef.tmp");
    let old_state_tmp = state_dir.join(".gatehouse-fedcba9876543210fedcba9876543210.tmp");
    let fresh = confs.join(".gatehouse-ffffffffffffffffffffffffffffffff.tmp");
    for p in [&old_conf_tmp, &old_state_tmp, &fresh] {
        fs::write(p, "half a conf").unwrap();
    }
    for p in [&old_conf_tmp, &old_state_tmp] {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    ConfDir::new(dir.path(), 0, 0).scan().unwrap();
    assert!(!old_conf_tmp.exists() && !old_state_tmp.exists());
    assert!(
        fresh.exists(),
        "a write in flight (another gatehouse's) is left alone"
    );
}
