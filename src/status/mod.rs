//! What gatehouse tells about itself: the health record ([`health`]), clean log lines
//! ([`logs`]), and the HTTP server of `run` ([`server`]): the status page ([`page`]), `/metrics`
//! ([`metrics`]), `/healthz`, `/readyz`, all rendered from the [`board`] the watch loop posts
//! its passes to ([`snapshot`]).

pub mod board;
pub mod health;
pub mod logs;
pub(crate) mod metrics;
pub(crate) mod page;
pub mod server;
pub mod snapshot;
