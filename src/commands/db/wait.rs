//! After a restore: waiting for authentik's server to answer again, and counting the bytes
//! sent to `pg_restore` for the progress line.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};

use super::engine::Docker;
use super::find::Seen;
use super::progress::Progress;

/// authentik's HTTP port inside its container, and the path that answers once it is ready.
const PORT: u16 = 9000;
const READY: &str = "/-/health/ready/";

/// The containers to wait for: the servers (the worker does not answer HTTP), or all when none
/// looks like a server.
pub(crate) fn servers(authentik: &[Seen]) -> Vec<Seen> {
    let servers: Vec<Seen> = authentik
        .iter()
        .filter(|c| c.is_server())
        .cloned()
        .collect();
    if servers.is_empty() {
        authentik.to_vec()
    } else {
        servers
    }
}

/// Waits until every server answers: its health check says healthy (authentik's image has
/// one), or, without a health check, `GET /-/health/ready/` on port 9000 of one of its
/// addresses answers 2xx.
pub(crate) async fn answering(
    docker: &Docker,
    servers: &[Seen],
    limit: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    for server in servers {
        loop {
            let last: String;
            match docker.state_of(&server.id).await {
                Ok(state) if !state.running => last = "not running".to_owned(),
                Ok(state) => match state.health {
                    Some(h) if h == "healthy" => break,
                    Some(h) => last = format!("its health check says {h}"),
                    None if ready(&state.addresses).await => break,
                    None => last = format!("no answer on {READY} (port {PORT})"),
                },
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not answer within {} s ({last}); see `docker logs {}`",
                    server.name,
                    limit.as_secs(),
                    server.name
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        println!("  {} answers", server.name);
    }
    Ok(())
}

/// Whether `GET /-/health/ready/` answers 2xx on one of the addresses.
async fn ready(addresses: &[String]) -> bool {
    for addr in addresses {
        let ask = async {
            let mut s = tokio::net::TcpStream::connect((addr.as_str(), PORT)).await?;
            let request = format!("GET {READY} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            s.write_all(request.as_bytes()).await?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head).await?;
            Ok::<_, std::io::Error>(head)
        };
        if let Ok(Ok(head)) = tokio::time::timeout(Duration::from_secs(3), ask).await {
            // `HTTP/1.x 2..`
            if head.starts_with(b"HTTP/1.") && head[9] == b'2' {
                return true;
            }
        }
    }
    false
}

/// A reader that tells a progress line how much has been read.
pub(crate) struct Counting<'a, R> {
    inner: R,
    read: u64,
    progress: &'a mut Progress,
}

impl<'a, R> Counting<'a, R> {
    pub(crate) fn new(inner: R, progress: &'a mut Progress) -> Self {
        Self {
            inner,
            read: 0,
            progress,
        }
    }

    pub(crate) fn read(&self) -> u64 {
        self.read
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counting<'_, R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.read += (buf.filled().len() - before) as u64;
            let read = self.read;
            self.progress.update(read);
        }
        polled
    }
}
