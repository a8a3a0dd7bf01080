//! Everything that talks to the Docker engine (through bollard): the container snapshot and the
//! event stream. Results are plain data from [`crate::world`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::{Stream, StreamExt};

use crate::world::{ContainerInfo, NetworkAttachment};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    #[error("cannot set up the Docker client (check DOCKER_HOST): {0}")]
    Client(String),
    #[error("Docker engine answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("cannot reach the Docker engine: {0}")]
    Unreachable(String),
}

impl From<bollard::errors::Error> for DockerError {
    fn from(e: bollard::errors::Error) -> Self {
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => Self::Api {
                status: status_code,
                message,
            },
            other => Self::Unreachable(other.to_string()),
        }
    }
}

impl DockerError {
    /// The engine (or a socket proxy in front of it) refuses the request.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Api { status: 403, .. })
    }

    /// The container or network named in the request does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

/// How a network connect or disconnect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChange {
    /// The engine made the change.
    Done,
    /// Nothing to do: already connected, or already not connected.
    AlreadyDone,
}

/// The engine, with a count of the requests made to it (for the benchmark and metrics).
#[derive(Debug, Clone)]
pub struct DockerClient {
    api: bollard::Docker,
    scope: Option<String>,
    negotiated: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
}

/// What woke the loop, from the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub kind: String,
    pub action: String,
    /// The container or network id.
    pub id: String,
    /// The container or network name, when the event carries one.
    pub name: String,
    /// The event's attributes: a container's labels; a network event's `container` id.
    pub attributes: BTreeMap<String, String>,
}

impl DockerClient {
    /// A client for `DOCKER_HOST`, or the local socket when it is unset. Nothing is sent yet.
    /// `scope` (`key=value`) limits every listing to containers carrying that label.
    pub fn from_env(scope: Option<(String, String)>) -> Result<Self, DockerError> {
        let api = bollard::Docker::connect_with_defaults()
            .map_err(|e| DockerError::Client(e.to_string()))?;
        Ok(Self {
            api,
            scope: scope.map(|(k, v)| format!("{k}={v}")),
            negotiated: Arc::new(AtomicBool::new(false)),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests sent to the engine so far.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Agrees on an API version with the engine once (older engines speak older versions). The
    /// version is shared by every clone of this client.
    async fn negotiate(&self) -> Result<(), DockerError> {
        if self.negotiated.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.count();
        let api = self.api.clone().negotiate_version().await?;
        tracing::debug!(api_version = %api.client_version(), "agreed Docker API version");
        self.negotiated.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Every running container, in one list request.
    pub async fn running_containers(&self) -> Result<Vec<ContainerInfo>, DockerError> {
        self.negotiate().await?;
        self.count();
        let mut builder = ListContainersOptionsBuilder::new().all(false);
        if let Some(scope) = &self.scope {
            builder = builder.filters(&HashMap::from([("label", vec![scope.as_str()])]));
        }
        let options = builder.build();
        let list = self.api.list_containers(Some(options)).await?;
        Ok(list.into_iter().filter_map(container_info).collect())
    }

    /// The engine's events that can change what gatehouse publishes. The stream ends or yields an
    /// error when the connection is lost.
    pub fn events(&self) -> impl Stream<Item = Result<EngineEvent, DockerError>> + use<> {
        self.count();
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::from([
            ("type", vec!["container", "network"]),
            (
                "event",
                vec![
                    "start",
                    "kill",
                    "die",
                    "destroy",
                    "rename",
                    "connect",
                    "disconnect",
                ],
            ),
        ]);
        if let Some(scope) = &self.scope {
            // Network events carry no labels, so a scoped gatehouse sees container events only.
            filters.insert("label", vec![scope.as_str()]);
        }
        let options = EventsOptionsBuilder::new().filters(&filters).build();
        self.api.events(Some(options)).map(|item| {
            let e = item?;
            let actor = e.actor.unwrap_or_default();
            let attributes: BTreeMap<String, String> =
                actor.attributes.unwrap_or_default().into_iter().collect();
            Ok(EngineEvent {
                kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
                action: e.action.unwrap_or_default(),
                id: actor.id.unwrap_or_default(),
                name: attributes.get("name").cloned().unwrap_or_default(),
                attributes,
            })
        })
    }
}

impl DockerClient {
    /// Attaches `container` (name or id) to `network` (name or id). An engine that says the
    /// container is already there counts as success.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, DockerError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config: None,
        };
        match self.api.connect_network(network, request).await {
            Ok(()) => Ok(NetworkChange::Done),
            // The engine answers 403 "endpoint with name … already exists in network …".
            Err(e) => match DockerError::from(e) {
                DockerError::Api {
                    status: 403,
                    message,
                } if message.contains("already exists") => Ok(NetworkChange::AlreadyDone),
                other => Err(other),
            },
        }
    }

    /// Detaches `container` (name or id) from `network` (name or id). A container that is not
    /// attached counts as success.
    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, DockerError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkDisconnectRequest {
            container: container.to_owned(),
            force: Some(false),
        };
        match self.api.disconnect_network(network, request).await {
            Ok(()) => Ok(NetworkChange::Done),
            // The engine answers 500 "container … is not connected to network …".
            Err(e) => match DockerError::from(e) {
                DockerError::Api { message, .. } if message.contains("is not connected") => {
                    Ok(NetworkChange::AlreadyDone)
                }
                other => Err(other),
            },
        }
    }

    /// The id of the network called `name`, or `None` when there is none (a read: nothing is
    /// changed).
    pub async fn find_network(&self, name: &str) -> Result<Option<String>, DockerError> {
        self.negotiate().await?;
        self.count();
        match self.api.inspect_network(name, None).await {
            Ok(n) => Ok(Some(n.id.unwrap_or_else(|| name.to_owned()))),
            Err(e) => {
                let e = DockerError::from(e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The id of the network called `name`, creating it (a bridge network carrying `labels`)
    /// when there is none. Returns the id and whether it was created.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(String, bool), DockerError> {
        if let Some(id) = self.find_network(name).await? {
            return Ok((id, false));
        }
        self.count();
        let request = bollard::models::NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let created = self.api.create_network(request).await?;
        Ok((created.id, true))
    }
}

fn container_info(c: bollard::models::ContainerSummary) -> Option<ContainerInfo> {
    let name = c
        .names
        .as_ref()?
        .first()?
        .trim_start_matches('/')
        .to_owned();
    let mut ports: Vec<u16> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            matches!(
                p.typ,
                Some(bollard::models::PortSummaryTypeEnum::TCP) | None
            )
        })
        .map(|p| p.private_port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let networks: BTreeMap<String, NetworkAttachment> = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| {
            (
                name,
                NetworkAttachment {
                    network_id: ep.network_id.unwrap_or_default(),
                },
            )
        })
        .collect();
    Some(ContainerInfo {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        exposed_tcp_ports: ports,
        networks,
    })
}
