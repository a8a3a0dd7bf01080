//! The real engine, through bollard: one [`BollardEngine`] per `DOCKER_HOST`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt;

use super::{
    events, Endpoint, Engine, EngineError, EngineFuture, EngineVersion, EventStream, Inspected,
    NetworkChange,
};
use crate::model::container::{ContainerSpec, ListedContainer};
use crate::model::swarm::{SwarmRole, SwarmService, SwarmTask};
use crate::model::workload::{NetworkAttachment, Workload};

mod swarm;

/// The engine `DOCKER_HOST` names, with a count of the requests made to it.
#[derive(Debug, Clone)]
pub struct BollardEngine {
    pub(super) api: bollard::Docker,
    endpoint: Endpoint,
    scope: Option<(String, String)>,
    negotiated: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    /// The engine said it is a swarm manager: the shared network is an attachable overlay.
    swarm_manager: Arc<AtomicBool>,
    /// The TCP ports each service image exposes, by image reference.
    image_ports: Arc<std::sync::Mutex<HashMap<String, Vec<u16>>>>,
}

impl BollardEngine {
    /// A client for `DOCKER_HOST`, or the local socket when it is unset. Nothing is sent yet.
    /// `scope` (`key=value`) limits every listing to containers carrying that label.
    pub fn from_env(scope: Option<(String, String)>) -> Result<Self, EngineError> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        Self::connect(&host, scope)
    }

    /// A client for the engine at `host` (`unix:///…`, `tcp://…`). Nothing is sent yet.
    pub(crate) fn connect(
        host: &str,
        scope: Option<(String, String)>,
    ) -> Result<Self, EngineError> {
        let endpoint = Endpoint::parse(host);
        let api = bollard::Docker::connect_with_host(host)
            .map_err(|e| EngineError::from_bollard(e, &endpoint))?;
        Ok(Self {
            api,
            endpoint,
            scope,
            negotiated: Arc::new(AtomicBool::new(false)),
            requests: Arc::new(AtomicU64::new(0)),
            swarm_manager: Arc::new(AtomicBool::new(false)),
            image_ports: Arc::default(),
        })
    }

    pub(super) fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request by method and status code for `/metrics` (`ok`: the code of the
    /// endpoint's success answer).
    pub(super) fn record<T>(method: &str, ok: &str, result: &Result<T, bollard::errors::Error>) {
        let code = match result {
            Ok(_) => ok.to_owned(),
            Err(e) => status_of(e),
        };
        crate::edge::requests::DOCKER.add(method, &code);
    }

    /// Counts an answer for `/metrics` (see [`Self::record`]) and turns a failure into an
    /// [`EngineError`].
    pub(super) fn answered<T>(
        &self,
        method: &str,
        ok: &str,
        result: Result<T, bollard::errors::Error>,
    ) -> Result<T, EngineError> {
        Self::record(method, ok, &result);
        result.map_err(|e| self.error(e))
    }

    pub(super) fn error(&self, e: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(e, &self.endpoint)
    }

    /// Agrees on an API version with the engine once (older engines speak older versions). The
    /// version is shared by every clone of this client.
    pub(super) async fn negotiate(&self) -> Result<(), EngineError> {
        if self.negotiated.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.count();
        let api = self.api.clone().negotiate_version().await;
        Self::record("GET", "200", &api);
        let api = api.map_err(|e| self.error(e))?;
        tracing::debug!(api_version = %api.client_version(), "agreed Docker API version");
        self.negotiated.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn engine_time(&self) -> Result<Option<i64>, EngineError> {
        self.negotiate().await?;
        self.count();
        let info = self.api.info().await;
        Self::record("GET", "200", &info);
        let info = info.map_err(|e| self.error(e))?;
        Ok(info.system_time.as_deref().and_then(events::unix_nanos))
    }

    /// Every running container. The scope label is checked by the pass, not here: SWAG and
    /// authentik's server must be found whether or not they carry it.
    async fn list_running(&self) -> Result<Vec<Workload>, EngineError> {
        self.negotiate().await?;
        self.count();
        let options = ListContainersOptionsBuilder::new().all(false).build();
        let list = self.api.list_containers(Some(options)).await;
        Self::record("GET", "200", &list);
        let list = list.map_err(|e| self.error(e))?;
        Ok(list.into_iter().filter_map(container_info).collect())
    }

    fn events(&self, since: Option<i64>, live_from: Option<i64>) -> EventStream {
        self.count();
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([
            // `service` events only come from a swarm manager (`scope=swarm`).
            ("type", vec!["container", "network", "service"]),
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
                    "create",
                    "update",
                    "remove",
                ],
            ),
        ]);
        let scope = self.scope.clone();
        let endpoint = self.endpoint.clone();
        let mut options = EventsOptionsBuilder::new().filters(&filters);
        let since = since.map(|s| s.to_string());
        if let Some(since) = &since {
            options = options.since(since);
        }
        let options = options.build();
        // The subscription counts once, by how its first item came: an event (200) or an error.
        let mut counted = false;
        Box::pin(self.api.events(Some(options)).filter_map(move |item| {
            if !std::mem::replace(&mut counted, true) {
                Self::record("GET", "200", &item);
            }
            let event = item
                .map_err(|e| EngineError::from_bollard(e, &endpoint))
                .map(|e| events::from_bollard(e, live_from));
            let keep = match &event {
                Ok(ev) => events::in_scope(ev, scope.as_ref()),
                Err(_) => true,
            };
            futures_util::future::ready(keep.then_some(event))
        }))
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, EngineError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config: None,
        };
        let result = self.api.connect_network(network, request).await;
        Self::record("POST", "200", &result);
        match result {
            Ok(()) => Ok(NetworkChange::Done),
            Err(e) => match self.error(e) {
                // An engine that says so with a status code: already attached.
                EngineError::Api { status: 409, .. } => Ok(NetworkChange::AlreadyDone),
                // The engine answers 403 "endpoint with name … already exists in network …":
                // the same code as a socket proxy refusing the request, so only the text tells
                // the two apart.
                EngineError::Api {
                    status: 403,
                    message,
                } if message.contains("already exists") => Ok(NetworkChange::AlreadyDone),
                other => Err(other),
            },
        }
    }

    async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, EngineError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkDisconnectRequest {
            container: container.to_owned(),
            force: Some(false),
        };
        let result = self.api.disconnect_network(network, request).await;
        Self::record("POST", "200", &result);
        match result {
            Ok(()) => Ok(NetworkChange::Done),
            Err(e) => match self.error(e) {
                // The engine answers 500 "container … is not connected to network …": a
                // generic server error, no code of its own, so only the text says it.
                EngineError::Api { status, message }
                    if status >= 400 && message.contains("is not connected") =>
                {
                    Ok(NetworkChange::AlreadyDone)
                }
                other => Err(other),
            },
        }
    }

    async fn find_network(&self, name: &str) -> Result<Option<String>, EngineError> {
        self.negotiate().await?;
        self.count();
        let result = self.api.inspect_network(name, None).await;
        Self::record("GET", "200", &result);
        match result {
            Ok(n) => Ok(Some(n.id.unwrap_or_else(|| name.to_owned()))),
            Err(e) => match self.error(e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(String, bool), EngineError> {
        if let Some(id) = self.find_network(name).await? {
            return Ok((id, false));
        }
        self.count();
        // On a swarm manager, an attachable overlay: services join it in their stack file, a
        // standalone SWAG joins it too.
        let overlay = self.swarm_manager.load(Ordering::Relaxed);
        let request = bollard::models::NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some(if overlay { "overlay" } else { "bridge" }.into()),
            attachable: overlay.then_some(true),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let created = self.api.create_network(request).await;
        Self::record("POST", "201", &created);
        let created = created.map_err(|e| self.error(e))?;
        Ok((created.id, true))
    }

    async fn engine_version(&self) -> Result<EngineVersion, EngineError> {
        self.negotiate().await?;
        self.count();
        let v = self.api.version().await.map_err(|e| self.error(e))?;
        Ok(EngineVersion {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
        })
    }

    async fn inspect(
        &self,
        container: &str,
        wanted: &[&str],
    ) -> Result<Option<Inspected>, EngineError> {
        self.negotiate().await?;
        self.count();
        let answer = self.api.inspect_container(container, None).await;
        Self::record("GET", "200", &answer);
        let c = match answer {
            Ok(c) => c,
            Err(e) => match self.error(e) {
                e if e.is_not_found() => return Ok(None),
                e => return Err(e),
            },
        };
        let lines = c.config.and_then(|cfg| cfg.env).unwrap_or_default();
        let env = Inspected::pick_env(lines.iter().map(String::as_str), wanted);
        let addresses = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(net, ep)| {
                let ip = ep.ip_address.filter(|ip| !ip.is_empty())?;
                Some((net, ip))
            })
            .collect();
        Ok(Some(Inspected {
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned(),
            env,
            addresses,
        }))
    }
}

impl Engine for BollardEngine {
    fn host(&self) -> &str {
        crate::model::workload::LOCAL_HOST
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn engine_time(&self) -> EngineFuture<'_, Option<i64>> {
        Box::pin(BollardEngine::engine_time(self))
    }

    fn running_workloads(&self) -> EngineFuture<'_, Vec<Workload>> {
        Box::pin(self.list_running())
    }

    fn events(&self, since: Option<i64>, live_from: Option<i64>) -> EventStream {
        BollardEngine::events(self, since, live_from)
    }

    fn connect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange> {
        Box::pin(BollardEngine::connect_network(self, network, container))
    }

    fn disconnect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange> {
        Box::pin(BollardEngine::disconnect_network(self, network, container))
    }

    fn find_network<'a>(&'a self, name: &'a str) -> EngineFuture<'a, Option<String>> {
        Box::pin(BollardEngine::find_network(self, name))
    }

    fn ensure_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, (String, bool)> {
        Box::pin(BollardEngine::ensure_network(self, name, labels))
    }

    fn version(&self) -> EngineFuture<'_, EngineVersion> {
        Box::pin(self.engine_version())
    }

    fn inspect<'a>(
        &'a self,
        container: &'a str,
        wanted: &'a [&'a str],
    ) -> EngineFuture<'a, Option<Inspected>> {
        Box::pin(BollardEngine::inspect(self, container, wanted))
    }

    fn restart_container<'a>(&'a self, container: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(async move {
            self.negotiate().await?;
            self.count();
            self.answered(
                "POST",
                "204",
                self.api.restart_container(container, None).await,
            )
        })
    }

    fn containers_labelled<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> EngineFuture<'a, Vec<ListedContainer>> {
        Box::pin(BollardEngine::containers_labelled(self, key, value))
    }

    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> EngineFuture<'a, String> {
        Box::pin(BollardEngine::create_container(self, spec))
    }

    fn start_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(BollardEngine::start_container(self, id))
    }

    fn remove_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(BollardEngine::remove_container(self, id))
    }

    fn pull_image<'a>(&'a self, image: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(BollardEngine::pull_image(self, image))
    }

    fn put_file<'a>(
        &'a self,
        id: &'a str,
        dir: &'a str,
        name: &'a str,
        bytes: &'a [u8],
    ) -> EngineFuture<'a, ()> {
        Box::pin(BollardEngine::put_file(self, id, dir, name, bytes))
    }

    fn swarm_role(&self) -> EngineFuture<'_, SwarmRole> {
        Box::pin(BollardEngine::swarm_role(self))
    }

    fn services(&self) -> EngineFuture<'_, Vec<SwarmService>> {
        Box::pin(self.list_services())
    }

    fn tasks(&self) -> EngineFuture<'_, Vec<SwarmTask>> {
        Box::pin(self.list_tasks())
    }
}

fn container_info(c: bollard::models::ContainerSummary) -> Option<Workload> {
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
                    swarm_only: false,
                },
            )
        })
        .collect();
    Some(Workload {
        host: crate::model::workload::LOCAL_HOST.to_owned(),
        kind: crate::model::workload::WorkloadKind::Container,
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        exposed_tcp_ports: ports,
        networks,
    })
}

/// The status code of a request bollard got an answer to, else [`NO_ANSWER`].
///
/// [`NO_ANSWER`]: crate::edge::requests::NO_ANSWER
fn status_of(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => {
            status_code.to_string()
        }
        _ => crate::edge::requests::NO_ANSWER.to_owned(),
    }
}
