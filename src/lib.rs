//! gatehouse: keeps SWAG's proxy-confs (and later authentik) in line with Docker labels.
//!
//! Data flows one way: observe ([`edge::docker`] behind its `Engine` trait, [`edge::confdir`]) →
//! plan ([`labels`], [`plan`], [`render`], all pure) → apply ([`edge::confdir`]) → report;
//! [`reconcile`] wires them together.

// No function over 80 lines (clippy.toml sets the threshold).
#![warn(clippy::too_many_lines)]

pub mod commands;
pub mod config;
pub mod edge;
pub mod labels;
pub mod model;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod runtime;
pub mod status;

/// The exit codes gatehouse returns (sysexits where one fits), one constant each.
pub mod exit {
    /// Done, nothing wrong (`health`: healthy).
    pub const OK: u8 = 0;
    /// Labels rejected or a change failed (`run --once`, `render`); not healthy (`health`); a
    /// check failed (`check`).
    pub const FAILED: u8 = 1;
    /// EX_USAGE: a bad setting or `init` answer.
    pub const USAGE: u8 = 64;
    /// EX_UNAVAILABLE: the Docker engine cannot be reached.
    pub const UNAVAILABLE: u8 = 69;
    /// EX_SOFTWARE: `run`'s event task ended on its own (an internal error).
    pub const SOFTWARE: u8 = 70;
    /// EX_OSERR: the system refused what any run needs (the async runtime, `/dev/urandom`).
    pub const OS: u8 = 71;
    /// EX_IOERR: the file system refused a read or a write.
    pub const IO: u8 = 74;
}

/// Every exit code each command can return (besides clap's 2 for a command line it cannot
/// parse): README.md's command table names exactly these (tests/readme_complete.rs).
pub const EXIT_CODES: &[(&str, &[u8])] = {
    use exit::{FAILED, IO, OK, OS, SOFTWARE, UNAVAILABLE, USAGE};
    &[
        ("run", &[OK, USAGE, UNAVAILABLE, SOFTWARE, OS]),
        ("run --once", &[OK, FAILED, USAGE, UNAVAILABLE, OS, IO]),
        ("render", &[OK, FAILED, USAGE, UNAVAILABLE, OS, IO]),
        ("init", &[OK, USAGE, OS, IO]),
        ("health", &[OK, FAILED, USAGE]),
        ("check", &[OK, FAILED, USAGE, OS]),
        ("sso show", &[OK, FAILED, USAGE, UNAVAILABLE, OS]),
        ("db dump", &[OK, FAILED, USAGE, UNAVAILABLE, OS, IO]),
        ("db restore", &[OK, FAILED, USAGE, UNAVAILABLE, OS, IO]),
    ]
};

/// The top-level error: what made a command fail, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Docker(#[from] edge::docker::EngineError),
    #[error(transparent)]
    Reconcile(#[from] reconcile::ReconcileError),
}

impl Error {
    /// sysexits-style codes: 64 for bad configuration, 69 when the engine cannot be reached, 74
    /// for file-system trouble.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => exit::USAGE,
            Self::Docker(_) | Self::Reconcile(reconcile::ReconcileError::Docker(_)) => {
                exit::UNAVAILABLE
            }
            Self::Reconcile(reconcile::ReconcileError::ConfDir(_)) => exit::IO,
        }
    }
}
