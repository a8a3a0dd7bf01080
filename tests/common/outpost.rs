//! A stand-in for authentik's proxy outpost image (there is no registry here): `FROM scratch`
//! plus busybox-static, `nc` serving port 9000 with a shell handler that answers
//! `/outpost.goauthentik.io/auth/nginx` with 200 (cookie `authentik_proxy_test=valid…`) or 401,
//! `/outpost.goauthentik.io/ping` with 204, and `/gatehouse-test/env` with the
//! `AUTHENTIK_HOST`/`AUTHENTIK_TOKEN` it was started with (a `file://` token read from its
//! file, as the real outpost's config loader does). Tagged as the image gatehouse asks for.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use super::docker::{docker_ok, require_docker};

/// The repository gatehouse is told to use (`GATEHOUSE_OUTPOST_IMAGE`).
pub const REPO: &str = "gatehouse-test-outpost";

const HANDLER: &str = r#"#!/bin/busybox sh
read -r method path proto
cookie=""
while read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  case "$line" in [Cc]ookie:*) cookie="$line" ;; esac
done
case "$path" in
  /outpost.goauthentik.io/ping) printf 'HTTP/1.0 204 No Content\r\n\r\n' ;;
  /outpost.goauthentik.io/auth/nginx*)
    case "$cookie" in
      *authentik_proxy_test=valid*) printf 'HTTP/1.0 200 OK\r\nX-authentik-username: alice\r\nContent-Length: 0\r\n\r\n' ;;
      *) printf 'HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n' ;;
    esac ;;
  /gatehouse-test/env)
    token="$AUTHENTIK_TOKEN"
    case "$token" in file://*) token=$(cat "${token#file://}") ;; esac
    printf 'HTTP/1.0 200 OK\r\n\r\nhost=%s\ntoken=%s\ninsecure=%s\nbrowser=%s\n' "$AUTHENTIK_HOST" "$token" "$AUTHENTIK_INSECURE" "$AUTHENTIK_HOST_BROWSER" ;;
  *) printf 'HTTP/1.0 404 Not Found\r\n\r\n' ;;
esac
"#;

/// Builds the stand-in once per test binary, tagged `REPO:<tag>` for each of `tags`.
pub fn build(tags: &[&str]) {
    static BUILT: OnceLock<()> = OnceLock::new();
    require_docker();
    BUILT.get_or_init(|| {
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
            .expect("busybox-static is not installed (apt-get install busybox-static)");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(busybox, dir.path().join("busybox")).expect("copy busybox");
        std::fs::write(dir.path().join("handler"), HANDLER).expect("write handler");
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY handler /handler\nRUN [\"/bin/busybox\", \"chmod\", \"755\", \"/handler\"]\nUSER 1000\nEXPOSE 9000\nCMD [\"/bin/busybox\", \"nc\", \"-ll\", \"-p\", \"9000\", \"-e\", \"/handler\"]\n",
        )
        .expect("write Dockerfile");
        let mut args = vec!["build".to_owned(), "-q".to_owned()];
        for t in ["2026.5.6", "2026.8.1"] {
            args.push("-t".into());
            args.push(format!("{REPO}:{t}"));
        }
        args.push(dir.path().display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker_ok(&args);
    });
    for t in tags {
        assert!(
            ["2026.5.6", "2026.8.1"].contains(t),
            "the stand-in is built for 2026.5.6 and 2026.8.1 only"
        );
    }
}

/// `GET path` on `ip:9000`: the status and the body ("" and 0 when nothing answers).
pub fn get(ip: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect_timeout(
        &format!("{ip}:9000").parse().expect("address"),
        Duration::from_secs(2),
    ) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// The container's IP on `network` ("" when it has none).
pub fn ip_of(container: &str, network: &str) -> String {
    let out = std::process::Command::new("docker")
        .args([
            "inspect",
            "--type",
            "container",
            "-f",
            &format!("{{{{with index .NetworkSettings.Networks \"{network}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}"),
            container,
        ])
        .output()
        .expect("docker inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `docker inspect -f <format> <name>`, or "" when it fails (gone).
pub fn inspect(name: &str, format: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["inspect", "--type", "container", "-f", format, name])
        .output()
        .expect("docker inspect");
    if !out.status.success() {
        return String::new();
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes what gatehouse made for an instance (its outpost container and network) when
/// dropped, also on panic: they carry no test scope label.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let name = format!("gatehouse-outpost-{}", self.0);
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &name])
            .output();
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &name])
            .output();
    }
}
