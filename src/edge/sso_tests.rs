use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use super::*;

fn creds(secret: Option<&str>) -> Creds {
    Creds {
        client_id: "grafana".into(),
        client_secret: secret.map(str::to_owned),
        issuer: "https://auth.example.com/application/o/grafana/".into(),
    }
}

fn me() -> (u32, u32) {
    // SAFETY: no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[test]
fn the_files_are_written_with_mode_0640_and_not_again_when_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let dir = SsoDir::new(t.path().join("sso"));
    let w = dir.write("grafana", &creds(Some("s3cret")), me()).unwrap();
    assert_eq!(w.changed, 5);
    let folder = t.path().join("sso/grafana");
    for name in FILES {
        let m = fs::metadata(folder.join(name)).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o640, "{name}");
        assert_eq!(m.uid(), me().0);
    }
    assert_eq!(
        fs::read_to_string(folder.join("client_secret")).unwrap(),
        "s3cret"
    );
    assert_eq!(
        fs::read_to_string(folder.join("discovery_url")).unwrap(),
        "https://auth.example.com/application/o/grafana/.well-known/openid-configuration"
    );
    let env = fs::read_to_string(folder.join("oidc.env")).unwrap();
    assert!(env.contains("OIDC_CLIENT_ID=grafana\n"));
    assert!(env.contains("OIDC_CLIENT_SECRET=s3cret\n"));
    let again = dir.write("grafana", &creds(Some("s3cret")), me()).unwrap();
    assert_eq!(again.changed, 0);
    // a public client: the secret file goes
    let public = dir.write("grafana", &creds(None), me()).unwrap();
    assert!(public.changed >= 2);
    assert!(!folder.join("client_secret").exists());
    assert!(!fs::read_to_string(folder.join("oidc.env"))
        .unwrap()
        .contains("SECRET"));
}

#[test]
fn a_symlinked_folder_is_refused_and_nothing_is_written_through_it() {
    let t = tempfile::tempdir().unwrap();
    let outside = t.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(t.path().join("sso")).unwrap();
    std::os::unix::fs::symlink(&outside, t.path().join("sso/grafana")).unwrap();
    let dir = SsoDir::new(t.path().join("sso"));
    let e = dir.write("grafana", &creds(Some("s")), me()).unwrap_err();
    assert!(matches!(e, SsoDirError::Symlink { .. }), "{e}");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert!(matches!(
        dir.remove("grafana"),
        Err(SsoDirError::Symlink { .. })
    ));
    // a symlinked root too
    std::os::unix::fs::symlink(&outside, t.path().join("root")).unwrap();
    let dir = SsoDir::new(t.path().join("root"));
    assert!(dir.write("x", &creds(None), me()).is_err());
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn a_planted_link_in_place_of_a_file_is_replaced_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("target");
    fs::write(&target, "keep").unwrap();
    fs::create_dir_all(t.path().join("sso/grafana")).unwrap();
    std::os::unix::fs::symlink(&target, t.path().join("sso/grafana/client_secret")).unwrap();
    let dir = SsoDir::new(t.path().join("sso"));
    dir.write("grafana", &creds(Some("new")), me()).unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    let m = fs::symlink_metadata(t.path().join("sso/grafana/client_secret")).unwrap();
    assert!(m.is_file());
}

#[test]
fn removal_takes_only_gatehouses_files() {
    let t = tempfile::tempdir().unwrap();
    let dir = SsoDir::new(t.path().join("sso"));
    dir.write("grafana", &creds(Some("s")), me()).unwrap();
    fs::write(t.path().join("sso/grafana/mine.txt"), "user").unwrap();
    assert_eq!(dir.remove("grafana").unwrap(), 5);
    assert!(t.path().join("sso/grafana/mine.txt").exists());
    fs::remove_file(t.path().join("sso/grafana/mine.txt")).unwrap();
    dir.write("grafana", &creds(Some("s")), me()).unwrap();
    dir.remove("grafana").unwrap();
    assert!(!t.path().join("sso/grafana").exists());
    assert_eq!(dir.remove("gone").unwrap(), 0);
}

#[test]
fn client_secrets_are_long_and_differ() {
    let a = new_client_secret().unwrap();
    let b = new_client_secret().unwrap();
    assert_eq!(a.len(), 64);
    assert_ne!(a, b);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
}

#[test]
fn missing_folders_above_the_credentials_folder_are_made() {
    let t = tempfile::tempdir().unwrap();
    let dir = SsoDir::new(t.path().join("config/gatehouse/sso"));
    let w = dir.write("grafana", &creds(None), me()).unwrap();
    assert_eq!(w.changed, 4);
    assert!(t
        .path()
        .join("config/gatehouse/sso/grafana/oidc.env")
        .exists());
}
