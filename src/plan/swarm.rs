//! Swarm services as workloads (pure): which services are live, and what becomes of the labels
//! users put on a service's containers instead of the service.
//!
//! A service is live while at least one of its tasks runs, or while a rolling update (or its
//! rollback) is under way: an update replaces tasks one by one and must never take the conf
//! away. A service scaled to 0, or whose every task is failing, is not live: like a stopped
//! container, its conf is kept for the grace period ([`crate::plan::grace`]) and then removed.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::swarm::{SwarmService, SwarmTask, TASK_SERVICE_LABEL};
use crate::model::workload::{NetworkAttachment, Workload, WorkloadKind};

/// The live services, as workloads of kind `Service` on `host`: the service's name (the
/// upstream SWAG reaches over the overlay network), its spec's labels, its networks.
pub fn service_workloads(
    services: &[SwarmService],
    tasks: &[SwarmTask],
    host: &str,
) -> Vec<Workload> {
    let running: BTreeSet<&str> = tasks
        .iter()
        .filter(|t| t.is_running())
        .map(|t| t.service_id.as_str())
        .collect();
    services
        .iter()
        .filter(|s| s.updating || running.contains(s.id.as_str()))
        .map(|s| Workload {
            host: host.to_owned(),
            kind: WorkloadKind::Service,
            id: s.id.clone(),
            name: s.name.clone(),
            image: s.image.clone(),
            labels: s.labels.clone(),
            exposed_tcp_ports: s.ports.clone(),
            networks: s
                .networks
                .iter()
                .map(|n| {
                    let attachment = NetworkAttachment {
                        network_id: n.id.clone(),
                        swarm_only: !n.attachable,
                    };
                    (n.name.clone(), attachment)
                })
                .collect(),
        })
        .collect()
}

/// Whether a label is one gatehouse reads (its prefix's, or swag-auto-proxy's).
pub(crate) fn is_ours(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('.'))
        || key == "swag"
        || key.starts_with("swag_")
}

/// The services carrying any of gatehouse's labels, live or not: their tasks' container
/// events wake the loop (a task starting is when a service becomes live on this node).
pub fn labelled_services(services: &[SwarmService], prefix: &str) -> Vec<String> {
    services
        .iter()
        .filter(|s| s.labels.keys().any(|k| is_ours(k, prefix)))
        .map(|s| s.name.clone())
        .collect()
}

/// Takes gatehouse's labels off the containers of Swarm tasks: a service is published from its
/// own labels, never from its containers' (each replica would otherwise be published as an app
/// of its own). Returns one warning per service whose containers carried them, by the first
/// such container's name: `(container, text)`.
pub fn ignore_task_labels(workloads: &mut [Workload], prefix: &str) -> Vec<(String, String)> {
    let mut found: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for w in workloads
        .iter_mut()
        .filter(|w| w.kind == WorkloadKind::Container)
    {
        let Some(service) = w.labels.get(TASK_SERVICE_LABEL).cloned() else {
            continue;
        };
        let ours: Vec<String> = w
            .labels
            .keys()
            .filter(|k| is_ours(k, prefix))
            .cloned()
            .collect();
        if ours.is_empty() {
            continue;
        }
        for k in &ours {
            w.labels.remove(k);
        }
        let entry = found
            .entry(service)
            .or_insert_with(|| (w.name.clone(), BTreeSet::new()));
        entry.1.extend(ours);
    }
    found
        .into_iter()
        .map(|(service, (container, labels))| {
            let labels: Vec<String> = labels.into_iter().collect();
            (
                container,
                format!(
                    "is a task of Swarm service {service}: its container labels ({}) are ignored, a service is published from the service's own labels; move them under deploy.labels in the stack file (not the service's labels:), or run docker service update --label-add on {service}",
                    labels.join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::swarm::ServiceNetwork;

    fn service(id: &str, updating: bool) -> SwarmService {
        SwarmService {
            id: id.into(),
            name: format!("svc-{id}"),
            labels: BTreeMap::from([("auth.protect".into(), "true".into())]),
            networks: vec![ServiceNetwork {
                name: "backend".into(),
                id: "net-1".into(),
                attachable: false,
            }],
            updating,
            ..SwarmService::default()
        }
    }

    fn task(service: &str, state: &str) -> SwarmTask {
        SwarmTask {
            service_id: service.into(),
            state: state.into(),
            node_id: "n".into(),
        }
    }

    #[test]
    fn a_service_is_live_while_a_task_runs_or_an_update_is_under_way() {
        let services = [service("a", false), service("b", false), service("c", true)];
        let tasks = [
            task("a", "running"),
            task("a", "failed"),
            task("b", "failed"),
            task("b", "pending"),
        ];
        let live = service_workloads(&services, &tasks, "local");
        let names: Vec<&str> = live.iter().map(|w| w.name.as_str()).collect();
        // b: every task failing or not started yet; c: a rolling update with no task running.
        assert_eq!(names, ["svc-a", "svc-c"]);
        assert_eq!(live[0].kind, WorkloadKind::Service);
        assert_eq!(
            live[0].labels.get("auth.protect").map(String::as_str),
            Some("true")
        );
        assert!(live[0].networks["backend"].swarm_only);
    }

    #[test]
    fn labels_on_a_task_container_are_dropped_with_one_warning_naming_the_service() {
        let task_container = |name: &str| Workload {
            name: name.into(),
            labels: BTreeMap::from([
                (TASK_SERVICE_LABEL.into(), "web".into()),
                ("auth.protect".into(), "true".into()),
                ("swag".into(), "enable".into()),
                ("other".into(), "kept".into()),
            ]),
            ..Workload::default()
        };
        let plain = Workload {
            name: "plain".into(),
            labels: BTreeMap::from([("auth.protect".into(), "true".into())]),
            ..Workload::default()
        };
        let mut all = vec![task_container("web.1.x"), task_container("web.2.y"), plain];
        let warnings = ignore_task_labels(&mut all, "auth");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].0, "web.1.x");
        assert!(
            warnings[0].1.contains("Swarm service web"),
            "{}",
            warnings[0].1
        );
        assert!(warnings[0].1.contains("deploy.labels"), "{}", warnings[0].1);
        assert!(
            warnings[0].1.contains("auth.protect, swag"),
            "{}",
            warnings[0].1
        );
        assert_eq!(all[0].labels.len(), 2);
        assert!(all[0].labels.contains_key("other"));
        // A plain container keeps its labels.
        assert!(all[2].labels.contains_key("auth.protect"));
    }
}
