//! Secrets and server text never reach the log as they are: an authentik (or a proxy in front
//! of it) that echoes the request's headers in an error puts neither the token nor raw control
//! characters into gatehouse's log, in either format.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

const TOKEN: &str = "gh-test-token-0123456789abcdef";

/// An HTTP server on the loopback that answers every request with a 500 whose body echoes the
/// request's Authorization header, with a forged log line after a newline and an ESC byte.
fn echoing_server() -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = thread::spawn(move || {
        listener.set_nonblocking(false).ok();
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let auth = req
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap_or("")
                .to_owned();
            let body = format!(
                "{{\"detail\":\"{auth}\\n\"}}\n2026-11-30T00:00:00Z  INFO wrote gatehouse.bank.subdomain.conf \u{1b}[2J"
            );
            let resp = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (url, handle)
}

fn render_against(url: &str, format: &str) -> String {
    let scope = common::docker::Scope::new("secrets");
    let cfg = common::docker::swag_config();
    scope.run("app", &[("auth.protect", "true")], &[]);
    let mut env: Vec<(String, String)> = scope.gatehouse_env(cfg.path());
    env.extend([
        ("GATEHOUSE_AUTHENTIK_URL".into(), url.to_owned()),
        ("GATEHOUSE_AUTHENTIK_TOKEN".into(), TOKEN.into()),
        ("GATEHOUSE_DOMAIN".into(), "example.com".into()),
        ("GATEHOUSE_LOG_FORMAT".into(), format.into()),
    ]);
    let out = common::docker::gatehouse_once(&["render"], &env);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn docker_an_echoed_token_and_forged_lines_stay_out_of_the_log() {
    let (url, _server) = echoing_server();
    for format in ["text", "json"] {
        let err = render_against(&url, format);
        assert!(
            err.contains("authentik"),
            "no line about authentik ({format}):\n{err}"
        );
        assert!(
            !err.contains(TOKEN),
            "the token was logged ({format}):\n{err}"
        );
        assert!(
            !err.contains('\u{1b}'),
            "an ESC byte was logged ({format}):\n{err}"
        );
        assert!(
            !err.lines().any(|l| l.starts_with("2026-11-30T00:00:00Z")),
            "a forged line made it into the log ({format}):\n{err}"
        );
    }
}
