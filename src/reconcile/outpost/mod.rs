//! A remote host's outpost container, kept by the authentik worker after each round
//! (`GATEHOUSE_OUTPOST=remote`): image tagged with the central server's version, the outpost's
//! token read through the API, on its own network that SWAG joins; recreated when the version
//! or the token changes, removed when the mode is switched off. Its health (its own ping, and
//! when the central authentik last saw it) is logged when it changes and shown by `render`.
//!
//! The token is read into memory, handed to the engine, and never logged; the container's
//! labels carry only a truncated SHA-256 of its settings (token included) to tell a change.

mod health;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{OutpostMode, RemoteSettings, TokenMode};
use crate::edge::authentik::{Api, ApiError};
use crate::edge::docker::{Engine, EngineError, NetworkChange};
use crate::model::authentik::Outpost;
use crate::model::container::ContainerSpec;
use crate::plan::outpost_container::{self as plan, ContainerStep, OUTPOST_LABEL};
use crate::render::wording::{Describe, Tense};

/// Where the token file goes in file mode (the root folder exists in every image).
const TOKEN_DIR: &str = "/";
const TOKEN_FILE: &str = "gatehouse-outpost-token";

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeeperError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("authentik reports version {0:?}, which is no image tag")]
    Version(String),
}

/// Keeps this instance's outpost container.
#[derive(Debug)]
pub struct OutpostKeeper {
    engine: Arc<dyn Engine>,
    /// The instance name (the container's mark).
    instance: String,
    /// `None`: the mode is off, any container of this instance goes.
    remote: Option<RemoteSettings>,
    authentik_url: String,
    swag_container: String,
    /// The last health said, to log a change once.
    told: Option<String>,
    /// The latest health line (for `render` and the log).
    pub(crate) health: Option<String>,
    /// Mode off and no container of this instance found: nothing more to look for until a
    /// restart (one listing per process, not one per round).
    clean: bool,
}

/// What the container should be, read for one round.
struct Wanted {
    spec: ContainerSpec,
    token: String,
}

impl OutpostKeeper {
    /// A keeper for a named instance; `None` for the unnamed one (it has no outpost).
    pub(crate) fn new(
        engine: Arc<dyn Engine>,
        instance: Option<&str>,
        mode: &OutpostMode,
        authentik_url: &str,
        swag_container: &str,
    ) -> Option<Self> {
        Some(Self {
            engine,
            instance: instance?.to_owned(),
            remote: match mode {
                OutpostMode::Remote(r) => Some(r.clone()),
                OutpostMode::Embedded => None,
            },
            authentik_url: authentik_url.to_owned(),
            swag_container: swag_container.to_owned(),
            told: None,
            health: None,
            clean: false,
        })
    }

    fn name(&self) -> String {
        plan::container_name(&self.instance)
    }

    /// One round: the container made as wanted, and its health logged when it changes.
    /// `own` is this instance's outpost in authentik (`None` in mode off, or before it exists).
    pub(crate) async fn converge<A: Api>(
        &mut self,
        api: &A,
        own: Option<&Outpost>,
    ) -> Result<(), KeeperError> {
        let wanted = match (&self.remote, own) {
            (Some(_), Some(o)) => Some(self.wanted(api, o).await?),
            (Some(_), None) => return Ok(()),
            (None, _) => None,
        };
        if wanted.is_none() && self.clean {
            return Ok(());
        }
        if let Some(w) = &wanted {
            self.join_swag(&w.spec.network).await?;
        }
        let observed = self
            .engine
            .containers_labelled(OUTPOST_LABEL, &self.instance)
            .await?;
        self.clean = wanted.is_none() && observed.is_empty();
        let steps = plan::plan(wanted.as_ref().map(|w| &w.spec), &observed);
        for step in &steps {
            self.apply(step, wanted.as_ref()).await?;
            tracing::info!(outpost = %self.name(), "{}", step.said(Tense::Done));
        }
        // A container started just now is still starting: its health is told next round.
        if let (Some(_), Some(o), true) = (&wanted, own, steps.is_empty()) {
            let line = self.health_of(api, o).await;
            self.tell(line);
        }
        Ok(())
    }

    /// What `converge` would do, in words, and the health (reads only: `render`).
    pub(crate) async fn preview<A: Api>(&mut self, api: &A, own: Option<&Outpost>) -> Vec<String> {
        let wanted = match (&self.remote, own) {
            (Some(_), Some(o)) => match self.wanted(api, o).await {
                Ok(w) => Some(w),
                Err(e) => {
                    return vec![format!("cannot tell what the outpost container needs: {e}")]
                }
            },
            (Some(_), None) => {
                return vec![format!(
                    "would start outpost container {} once the outpost exists in authentik",
                    self.name()
                )]
            }
            (None, _) => None,
        };
        let observed = match self
            .engine
            .containers_labelled(OUTPOST_LABEL, &self.instance)
            .await
        {
            Ok(o) => o,
            Err(e) => return vec![format!("cannot list the outpost container: {e}")],
        };
        let mut lines: Vec<String> = plan::plan(wanted.as_ref().map(|w| &w.spec), &observed)
            .iter()
            .map(|s| s.said(Tense::Planned).to_string())
            .collect();
        if let (Some(_), Some(o)) = (&wanted, own) {
            lines.push(self.health_of(api, o).await);
        }
        lines
    }

    /// The container wanted now: the server's exact version as the tag, the outpost's token.
    async fn wanted<A: Api>(&self, api: &A, own: &Outpost) -> Result<Wanted, KeeperError> {
        let Some(remote) = &self.remote else {
            return Err(KeeperError::Version(String::new()));
        };
        let version = api.version().await?.version_current;
        if version.is_empty()
            || !version
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
        {
            return Err(KeeperError::Version(version));
        }
        let token = api.token_key(&own.token_identifier).await?.key;
        let mut env = vec![
            format!("AUTHENTIK_HOST={}", self.authentik_url),
            "AUTHENTIK_INSECURE=false".to_owned(),
        ];
        if let Some(b) = &remote.host_browser {
            env.push(format!("AUTHENTIK_HOST_BROWSER={b}"));
        }
        env.push(match remote.token_mode {
            TokenMode::Env => format!("AUTHENTIK_TOKEN={token}"),
            TokenMode::File => format!("AUTHENTIK_TOKEN=file://{TOKEN_DIR}{TOKEN_FILE}"),
        });
        let image = format!("{}:{version}", remote.image);
        let network = self.name();
        let fingerprint = fingerprint(&[&image, &env.join("\n"), &network, &token]);
        Ok(Wanted {
            spec: ContainerSpec {
                name: self.name(),
                image,
                env,
                labels: plan::labels(&self.instance, &fingerprint),
                network,
                restart: "unless-stopped",
            },
            token,
        })
    }

    /// The outpost's network, made when missing, with SWAG on it so it reaches the outpost by
    /// name.
    async fn join_swag(&self, network: &str) -> Result<(), KeeperError> {
        let labels = BTreeMap::from([(OUTPOST_LABEL.to_owned(), self.instance.clone())]);
        let (_, created) = self.engine.ensure_network(network, &labels).await?;
        if created {
            tracing::info!(network = %network, "created network {network} for the outpost");
        }
        match self
            .engine
            .connect_network(network, &self.swag_container)
            .await
        {
            Ok(NetworkChange::Done) => tracing::info!(
                network = %network,
                "attached {} to network {network} (it reaches this host's outpost there)",
                self.swag_container
            ),
            Ok(NetworkChange::AlreadyDone) => {}
            // SWAG is not running: the confs fail closed meanwhile; tried again next round.
            Err(e) if e.is_not_found() => {
                tracing::debug!(error = %e, "SWAG not found; not attached to the outpost's network")
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    async fn apply(
        &self,
        step: &ContainerStep,
        wanted: Option<&Wanted>,
    ) -> Result<(), KeeperError> {
        match step {
            ContainerStep::Create { spec } => self.create(spec, wanted).await,
            ContainerStep::Recreate { id, spec, .. } => {
                self.engine.remove_container(id).await?;
                self.create(spec, wanted).await
            }
            ContainerStep::Start { id, .. } => Ok(self.engine.start_container(id).await?),
            ContainerStep::Remove { id, .. } => Ok(self.engine.remove_container(id).await?),
        }
    }

    /// Creates (pulling the image when the engine lacks it), puts the token file in (file
    /// mode), starts.
    async fn create(
        &self,
        spec: &ContainerSpec,
        wanted: Option<&Wanted>,
    ) -> Result<(), KeeperError> {
        let id = match self.engine.create_container(spec).await {
            Ok(id) => id,
            Err(e) if e.is_not_found() => {
                tracing::info!(image = %spec.image, "pulling {}", spec.image);
                self.engine.pull_image(&spec.image).await?;
                self.engine.create_container(spec).await?
            }
            Err(e) => return Err(e.into()),
        };
        let file_mode = self
            .remote
            .as_ref()
            .is_some_and(|r| r.token_mode == TokenMode::File);
        if let (true, Some(w)) = (file_mode, wanted) {
            self.engine
                .put_file(&id, TOKEN_DIR, TOKEN_FILE, w.token.as_bytes())
                .await?;
        }
        self.engine.start_container(&id).await?;
        Ok(())
    }

    /// Logs the health when its gist changes.
    fn tell(&mut self, line: String) {
        let gist = health::gist(&line);
        if self.told.as_deref() != Some(gist.as_str()) {
            if gist.starts_with("healthy") {
                tracing::info!(outpost = %self.name(), "{line}");
            } else {
                tracing::warn!(outpost = %self.name(), "{line}");
            }
            self.told = Some(gist);
        }
        self.health = Some(line);
    }
}

/// The first 16 hex digits of the SHA-256 of `parts`.
fn fingerprint(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(&[0]);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
