//! What a user sees when gatehouse cannot reach the Docker engine: the reason, the socket, the
//! fix, exit code 69 (no Docker engine needed: the sockets here are stand-ins).

use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The group the stand-in socket belongs to, and the user gatehouse runs as (not in it).
const SOCKET_GID: u32 = 4242;
const NOBODY: u32 = 65534;

fn gatehouse(docker_host: &str, swag: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DOCKER_HOST", docker_host)
        .env("GATEHOUSE_SWAG_CONFIG", swag)
        .env("GATEHOUSE_HEALTH_FILE", swag.join("health.json"))
        .env("GATEHOUSE_NETWORK_MODE", "off");
    cmd
}

/// A folder everyone may enter, with a SWAG config folder inside.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let swag = dir.path().join("config/nginx/proxy-confs");
    std::fs::create_dir_all(&swag).expect("swag");
    dir
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_socket_gatehouse_may_not_open_is_named_with_its_group_and_the_fix_exit_69() {
    let dir = folder();
    let sock = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    chown(&sock, Some(0), Some(SOCKET_GID)).expect("chown (tests run as root)");
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o660)).expect("chmod");
    let host = format!("unix://{}", sock.display());
    let swag = dir.path().join("config");
    for args in [&["run", "--once"][..], &["render"][..]] {
        let out = gatehouse(&host, &swag, args)
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("run gatehouse");
        let err = text(&out);
        assert_eq!(out.status.code(), Some(69), "{args:?}:\n{err}");
        assert!(
            err.contains(&format!(
                "permission denied on the Docker socket {}",
                sock.display()
            )),
            "{args:?}:\n{err}"
        );
        assert!(err.contains(&format!("group id {SOCKET_GID}")), "{err}");
        assert!(
            err.contains(&format!("group_add: [\\\"{SOCKET_GID}\\\"]"))
                || err.contains(&format!("group_add: [\"{SOCKET_GID}\"]")),
            "{err}"
        );
        assert!(!err.contains("hyper"), "{err}");
    }
    // `run` keeps trying, but never had an event stream to lose.
    let log = dir.path().join("run.log");
    let mut child = gatehouse(&host, &swag, &["run"])
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start gatehouse");
    std::thread::sleep(Duration::from_secs(3));
    let _ = child.kill();
    let _ = child.wait();
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        err.contains("permission denied on the Docker socket"),
        "{err}"
    );
    assert!(
        !err.contains("lost the Docker engine's event stream"),
        "{err}"
    );
}

#[test]
fn a_missing_socket_and_a_refusing_tcp_host_say_so_exit_69() {
    let dir = folder();
    let swag = dir.path().join("config");
    let missing = dir.path().join("nothing.sock");
    let out = gatehouse(
        &format!("unix://{}", missing.display()),
        &swag,
        &["run", "--once"],
    )
    .output()
    .expect("run gatehouse");
    let err = text(&out);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains(&format!(
            "the Docker socket {} does not exist",
            missing.display()
        )),
        "{err}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = gatehouse(&format!("tcp://127.0.0.1:{port}"), &swag, &["render"])
        .output()
        .expect("run gatehouse");
    let err = text(&out);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains(&format!(
            "the Docker engine at tcp://127.0.0.1:{port} refuses connections"
        )),
        "{err}"
    );
}
