//! The network planner: for each target, the networks SWAG (or, in shared mode, the app) must
//! join; then which of gatehouse's own attachments are no longer needed; then what to connect.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::{
    user_networks, Joined, NetAction, NetPlan, NetRejection, NetworkMode, Remembered, Target,
    TargetKind,
};
use crate::model::workload::{Workload, WorkloadKind};

/// Plans the attachments. `running` holds every running container (to tell a stopped one from a
/// live one); `swag` is SWAG's; `targets` what SWAG must reach.
pub fn plan(
    swag: &Workload,
    targets: &[Target<'_>],
    running: &[Workload],
    remembered: &Remembered,
    mode: &NetworkMode,
) -> NetPlan {
    let mut p = Planner::new(swag, running, remembered, mode);
    for t in targets {
        p.plan_target(t);
    }
    if let NetworkMode::Shared(shared) = mode {
        if swag.kind == WorkloadKind::Service {
            // Never attached: that would be an update of SWAG's service, restarting SWAG.
            if !swag.networks.contains_key(shared) {
                p.out.warnings.push((
                    swag.name.clone(),
                    format!("(SWAG, a Swarm service) is not on the shared network {shared}: add it to SWAG's networks in its stack file; gatehouse never updates SWAG's service"),
                ));
            }
        } else {
            // SWAG is on the shared network whenever gatehouse manages networks in shared mode.
            let join = p.swag_joins(shared, &p.shared_id(shared));
            p.need(join, "GATEHOUSE_NETWORK_MODE=shared");
        }
    }
    let keep = p.undo_unneeded(remembered);
    p.connect_missing(&keep);
    p.out
        .rejections
        .sort_by(|a, b| a.container.cmp(&b.container));
    p.out
}

/// Key of a needed join: (container id, network id), or (container id, `name:<network>`) for a
/// network known by name only.
type NeedKey = (String, String);

struct Planner<'a> {
    swag: &'a Workload,
    running: &'a [Workload],
    mode: &'a NetworkMode,
    by_id: BTreeMap<&'a str, &'a Workload>,
    /// (container id, network id) of every attachment gatehouse made.
    ours: BTreeSet<(&'a str, &'a str)>,
    /// Networks SWAG is on that gatehouse did not put it on.
    swag_users_own: BTreeMap<String, String>,
    /// Every user-defined network SWAG is on now (name → id).
    swag_now: BTreeMap<&'a str, &'a str>,
    /// What must be attached, and who needs it.
    needed: BTreeMap<NeedKey, (Joined, Vec<String>)>,
    out: NetPlan,
}

impl<'a> Planner<'a> {
    fn new(
        swag: &'a Workload,
        running: &'a [Workload],
        remembered: &'a Remembered,
        mode: &'a NetworkMode,
    ) -> Self {
        let mut p = Self {
            swag,
            running,
            mode,
            by_id: running.iter().map(|c| (c.id.as_str(), c)).collect(),
            ours: remembered
                .joined
                .iter()
                .chain(remembered.requested.iter().map(|r| &r.join))
                .map(|j| (j.container_id.as_str(), j.network_id.as_str()))
                .collect(),
            swag_users_own: BTreeMap::new(),
            swag_now: user_networks(swag),
            needed: BTreeMap::new(),
            out: NetPlan::default(),
        };
        p.swag_users_own = p.users_own(swag);
        p
    }

    /// Networks a container is on that gatehouse did not put it on.
    fn users_own(&self, c: &Workload) -> BTreeMap<String, String> {
        user_networks(c)
            .into_iter()
            .filter(|(_, id)| !self.ours.contains(&(c.id.as_str(), id)))
            .map(|(n, id)| (n.to_owned(), id.to_owned()))
            .collect()
    }

    fn need(&mut self, join: Joined, by: &str) {
        let key = if join.network_id.is_empty() {
            (join.container_id.clone(), format!("name:{}", join.network))
        } else {
            (join.container_id.clone(), join.network_id.clone())
        };
        let entry = self.needed.entry(key).or_insert_with(|| (join, Vec::new()));
        if !entry.1.iter().any(|b| b == by) {
            entry.1.push(by.to_owned());
        }
    }

    fn swag_joins(&self, network: &str, network_id: &str) -> Joined {
        Joined {
            container_id: self.swag.id.clone(),
            container: self.swag.name.clone(),
            network_id: network_id.to_owned(),
            network: network.to_owned(),
        }
    }

    /// The shared network's id, if any container is on it yet.
    fn shared_id(&self, name: &str) -> String {
        std::iter::once(self.swag)
            .chain(self.running.iter())
            .find_map(|c| c.networks.get(name).map(|a| a.network_id.clone()))
            .unwrap_or_default()
    }

    fn reject(&mut self, report: bool, c: &Workload, reason: String) {
        if report {
            self.out.rejections.push(NetRejection {
                container: c.name.clone(),
                reason,
            });
        }
    }

    /// What one target needs attached, or why it cannot be reached.
    fn plan_target(&mut self, t: &Target<'_>) {
        let c = t.container;
        if c.id == self.swag.id || !reached_through_its_networks(t) {
            return;
        }
        let mine = self.users_own(c);
        let reachable = mine
            .values()
            .any(|id| self.swag_users_own.values().any(|s| s == id));
        if reachable {
            return;
        }
        let no_network_of_its_own =
            c.networks.is_empty() || c.networks.keys().all(|n| n == "host" || n == "none");
        if no_network_of_its_own {
            self.out.warnings.push((
                c.name.clone(),
                "has no network of its own (network_mode host, none or container:…): gatehouse does not attach SWAG for it; make sure SWAG can reach its address".into(),
            ));
            return;
        }
        if let NetworkMode::Shared(shared) = self.mode {
            let report = matches!(t.kind, TargetKind::App { report: true, .. });
            self.join_shared(c, shared, report);
            return;
        }
        match &t.kind {
            TargetKind::App {
                network_label: Some(value),
                label_key,
                report,
                ..
            } => self.follow_label(c, label_key, value, *report),
            _ => self.by_its_networks(t),
        }
    }

    /// Shared mode: SWAG and the app both join the shared network. A Swarm service cannot be
    /// attached by gatehouse (that is a change to its spec): it must be on the network already.
    fn join_shared(&mut self, c: &Workload, shared: &str, report: bool) {
        if c.kind == WorkloadKind::Service {
            match c.networks.get(shared) {
                Some(a) => {
                    let id = a.network_id.clone();
                    self.swag_needs(c, shared, &id, report);
                }
                None => {
                    let reason = format!(
                        "Swarm service {0} is not on the shared network {shared}: add it to the service's networks in the stack file (networks: [{shared}], declared external: true); gatehouse never changes a service's spec (that would restart its tasks)",
                        c.name
                    );
                    self.reject(report, c, reason);
                }
            }
            return;
        }
        let id = self.shared_id(shared);
        self.need(self.swag_joins(shared, &id), &c.name);
        let join = Joined {
            container_id: c.id.clone(),
            container: c.name.clone(),
            network_id: id,
            network: shared.to_owned(),
        };
        self.need(join, &c.name);
    }

    /// The app names the network SWAG joins with its network label.
    fn follow_label(&mut self, c: &Workload, key: &str, value: &str, report: bool) {
        let value = match crate::labels::network::parse(&c.name, key, value) {
            Ok(value) => value,
            Err(reason) => return self.reject(report, c, reason),
        };
        let theirs = user_networks(c);
        match theirs.get(value) {
            Some(id) => self.swag_needs(c, value, id, report),
            None => {
                let on = if theirs.is_empty() {
                    "only the default bridge".to_owned()
                } else {
                    list(&theirs)
                };
                let reason = format!(
                    "container {}: label {key}={value} names a network the container is not on (it is on: {on}); set it to one of those",
                    c.name
                );
                self.reject(report, c, reason);
            }
        }
    }

    /// No label: the app's only network; authentik's every network; of several, one SWAG was
    /// attached to for it before.
    fn by_its_networks(&mut self, t: &Target<'_>) {
        let c = t.container;
        let theirs = user_networks(c);
        let (report, key) = match &t.kind {
            TargetKind::App {
                report, label_key, ..
            } => (*report, label_key.as_str()),
            TargetKind::Authentik => (false, ""),
        };
        match theirs.len() {
            0 => self.only_on_the_bridge(t, report),
            1 => {
                if let Some((n, id)) = theirs.iter().next() {
                    self.swag_needs(c, n, id, report);
                }
            }
            _ if t.kind == TargetKind::Authentik => {
                for (n, id) in &theirs {
                    self.need(self.swag_joins(n, id), &c.name);
                }
            }
            _ => {
                // Keep what already works: a network gatehouse attached SWAG to for it earlier
                // (or for another app) still serves.
                let kept: Vec<(&str, &str)> = theirs
                    .iter()
                    .filter(|(_, id)| {
                        self.ours.contains(&(self.swag.id.as_str(), **id))
                            && self.swag_now.values().any(|s| s == *id)
                    })
                    .map(|(n, id)| (*n, *id))
                    .collect();
                if kept.is_empty() {
                    let reason = format!(
                        "container {} is on several networks ({}) and SWAG shares none of them: set label {key} to the one SWAG should join",
                        c.name,
                        list(&theirs)
                    );
                    self.reject(report, c, reason);
                }
                for (n, id) in kept {
                    self.swag_needs(c, n, id, report);
                }
            }
        }
    }

    /// SWAG must join `network` (id `id`) to reach `c`: needed, unless a standalone container
    /// may not join it (a swarm overlay made without `attachable: true`) or SWAG is itself a
    /// Swarm service (gatehouse never updates SWAG's spec: that would restart SWAG). Either way
    /// the app is rejected with what to do.
    fn swag_needs(&mut self, c: &Workload, network: &str, id: &str, report: bool) {
        let swarm_only = c.networks.get(network).is_some_and(|a| a.swarm_only);
        if self.swag.kind == WorkloadKind::Service {
            let reason = format!(
                "SWAG runs as Swarm service {0}, which is not on network {network} of {1}: add {network} to {0}'s networks in its stack file{2}; gatehouse never updates SWAG's service (that would restart SWAG)",
                self.swag.name,
                c.name,
                if swarm_only {
                    ""
                } else {
                    " (or run SWAG as a standalone container on a manager, which gatehouse attaches)"
                }
            );
            return self.reject(report, c, reason);
        }
        if swarm_only {
            let reason = format!(
                "Swarm service {0} is on overlay network {network}, which standalone containers such as SWAG cannot join: recreate it with attachable: true (in the stack file: networks: {network}: driver: overlay, attachable: true; or docker network create --driver overlay --attachable {network}), or set GATEHOUSE_NETWORK_MODE=shared and put the service on gatehouse's attachable overlay network",
                c.name
            );
            return self.reject(report, c, reason);
        }
        self.need(self.swag_joins(network, id), &c.name);
    }

    fn only_on_the_bridge(&mut self, t: &Target<'_>, report: bool) {
        let c = t.container;
        if report {
            let reason = format!(
                "container {0} is only on Docker's default bridge network, where SWAG cannot reach it by name: put it on a network of its own (in compose, drop `network_mode: bridge`; with docker run, `docker network create {0}-net` and `docker network connect {0}-net {0}`), or set GATEHOUSE_NETWORK_MODE=shared",
                c.name
            );
            self.reject(true, c, reason);
        } else if t.kind == TargetKind::Authentik {
            self.out.warnings.push((
                c.name.clone(),
                "(authentik container) is only on Docker's default bridge network, where SWAG cannot reach it by name; put it on a network of its own".into(),
            ));
        }
    }

    /// Gatehouse's own attachments: undo those no longer needed (or whose container stopped),
    /// forget those someone else undid; confirm the requested ones the listing shows, and leave
    /// the others to be confirmed absent. Returns the needed ones that already exist.
    fn undo_unneeded(&mut self, remembered: &Remembered) -> BTreeSet<NeedKey> {
        let mut keep = BTreeSet::new();
        for j in &remembered.joined {
            if !self.by_id.contains_key(j.container_id.as_str()) {
                // Stopped or removed: undo it, so the network is free (a 404 means it went with
                // the container).
                self.out.actions.push(NetAction::Disconnect {
                    join: j.clone(),
                    why: format!("container {} is not running", j.container),
                });
            } else if self.attached(j) {
                self.keep_or_undo(j, &mut keep);
            } else {
                self.out.forget.push(j.clone());
            }
        }
        for r in &remembered.requested {
            let j = &r.join;
            let running = self.by_id.contains_key(j.container_id.as_str());
            if running && self.attached(j) {
                self.out.requests.confirm.push(j.clone());
                self.keep_or_undo(j, &mut keep);
            } else if !(running && self.is_needed(j)) {
                // Not shown yet is not absent: a request in flight may still attach it.
                self.out.requests.unsettled.push(r.clone());
            }
            // Needed and not shown: connected again below, and the answer confirms it.
        }
        keep
    }

    /// Whether the listing shows `j`'s container on `j`'s network.
    fn attached(&self, j: &Joined) -> bool {
        self.by_id
            .get(j.container_id.as_str())
            .is_some_and(|c| c.networks.values().any(|a| a.network_id == j.network_id))
    }

    fn is_needed(&self, j: &Joined) -> bool {
        let key = (j.container_id.clone(), j.network_id.clone());
        let by_name = (j.container_id.clone(), format!("name:{}", j.network));
        self.needed.contains_key(&key) || self.needed.contains_key(&by_name)
    }

    /// An existing attachment of gatehouse's: kept when needed, else undone.
    fn keep_or_undo(&mut self, j: &Joined, keep: &mut BTreeSet<NeedKey>) {
        if self.is_needed(j) {
            keep.insert((j.container_id.clone(), j.network_id.clone()));
            keep.insert((j.container_id.clone(), format!("name:{}", j.network)));
        } else {
            self.out.actions.push(NetAction::Disconnect {
                join: j.clone(),
                why: "no running published app needs it any more".into(),
            });
        }
    }

    /// Connects what is needed and missing: SWAG before the apps, so the shared network exists
    /// (created once) by then.
    fn connect_missing(&mut self, keep: &BTreeSet<NeedKey>) {
        let swag = self.swag;
        let mut connects: Vec<NetAction> = Vec::new();
        for (key, (join, by)) in std::mem::take(&mut self.needed) {
            if keep.contains(&key) {
                continue;
            }
            let Some(c) = self
                .by_id
                .get(join.container_id.as_str())
                .copied()
                .or((join.container_id == swag.id).then_some(swag))
            else {
                continue;
            };
            let on_it = c.networks.iter().any(|(n, a)| {
                if join.network_id.is_empty() {
                    *n == join.network
                } else {
                    a.network_id == join.network_id
                }
            });
            if !on_it {
                connects.push(NetAction::Connect {
                    join,
                    needed_by: by,
                });
            }
        }
        connects.sort_by_key(|a| match a {
            NetAction::Connect { join, .. } => (join.container_id != swag.id, join.clone()),
            NetAction::Disconnect { join, .. } => (true, join.clone()),
        });
        self.out.actions.extend(connects);
    }
}

/// Whether SWAG reaches the target through the target's own networks. An upstream given as an
/// IP address needs no name resolution, and one naming something other than this container (a
/// host on the LAN, another container) is not reached through this container's networks:
/// nothing to attach, nothing to reject.
fn reached_through_its_networks(t: &Target<'_>) -> bool {
    let TargetKind::App { address, .. } = &t.kind else {
        return true;
    };
    let c = t.container;
    let names_this_container = address == &c.name
        || (c.kind == WorkloadKind::Service && *address == format!("tasks.{}", c.name))
        || c.labels.get("com.docker.compose.service") == Some(address)
        || (address.len() >= 12 && c.id.starts_with(address.as_str()));
    address.parse::<IpAddr>().is_err() && names_this_container
}

fn list(m: &BTreeMap<&str, &str>) -> String {
    m.keys().copied().collect::<Vec<_>>().join(", ")
}
