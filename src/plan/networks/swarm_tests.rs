//! The network rules for Swarm services: an attachable overlay is joined, a non-attachable one
//! is explained, a SWAG running as a service is never attached (its spec is never updated).

use super::*;
use crate::model::workload::{NetworkAttachment, WorkloadKind};

fn workload(name: &str, kind: WorkloadKind, nets: &[(&str, bool)]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.into(),
        kind,
        networks: nets
            .iter()
            .map(|(n, swarm_only)| {
                let a = NetworkAttachment {
                    network_id: format!("net-{n}"),
                    swarm_only: *swarm_only,
                };
                ((*n).to_owned(), a)
            })
            .collect(),
        ..Workload::default()
    }
}

fn app<'a>(c: &'a Workload, address: &str) -> Target<'a> {
    Target {
        container: c,
        kind: TargetKind::App {
            network_label: None,
            label_key: "auth.network".into(),
            address: address.into(),
            report: true,
        },
    }
}

fn run(swag: &Workload, svc: &Workload, address: &str, mode: &NetworkMode) -> NetPlan {
    let running = [swag.clone(), svc.clone()];
    plan(
        swag,
        &[app(svc, address)],
        &running,
        &Remembered::default(),
        mode,
    )
}

#[test]
fn a_standalone_swag_joins_an_attachable_overlay_also_for_tasks_dot_service() {
    let swag = workload("swag", WorkloadKind::Container, &[("swag_net", false)]);
    let svc = workload("web", WorkloadKind::Service, &[("apps", false)]);
    for address in ["web", "tasks.web"] {
        let p = run(&swag, &svc, address, &NetworkMode::PerApp);
        assert!(p.rejections.is_empty(), "{p:?}");
        assert!(
            matches!(&p.actions[..], [NetAction::Connect { join, .. }] if join.network == "apps" && join.container == "swag"),
            "{address}: {p:?}"
        );
    }
}

#[test]
fn a_non_attachable_overlay_rejects_the_service_with_the_fix() {
    let swag = workload("swag", WorkloadKind::Container, &[("swag_net", false)]);
    let svc = workload("web", WorkloadKind::Service, &[("backend", true)]);
    let p = run(&swag, &svc, "web", &NetworkMode::PerApp);
    assert!(p.actions.is_empty(), "{p:?}");
    let reason = &p.rejections[0].reason;
    for needle in [
        "backend",
        "attachable: true",
        "GATEHOUSE_NETWORK_MODE=shared",
    ] {
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
}

#[test]
fn swag_as_a_service_is_never_attached_the_missing_network_is_reported() {
    let swag = workload("edge_swag", WorkloadKind::Service, &[("edge", false)]);
    let svc = workload("web", WorkloadKind::Service, &[("apps", false)]);
    let p = run(&swag, &svc, "web", &NetworkMode::PerApp);
    assert!(p.actions.is_empty(), "{p:?}");
    assert!(
        p.rejections[0]
            .reason
            .contains("never updates SWAG's service"),
        "{p:?}"
    );
    // Sharing a network already: nothing to do, nothing to say.
    let shared = workload("web", WorkloadKind::Service, &[("edge", false)]);
    let p = run(&swag, &shared, "web", &NetworkMode::PerApp);
    assert_eq!((p.actions.len(), p.rejections.len()), (0, 0), "{p:?}");
}

#[test]
fn shared_mode_never_attaches_a_service_it_must_already_be_on_the_shared_network() {
    let swag = workload("swag", WorkloadKind::Container, &[("swag_net", false)]);
    let mode = NetworkMode::Shared("gatehouse".into());
    let off = workload("web", WorkloadKind::Service, &[("apps", false)]);
    let p = run(&swag, &off, "web", &mode);
    assert!(
        p.rejections[0]
            .reason
            .contains("not on the shared network gatehouse"),
        "{p:?}"
    );
    assert!(
        !p.actions
            .iter()
            .any(|a| matches!(a, NetAction::Connect { join, .. } if join.container == "web")),
        "{p:?}"
    );
    let on = workload("web", WorkloadKind::Service, &[("gatehouse", false)]);
    let p = run(&swag, &on, "web", &mode);
    assert!(p.rejections.is_empty(), "{p:?}");
    assert!(
        p.actions
            .iter()
            .all(|a| matches!(a, NetAction::Connect { join, .. } if join.container == "swag")),
        "{p:?}"
    );
}

#[test]
fn shared_mode_with_swag_as_a_service_warns_instead_of_attaching_swag() {
    let swag = workload("edge_swag", WorkloadKind::Service, &[("edge", false)]);
    let svc = workload("web", WorkloadKind::Service, &[("gatehouse", false)]);
    let p = run(&swag, &svc, "web", &NetworkMode::Shared("gatehouse".into()));
    assert!(p.actions.is_empty(), "{p:?}");
    assert!(
        p.warnings
            .iter()
            .any(|(c, w)| c == "edge_swag" && w.contains("not on the shared network gatehouse")),
        "{p:?}"
    );
}
