//! Containers gatehouse runs itself (a remote host's authentik outpost): what it asks the engine
//! to create, and what the engine lists of them (plain data).

use std::collections::BTreeMap;

/// A container to create. The environment may hold a secret: its `Debug` shows only the names.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    /// `repository:tag`.
    pub image: String,
    /// `NAME=value`.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// The network it is created on, reachable there by its name.
    pub network: String,
    /// Docker's restart policy name (`unless-stopped`).
    pub restart: &'static str,
}

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self
            .env
            .iter()
            .map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k))
            .collect();
        f.debug_struct("ContainerSpec")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("env", &env)
            .field("labels", &self.labels)
            .field("network", &self.network)
            .field("restart", &self.restart)
            .finish()
    }
}

/// A container as the engine lists it (any state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedContainer {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `exited`, …
    pub state: String,
    /// Docker's status line (`Up 3 minutes (healthy)`).
    pub status: String,
    /// IP address by network name.
    pub ips: BTreeMap<String, String>,
}
