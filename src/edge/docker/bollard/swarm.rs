//! The Swarm requests of [`BollardEngine`]: the engine's role (`/info`), the services with their
//! networks (`/services`, `/networks`) and the tasks (`/tasks`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use bollard::models::{LocalNodeState, ServiceUpdateStatusStateEnum};
use bollard::query_parameters::{
    ListNetworksOptions, ListServicesOptions, ListTasksOptionsBuilder,
};

use super::BollardEngine;
use crate::edge::docker::EngineError;
use crate::model::swarm::{ServiceNetwork, SwarmRole, SwarmService, SwarmTask};

impl BollardEngine {
    /// The engine's place in a swarm, from `/info`. A manager's shared network is then created
    /// as an attachable overlay (see `ensure_network`).
    pub(super) async fn swarm_role(&self) -> Result<SwarmRole, EngineError> {
        self.negotiate().await?;
        self.count();
        let info = self.answered("GET", "200", self.api.info().await)?;
        let role = role_of(info.swarm.unwrap_or_default());
        self.swarm_manager
            .store(role == SwarmRole::Manager, Ordering::Relaxed);
        Ok(role)
    }

    /// Every service, with the networks its tasks join resolved to names (two requests).
    pub(super) async fn list_services(&self) -> Result<Vec<SwarmService>, EngineError> {
        self.negotiate().await?;
        self.count();
        let services = self.answered(
            "GET",
            "200",
            self.api.list_services(None::<ListServicesOptions>).await,
        )?;
        self.count();
        let networks = self.answered(
            "GET",
            "200",
            self.api.list_networks(None::<ListNetworksOptions>).await,
        )?;
        let by_id: HashMap<String, ServiceNetwork> = networks
            .into_iter()
            .filter_map(|n| {
                let net = ServiceNetwork {
                    name: n.name?,
                    id: n.id?,
                    attachable: n.attachable.unwrap_or(false),
                };
                Some((net.id.clone(), net))
            })
            .collect();
        let mut services: Vec<(SwarmService, String)> = services
            .into_iter()
            .filter_map(|s| service_of(s, &by_id))
            .collect();
        // A service's spec does not say which ports its image exposes: ask the image, once per
        // image reference for the life of the client (a container's listing says it directly).
        for (service, image_ref) in &mut services {
            if service.ports.is_empty() {
                service.ports = self.image_ports(image_ref).await?;
            }
        }
        Ok(services.into_iter().map(|(s, _)| s).collect())
    }

    /// The TCP ports `image` exposes (none when the image is not on this node), remembered.
    async fn image_ports(&self, image: &str) -> Result<Vec<u16>, EngineError> {
        if image.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(known) = self
            .image_ports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(image)
        {
            return Ok(known.clone());
        }
        self.count();
        let answer = self.api.inspect_image(image).await;
        Self::record("GET", "200", &answer);
        let ports = match answer {
            Ok(i) => exposed_tcp(i.config.and_then(|c| c.exposed_ports).unwrap_or_default()),
            Err(e) => match self.error(e) {
                e if e.is_not_found() => Vec::new(),
                e => return Err(e),
            },
        };
        self.image_ports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(image.to_owned(), ports.clone());
        Ok(ports)
    }

    /// The tasks the orchestrator wants running (one request; failed and shut-down history
    /// is left out by the `desired-state` filter).
    pub(super) async fn list_tasks(&self) -> Result<Vec<SwarmTask>, EngineError> {
        self.negotiate().await?;
        self.count();
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("desired-state", vec!["running"])]);
        let options = ListTasksOptionsBuilder::new().filters(&filters).build();
        let tasks = self.answered("GET", "200", self.api.list_tasks(Some(options)).await)?;
        Ok(tasks
            .into_iter()
            .filter_map(|t| {
                Some(SwarmTask {
                    service_id: t.service_id?,
                    state: t
                        .status
                        .and_then(|s| s.state)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    node_id: t.node_id.unwrap_or_default(),
                })
            })
            .collect())
    }
}

fn role_of(swarm: bollard::models::SwarmInfo) -> SwarmRole {
    match swarm.local_node_state {
        Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => SwarmRole::Manager,
        Some(LocalNodeState::ACTIVE) => SwarmRole::Worker,
        Some(s @ (LocalNodeState::PENDING | LocalNodeState::LOCKED | LocalNodeState::ERROR)) => {
            let error = swarm.error.unwrap_or_default();
            SwarmRole::Unready(if error.is_empty() {
                s.to_string()
            } else {
                format!("{s}: {error}")
            })
        }
        _ => SwarmRole::Off,
    }
}

/// `8080/tcp`, `53/udp`, `9000` → the TCP ports, sorted, without duplicates.
fn exposed_tcp(exposed: Vec<String>) -> Vec<u16> {
    let mut ports: Vec<u16> = exposed
        .iter()
        .filter_map(|p| match p.split_once('/') {
            Some((n, "tcp")) | Some((n, "")) => n.parse().ok(),
            Some(_) => None,
            None => p.parse().ok(),
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The service, and its image reference as the spec gives it (with the digest, for the image
/// lookup).
fn service_of(
    s: bollard::models::Service,
    networks: &HashMap<String, ServiceNetwork>,
) -> Option<(SwarmService, String)> {
    let spec = s.spec?;
    let task = spec.task_template.unwrap_or_default();
    // Older stack files put the networks on the service spec; the task template is current.
    let attached = task.networks.or(spec.networks).unwrap_or_default();
    let networks = attached
        .into_iter()
        .filter_map(|a| {
            let target = a.target?;
            Some(
                networks
                    .get(&target)
                    .or_else(|| networks.values().find(|n| n.name == target))
                    .cloned()
                    .unwrap_or(ServiceNetwork {
                        name: target.clone(),
                        id: target,
                        attachable: false,
                    }),
            )
        })
        .collect();
    let mut ports: Vec<u16> = s
        .endpoint
        .and_then(|e| e.ports)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            !matches!(
                p.protocol,
                Some(bollard::models::EndpointPortConfigProtocolEnum::UDP)
                    | Some(bollard::models::EndpointPortConfigProtocolEnum::SCTP)
            )
        })
        .filter_map(|p| p.target_port.and_then(|t| u16::try_from(t).ok()))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let updating = s.update_status.and_then(|u| u.state).is_some_and(|st| {
        matches!(
            st,
            ServiceUpdateStatusStateEnum::UPDATING | ServiceUpdateStatusStateEnum::ROLLBACK_STARTED
        )
    });
    let image = task
        .container_spec
        .and_then(|c| c.image)
        .unwrap_or_default();
    let service = SwarmService {
        id: s.id?,
        name: spec.name?,
        // A digest pinned by `docker service create` is noise in a log line.
        image: image.split('@').next().unwrap_or_default().to_owned(),
        labels: spec
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        networks,
        ports,
        updating,
    };
    Some((service, image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_ports_are_the_tcp_ones() {
        let given = [
            "8080/tcp", "53/udp", "9000", "8080/tcp", "x/tcp", "443/sctp",
        ];
        assert_eq!(
            exposed_tcp(given.iter().map(|p| (*p).to_owned()).collect()),
            [8080, 9000]
        );
    }

    #[test]
    fn the_role_follows_the_node_state_and_control() {
        let info = |state, control| bollard::models::SwarmInfo {
            local_node_state: Some(state),
            control_available: Some(control),
            ..Default::default()
        };
        assert_eq!(
            role_of(info(LocalNodeState::ACTIVE, true)),
            SwarmRole::Manager
        );
        assert_eq!(
            role_of(info(LocalNodeState::ACTIVE, false)),
            SwarmRole::Worker
        );
        assert_eq!(
            role_of(info(LocalNodeState::INACTIVE, false)),
            SwarmRole::Off
        );
        assert_eq!(role_of(Default::default()), SwarmRole::Off);
        assert_eq!(
            role_of(info(LocalNodeState::LOCKED, true)),
            SwarmRole::Unready("locked".into())
        );
    }
}
