//! `gatehouse db dump` and `gatehouse db restore`: authentik's PostgreSQL database to a file on
//! this host and back, through the Docker API's exec (`pg_dump -Fc` and `pg_restore` run inside
//! the database container; the bytes stream through gatehouse, never held whole).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Settings;
use crate::edge::docker::{EngineError, ErrorKind};

mod dump;
mod engine;
mod find;
mod meta;
mod progress;
mod restore;
mod steps;
mod wait;

pub use find::FindError;

use engine::Docker;
use find::Stack;

/// The `gatehouse db` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Dump authentik's database to a file on this host (`pg_dump -Fc` in its container).
    Dump {
        /// The file to write (default: authentik-<version>-<date>.dump here); never overwritten.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace authentik's database with a dump made by `gatehouse db dump`.
    Restore {
        /// The dump (its side file `<FILE>.json` must sit beside it).
        file: PathBuf,
        /// Do it: the database is dropped and recreated from the dump.
        #[arg(long)]
        yes: bool,
        /// Restore even when the dump's authentik version is unknown or newer than the stack's.
        #[arg(long)]
        skip_version_check: bool,
        /// How long to wait for authentik to answer after the restore, in seconds.
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
    },
}

/// Why a `db` command failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Find(#[from] FindError),
    /// Refused before anything was changed (usage).
    #[error("{0}")]
    Refused(String),
    /// A file on this host could not be read or written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A step failed; the message says which and what was left.
    #[error("{0}")]
    Failed(String),
}

impl DbError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    /// sysexits: 64 refused, 69 no engine, 74 a file, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => crate::exit::USAGE,
            Self::Engine(e) if e.kind() == ErrorKind::Unreachable => crate::exit::UNAVAILABLE,
            Self::Io { .. } => crate::exit::IO,
            Self::Engine(_) | Self::Find(_) | Self::Failed(_) => crate::exit::FAILED,
        }
    }
}

/// Runs a `db` command.
pub async fn run(command: DbCommand, settings: &Settings) -> Result<(), DbError> {
    match command {
        DbCommand::Dump { out } => {
            let docker = Docker::from_env().await?;
            dump::dump(&docker, settings, out).await
        }
        DbCommand::Restore {
            file,
            yes,
            skip_version_check,
            wait_secs,
        } => {
            let options = restore::Options {
                file,
                yes,
                skip_version_check,
                wait: std::time::Duration::from_secs(wait_secs),
            };
            let docker = Docker::from_env().await?;
            restore::restore(&docker, settings, &options).await
        }
    }
}

/// The database inside its container: who to connect as, which database.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) user: String,
    pub(crate) database: String,
}

/// The stack, its database and authentik's version, as found on the engine.
pub(crate) struct Located {
    pub(crate) stack: Stack,
    pub(crate) target: Target,
    pub(crate) version: String,
}

/// Finds the stack and reads the database's user and name from its container's environment
/// (`POSTGRES_USER`, `POSTGRES_DB`, with the official image's defaults).
pub(crate) async fn locate(docker: &Docker, settings: &Settings) -> Result<Located, DbError> {
    let all = docker.containers().await?;
    let stack = find::find(
        &all,
        settings.scope_label.as_ref(),
        settings.db_container.as_deref(),
        &settings.authentik_container,
    )?;
    let env = docker.env_of(&stack.db.id).await?;
    let target = target(&stack, &env);
    let version = authentik_version(docker, &stack).await;
    tracing::debug!(db = %target.name, database = %target.database, version = %version, "found authentik's stack");
    Ok(Located {
        stack,
        target,
        version,
    })
}

fn target(stack: &Stack, env: &BTreeMap<String, String>) -> Target {
    let set = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let user = set("POSTGRES_USER").unwrap_or_else(|| "postgres".to_owned());
    let database = set("POSTGRES_DB").unwrap_or_else(|| user.clone());
    Target {
        id: stack.db.id.clone(),
        name: stack.db.name.clone(),
        user,
        database,
    }
}

/// authentik's version: its image's `org.opencontainers.image.version` label, else the image
/// tag when it is a version, else `unknown`.
async fn authentik_version(docker: &Docker, stack: &Stack) -> String {
    let Some(server) = stack.authentik.first() else {
        return meta::UNKNOWN.to_owned();
    };
    let label = docker
        .image_label(&server.image, "org.opencontainers.image.version")
        .await;
    label
        .filter(|v| meta::is_version(v))
        .or_else(|| {
            find::tag(&server.image)
                .filter(|t| meta::is_version(t))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| meta::UNKNOWN.to_owned())
}

/// Ctrl-C and SIGTERM, caught from the moment this is made (so one arriving while containers
/// are being stopped is seen by the next step, and cannot kill gatehouse half-way).
pub(crate) struct Interrupts {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    pub(crate) fn catch() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// Resolves at the next Ctrl-C or SIGTERM.
    pub(crate) async fn recv(&mut self) {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = next(&mut self.term) => {}
            () = next(&mut self.int) => {}
        }
    }
}
