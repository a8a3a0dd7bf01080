//! The outpost's own health endpoint, asked over plain HTTP: `GET /outpost.goauthentik.io/ping`
//! on port 9000 answers 204 while the outpost runs.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The status the outpost at `ip` answers its ping with, or why there is none.
pub(crate) async fn ping_outpost(ip: &str) -> Result<u16, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect((ip, 9000))
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(b"GET /outpost.goauthentik.io/ping HTTP/1.0\r\nHost: outpost\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 64];
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&buf[..n]);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| "not an HTTP answer".to_owned())
    };
    tokio::time::timeout(PING_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {PING_TIMEOUT:?}")))
}
