//! Everything that talks to a Docker engine: the [`Engine`] trait (what the crate asks of an
//! engine), its error type classified once, the bollard implementation ([`bollard`]), the event
//! decoding ([`events`]), and an in-memory engine for unit tests.
//!
//! The trait returns boxed futures so that engines are held as `Arc<dyn Engine>`: a
//! [`crate::reconcile::Context`] keeps engines of different kinds (the local bollard client
//! today; remote hosts, a Swarm manager or the test fake) in one map keyed by host, without a
//! type parameter spreading through `Context`, `Reconciler`, the watch loop and `main`. One box
//! per request costs nothing next to the HTTP round trip it stands for.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use futures_util::Stream;

use crate::model::workload::Workload;

pub mod bollard;
mod error;
pub mod events;
#[cfg(test)]
pub mod fake;

pub use self::bollard::BollardEngine;
pub use error::{EngineError, ErrorKind};
pub use events::{unix_nanos, EngineEvent, EVENT_REPLAY_SECS};
pub use inspect::{EngineVersion, Inspected};

mod inspect;

/// A future an [`Engine`] returns.
pub(crate) type EngineFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, EngineError>> + Send + 'a>>;

/// The engine's events, as [`Engine::events`] returns them.
pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<EngineEvent, EngineError>> + Send>>;

/// How a network connect or disconnect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChange {
    /// The engine made the change.
    Done,
    /// Nothing to do: already connected, or already not connected.
    AlreadyDone,
}

/// Where an engine is reached, for error messages and for how hard to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket on this host (`unix:///var/run/docker.sock`).
    Unix(PathBuf),
    /// Anything else (`tcp://host:2375`, `http://…`), as written in `DOCKER_HOST`.
    Remote(String),
}

impl Endpoint {
    /// The endpoint `DOCKER_HOST` names (the local socket when unset), as bollard reads it.
    pub(crate) fn parse(docker_host: &str) -> Self {
        match docker_host.strip_prefix("unix://") {
            Some(path) => Self::Unix(PathBuf::from(path)),
            None => Self::Remote(docker_host.to_owned()),
        }
    }

    /// The socket's path, for a local engine.
    pub(crate) fn socket(&self) -> Option<&Path> {
        match self {
            Self::Unix(p) => Some(p),
            Self::Remote(_) => None,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix://{}", p.display()),
            Self::Remote(h) => f.write_str(h),
        }
    }
}

/// What gatehouse asks of a Docker engine. Every method is one request (or two: see
/// [`Engine::ensure_network`]); none retries.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// The host this engine runs workloads on ([`crate::model::workload::LOCAL_HOST`] for the
    /// local one); every [`Workload`] it lists carries it.
    fn host(&self) -> &str;

    /// Where it is reached.
    fn endpoint(&self) -> &Endpoint;

    /// Requests sent to the engine so far (for the benchmark and metrics).
    fn requests_made(&self) -> u64;

    /// The engine's clock, in Unix nanoseconds, so that an event subscription can start from a
    /// moment the engine agrees on whatever the skew between the two hosts. `None` when the
    /// engine does not say or says something unreadable.
    fn engine_time(&self) -> EngineFuture<'_, Option<i64>>;

    /// Every running workload, in one list request. The scope label is the pass's to check:
    /// the containers gatehouse needs but does not publish (SWAG, authentik's server) must not
    /// be hidden by it.
    fn running_workloads(&self) -> EngineFuture<'_, Vec<Workload>>;

    /// The engine's events that can change what gatehouse publishes. The stream ends or yields
    /// an error when the connection is lost.
    ///
    /// `since` (Unix seconds by the engine's clock, see [`Engine::engine_time`]) makes the
    /// engine replay what happened from then on before following live events. Events that
    /// happened before `live_from` (Unix nanoseconds, the engine's clock) are marked
    /// [`EngineEvent::replayed`].
    fn events(&self, since: Option<i64>, live_from: Option<i64>) -> EventStream;

    /// Attaches `container` (name or id) to `network` (name or id). Already attached counts as
    /// [`NetworkChange::AlreadyDone`].
    fn connect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange>;

    /// Detaches `container` from `network`. Not attached counts as
    /// [`NetworkChange::AlreadyDone`].
    fn disconnect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange>;

    /// The id of the network called `name`, or `None` when there is none (a read).
    fn find_network<'a>(&'a self, name: &'a str) -> EngineFuture<'a, Option<String>>;

    /// The id of the network called `name`, creating it (a bridge network carrying `labels`)
    /// when there is none. Returns the id and whether it was created.
    fn ensure_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, (String, bool)>;

    /// The engine's version and the newest API version it speaks (one request; `gatehouse
    /// check`).
    fn version(&self) -> EngineFuture<'_, EngineVersion>;

    /// One container (name or id): the environment variables named in `wanted` (no other value
    /// leaves the engine client: the rest may hold secrets) and its addresses by network. `None`
    /// when there is no such container.
    fn inspect<'a>(
        &'a self,
        container: &'a str,
        wanted: &'a [&'a str],
    ) -> EngineFuture<'a, Option<Inspected>>;

    /// Restarts `container` (name or id), so it reads files it reads only at start (single
    /// sign-on credentials, `auth.oidc.restart`).
    fn restart_container<'a>(&'a self, container: &'a str) -> EngineFuture<'a, ()>;
}
