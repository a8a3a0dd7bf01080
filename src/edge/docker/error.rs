//! What can go wrong talking to an engine, keeping bollard's distinctions (the engine's answer
//! with its status code, a timeout, an unreadable answer, a connection that could not be made
//! and why), classified once by [`EngineError::kind`] and [`EngineError::is_transient`].

use std::io;
use std::os::unix::fs::MetadataExt as _;

use super::Endpoint;

/// One engine request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The client cannot be built (an unsupported `DOCKER_HOST` scheme).
    #[error("cannot set up the Docker client (check DOCKER_HOST): {0}")]
    Client(String),
    /// The engine (or a socket proxy in front of it) answered with an error status.
    #[error("Docker engine answered {status}: {message}")]
    Api { status: u16, message: String },
    /// No connection could be made.
    #[error("{}", connect_message(endpoint, *io, detail, *socket_gid))]
    Connect {
        endpoint: Endpoint,
        /// Why, as the operating system said it (permission denied, not found, refused, …).
        io: io::ErrorKind,
        detail: String,
        /// The group owning the socket (for a local socket that exists), for the fix.
        socket_gid: Option<u32>,
    },
    /// The engine did not answer in time.
    #[error("the Docker engine at {endpoint} did not answer in time")]
    Timeout { endpoint: Endpoint },
    /// The engine answered something gatehouse cannot read: it is reachable, but speaks an API
    /// gatehouse does not understand (or a proxy in front of it mangles the answer).
    #[error("cannot read the Docker engine's answer: {0}")]
    Decode(String),
    /// An open connection broke (the engine stopped, a proxy cut the event stream).
    #[error("cannot reach the Docker engine: {0}")]
    Transport(String),
}

/// What kind of failure, once, for every caller to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No connection, or a lost one.
    Unreachable,
    /// 403: the engine or a socket proxy refuses the request.
    Forbidden,
    /// 404: the container or network named does not exist.
    NotFound,
    /// 409: the request conflicts with the engine's state.
    Conflict,
    Timeout,
    /// An answer gatehouse cannot read.
    Decode,
    Other,
}

impl EngineError {
    /// Classifies a bollard error; `endpoint` is where the request went.
    pub(crate) fn from_bollard(e: bollard::errors::Error, endpoint: &Endpoint) -> Self {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError {
                status_code,
                message,
            } => Self::Api {
                status: status_code,
                message,
            },
            B::RequestTimeoutError => Self::Timeout {
                endpoint: endpoint.clone(),
            },
            B::JsonDataError { .. }
            | B::JsonSerdeError { .. }
            | B::StrParseError { .. }
            | B::APIVersionParseError {} => Self::Decode(e.to_string()),
            B::SocketNotFoundError(path) => Self::connect(
                &Endpoint::Unix(path.into()),
                io::ErrorKind::NotFound,
                "no such file".into(),
            ),
            B::UnsupportedURISchemeError { .. } => Self::Client(e.to_string()),
            B::HyperLegacyError { ref err } if err.is_connect() => {
                let io = io_kind(&e).unwrap_or(io::ErrorKind::Other);
                let detail = innermost(&e);
                Self::connect(endpoint, io, detail)
            }
            B::IOError { ref err } => Self::connect(endpoint, err.kind(), err.to_string()),
            other => Self::Transport(other.to_string()),
        }
    }

    /// A connection that could not be made; for a local socket, notes its group for the fix.
    pub(crate) fn connect(endpoint: &Endpoint, io: io::ErrorKind, detail: String) -> Self {
        let socket_gid = match (io, endpoint.socket()) {
            (io::ErrorKind::PermissionDenied, Some(path)) => {
                std::fs::metadata(path).ok().map(|m| m.gid())
            }
            _ => None,
        };
        Self::Connect {
            endpoint: endpoint.clone(),
            io,
            detail,
            socket_gid,
        }
    }

    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Self::Api { status: 403, .. } => ErrorKind::Forbidden,
            Self::Api { status: 404, .. } => ErrorKind::NotFound,
            Self::Api { status: 409, .. } => ErrorKind::Conflict,
            Self::Api { status: 408, .. } | Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Api { .. } | Self::Client(_) => ErrorKind::Other,
            Self::Connect { .. } | Self::Transport(_) => ErrorKind::Unreachable,
            Self::Decode(_) => ErrorKind::Decode,
        }
    }

    /// Worth retrying as is: the engine may be back, less busy or done restarting. A refusal,
    /// an unreadable answer, a bad `DOCKER_HOST` or a socket gatehouse may not open will fail
    /// the same way until someone changes something.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Connect { io, .. } => *io != io::ErrorKind::PermissionDenied,
            Self::Api { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Self::Timeout { .. } | Self::Transport(_) => true,
            Self::Client(_) | Self::Decode(_) => false,
        }
    }

    /// The engine (or a socket proxy in front of it) refuses the request.
    pub(crate) fn is_forbidden(&self) -> bool {
        self.kind() == ErrorKind::Forbidden
    }

    /// The container or network named in the request does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }
}

/// The `std::io::Error` kind somewhere in the chain of causes.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

/// The last cause in the chain: the operating system's words, not the HTTP client's.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut err = e;
    while let Some(next) = err.source() {
        err = next;
    }
    err.to_string()
}

fn connect_message(
    endpoint: &Endpoint,
    io: io::ErrorKind,
    detail: &str,
    socket_gid: Option<u32>,
) -> String {
    match (io, endpoint) {
        (io::ErrorKind::PermissionDenied, Endpoint::Unix(path)) => {
            let (uid, gid) = (process_uid(), process_gid());
            match socket_gid {
                Some(g) => format!(
                    "permission denied on the Docker socket {path} (group id {g}): gatehouse runs as uid {uid}, gid {gid}, not in group {g}; add it with `group_add: [\"{g}\"]` in compose, or run gatehouse with that group (`docker run --group-add {g}`)",
                    path = path.display()
                ),
                None => format!(
                    "permission denied on the Docker socket {path}: gatehouse runs as uid {uid}, gid {gid}; give it the socket's group (`group_add` in compose, `stat -c %g {path}` shows the group id)",
                    path = path.display()
                ),
            }
        }
        (io::ErrorKind::NotFound, Endpoint::Unix(path)) => format!(
            "the Docker socket {path} does not exist: is the Docker engine running, and the socket mounted into gatehouse's container (`/var/run/docker.sock:/var/run/docker.sock:ro`)? (check DOCKER_HOST)",
            path = path.display()
        ),
        (io::ErrorKind::ConnectionRefused, Endpoint::Unix(path)) => format!(
            "the Docker socket {path} refuses connections: is the Docker engine running?",
            path = path.display()
        ),
        (io::ErrorKind::ConnectionRefused, Endpoint::Remote(host)) => format!(
            "the Docker engine at {host} refuses connections: is it running and listening there? (check DOCKER_HOST)"
        ),
        _ => format!("cannot reach the Docker engine at {endpoint}: {detail}"),
    }
}

/// This process's user id (a read of process state that cannot fail).
fn process_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// This process's group id.
fn process_gid() -> u32 {
    // SAFETY: getgid has no preconditions and cannot fail.
    unsafe { libc::getgid() }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
