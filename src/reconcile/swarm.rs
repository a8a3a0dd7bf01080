//! The Swarm step of a pass: on a manager, the live services become workloads beside the
//! containers. Whether to list them is decided once, on the first pass (`GATEHOUSE_SWARM` and the
//! engine's `/info`); a worker node, or a socket proxy that refuses the Swarm endpoints, gets one
//! clear error with the fix, and gatehouse carries on with containers only.

use super::{ReconcileError, Reconciler};
use crate::config::SwarmSetting;
use crate::edge::docker::EngineError;
use crate::model::swarm::SwarmRole;
use crate::model::workload::Workload;

/// What the Swarm step does on this engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum SwarmListing {
    /// Not decided yet (no pass has run).
    #[default]
    Undecided,
    /// A manager: services are listed on every pass.
    Services,
    /// Containers only (swarm off, not a manager, or the Swarm endpoints refused).
    ContainersOnly,
}

/// The socket-proxy permissions gatehouse needs in swarm mode, as the fix says them.
pub(crate) const PROXY_FIX: &str = "allow SERVICES=1, TASKS=1, NODES=1 and NETWORKS=1 on the Docker socket proxy (GET only; POST=1 only for NETWORKS if gatehouse attaches SWAG)";

/// Placement that keeps gatehouse on a manager, as the fix says it.
const MANAGER_FIX: &str = "run gatehouse on a manager node (in the stack file: deploy.placement.constraints: [node.role == manager])";

impl Reconciler {
    /// The live Swarm services as workloads (none unless the engine is a manager and
    /// `GATEHOUSE_SWARM` is not `off`).
    pub(super) async fn swarm_workloads(&mut self) -> Result<Vec<Workload>, ReconcileError> {
        if self.swarm == SwarmListing::Undecided {
            self.swarm = self.decide_swarm().await?;
        }
        if self.swarm != SwarmListing::Services {
            return Ok(Vec::new());
        }
        let engine = self.ctx.engines.local().clone();
        match tokio::try_join!(engine.services(), engine.tasks()) {
            Ok((services, tasks)) => {
                let prefix = &self.ctx.settings.labels.prefix;
                self.swarm_watch = crate::plan::swarm::labelled_services(&services, prefix);
                Ok(crate::plan::swarm::service_workloads(
                    &services,
                    &tasks,
                    engine.host(),
                ))
            }
            Err(e) if refused(&e) => {
                tracing::error!(
                    error = %e,
                    "cannot list Swarm services or tasks: the engine refuses (a socket proxy without SERVICES, TASKS or NETWORKS, or not a manager); fix: {PROXY_FIX}, and {MANAGER_FIX}; carrying on with containers only"
                );
                self.swarm = SwarmListing::ContainersOnly;
                Ok(Vec::new())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether this engine's services are listed, from `GATEHOUSE_SWARM` and `/info`.
    async fn decide_swarm(&self) -> Result<SwarmListing, ReconcileError> {
        let setting = self.ctx.settings.swarm;
        if setting == SwarmSetting::Off {
            return Ok(SwarmListing::ContainersOnly);
        }
        let forced = setting == SwarmSetting::On;
        let role = match self.ctx.engines.local().swarm_role().await {
            Ok(role) => role,
            Err(e) if refused(&e) => {
                if forced {
                    tracing::error!(error = %e, "GATEHOUSE_SWARM=on, but the engine refuses /info, so the Swarm role is unknown; fix: allow INFO=1 on the Docker socket proxy; carrying on with containers only");
                }
                return Ok(SwarmListing::ContainersOnly);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(match role {
            SwarmRole::Manager => {
                tracing::info!("the Docker engine is a Swarm manager: labelled services are published besides containers (GATEHOUSE_SWARM=off to stop)");
                SwarmListing::Services
            }
            SwarmRole::Worker => {
                tracing::error!("the Docker engine is a Swarm worker node: a worker cannot list services, so none is published from here; fix: {MANAGER_FIX}; carrying on with containers only");
                SwarmListing::ContainersOnly
            }
            SwarmRole::Unready(state) => {
                tracing::error!(state = %state, "the Docker engine's swarm is not ready ({state}): no service is published until gatehouse restarts with the swarm active; carrying on with containers only");
                SwarmListing::ContainersOnly
            }
            SwarmRole::Off => {
                if forced {
                    tracing::error!("GATEHOUSE_SWARM=on, but the Docker engine is not in a swarm: fix: run gatehouse against a swarm manager, or set GATEHOUSE_SWARM=auto; carrying on with containers only");
                } else {
                    tracing::debug!("the Docker engine is not in a swarm: containers only");
                }
                SwarmListing::ContainersOnly
            }
        })
    }
}

/// The engine (or a proxy) refuses the request for good: a permission, a path the proxy does
/// not know, or a worker answering that it is not a manager (a 503 that retrying never fixes).
fn refused(e: &EngineError) -> bool {
    match e {
        EngineError::Api { status, message } => {
            matches!(status, 401 | 403 | 404 | 405 | 501) || message.contains("not a swarm manager")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
