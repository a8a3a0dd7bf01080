use std::io;

use super::*;
use crate::edge::docker::{BollardEngine, Engine};

fn api(status: u16) -> EngineError {
    EngineError::Api {
        status,
        message: "x".into(),
    }
}

#[test]
fn errors_are_classified_once_by_status_code_and_cause() {
    let unix = Endpoint::Unix("/run/docker.sock".into());
    let cases = [
        (api(403), ErrorKind::Forbidden, false),
        (api(404), ErrorKind::NotFound, false),
        (api(409), ErrorKind::Conflict, false),
        (api(500), ErrorKind::Other, true),
        (api(400), ErrorKind::Other, false),
        (
            EngineError::Timeout {
                endpoint: unix.clone(),
            },
            ErrorKind::Timeout,
            true,
        ),
        (EngineError::Decode("bad".into()), ErrorKind::Decode, false),
        (
            EngineError::connect(&unix, io::ErrorKind::ConnectionRefused, "refused".into()),
            ErrorKind::Unreachable,
            true,
        ),
        (
            EngineError::connect(&unix, io::ErrorKind::PermissionDenied, "denied".into()),
            ErrorKind::Unreachable,
            false,
        ),
    ];
    for (e, kind, transient) in cases {
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.is_transient(), transient, "{e}");
    }
}

#[test]
fn a_timeout_or_an_unreadable_answer_is_not_called_unreachable() {
    let unix = Endpoint::Unix("/run/docker.sock".into());
    let timeout = EngineError::from_bollard(bollard::errors::Error::RequestTimeoutError, &unix);
    assert_eq!(timeout.kind(), ErrorKind::Timeout);
    let decode = EngineError::from_bollard(
        bollard::errors::Error::JsonDataError {
            message: "expected value".into(),
            column: 3,
        },
        &unix,
    );
    assert_eq!(decode.kind(), ErrorKind::Decode);
    let answered = EngineError::from_bollard(
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "conflict".into(),
        },
        &unix,
    );
    assert_eq!(answered.kind(), ErrorKind::Conflict);
    for e in [timeout, decode] {
        assert!(!e.to_string().contains("cannot reach"), "{e}");
    }
}

#[test]
fn permission_denied_names_the_socket_its_group_and_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("docker.sock");
    std::fs::write(&sock, "").expect("socket stand-in");
    let gid = std::fs::metadata(&sock).expect("stat").gid();
    let e = EngineError::connect(
        &Endpoint::Unix(sock.clone()),
        io::ErrorKind::PermissionDenied,
        "Permission denied (os error 13)".into(),
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("permission denied on the Docker socket"),
        "{msg}"
    );
    assert!(msg.contains(&sock.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("group id {gid}")), "{msg}");
    assert!(msg.contains(&format!("group_add: [\"{gid}\"]")), "{msg}");
}

/// A socket file nobody listens on: it exists, and refuses.
#[tokio::test]
async fn a_real_client_tells_a_missing_socket_from_a_refusing_one_and_a_refusing_tcp_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("docker.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
    let engine =
        BollardEngine::connect(&format!("unix://{}", sock.display()), None).expect("client");
    let refused = engine
        .running_workloads()
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(
            &refused,
            EngineError::Connect {
                io: io::ErrorKind::ConnectionRefused,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("refuses connections"),
        "{refused}"
    );
    std::fs::remove_file(&sock).expect("rm");
    let gone = engine.running_workloads().await.expect_err("no socket");
    assert!(
        matches!(
            &gone,
            EngineError::Connect {
                io: io::ErrorKind::NotFound,
                ..
            }
        ),
        "{gone:?}"
    );
    assert!(gone.to_string().contains("does not exist"), "{gone}");
    let never = BollardEngine::connect(&format!("unix://{}", sock.display()), None)
        .expect_err("no socket at start");
    assert!(never.to_string().contains("does not exist"), "{never}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let tcp = BollardEngine::connect(&format!("tcp://127.0.0.1:{port}"), None).expect("client");
    let refused = tcp.running_workloads().await.expect_err("nobody listens");
    assert!(
        refused.to_string().contains(&format!(
            "the Docker engine at tcp://127.0.0.1:{port} refuses connections"
        )),
        "{refused}"
    );
}
