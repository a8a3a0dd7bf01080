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
            Self::Config(_) => 64,
            Self::Docker(_) | Self::Reconcile(reconcile::ReconcileError::Docker(_)) => 69,
            Self::Reconcile(reconcile::ReconcileError::ConfDir(_)) => 74,
        }
    }
}
