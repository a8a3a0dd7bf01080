//! Docker Swarm as gatehouse observes it: the engine's role in a swarm, its services and their
//! tasks, as plain data. `edge::docker` fills these in; `plan::swarm` turns the live services
//! into [`crate::model::workload::Workload`]s of kind `Service`.

use std::collections::BTreeMap;

/// What `/info` says of the engine's place in a swarm (`Swarm.LocalNodeState`,
/// `Swarm.ControlAvailable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmRole {
    /// Not in a swarm (`inactive`, or the engine does not say).
    Off,
    /// A manager: services and tasks can be listed.
    Manager,
    /// A worker: it runs tasks but cannot list services.
    Worker,
    /// Joining, locked or in error (`pending`, `locked`, `error`), with the engine's state and
    /// error text.
    Unready(String),
}

/// One overlay (or other) network a service's tasks are attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNetwork {
    pub name: String,
    pub id: String,
    /// Standalone containers (SWAG run with `docker run` or compose) may join it.
    pub attachable: bool,
}

/// A Swarm service, from its spec and status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    pub image: String,
    /// The service's own labels (`deploy.labels` in a stack file), not its containers'.
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<ServiceNetwork>,
    /// Target ports the service publishes or its image exposes, when the engine says.
    pub ports: Vec<u16>,
    /// A rolling update (or its rollback) is under way.
    pub updating: bool,
}

/// One task of a service, as the task list reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmTask {
    pub service_id: String,
    /// The task's state (`running`, `failed`, `pending`, …).
    pub state: String,
    /// The node it runs on.
    pub node_id: String,
}

impl SwarmTask {
    pub(crate) fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// The label Docker puts on a task's container: the service it belongs to.
pub(crate) const TASK_SERVICE_LABEL: &str = "com.docker.swarm.service.name";

/// The label `docker stack deploy` puts on a service: the stack's name.
pub(crate) const STACK_LABEL: &str = "com.docker.stack.namespace";
