//! A name held by a conf on disk stays with the workload it was written for (issue 8, item 4).

use super::names::{compose_ids, same_workload};
use super::*;
use crate::model::workload::OwnedConf;
use crate::plan::grace::GraceClock;
use std::time::{Duration, Instant};

const HOUR: Duration = Duration::from_secs(3600);

fn container(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        exposed_tcp_ports: vec![80],
        ..Workload::default()
    }
}

fn plan(containers: &[Workload], dir: &ConfDirState) -> Desired {
    desired(containers, dir, &BTreeMap::new(), &LabelRules::default())
}

/// The folder after a pass that published `c` (protected by its labels).
fn written_for(c: &Workload) -> (ConfDirState, String) {
    let mut dir = ConfDirState::default();
    let d = plan(std::slice::from_ref(c), &dir);
    let app = &d.apps[0];
    dir.owned.insert(
        app.file.clone(),
        OwnedConf {
            content: app.content.clone(),
            container: Some(c.name.clone()),
            protected: app.spec.access == Access::Protected,
        },
    );
    (dir, app.file.clone())
}

fn stranger(name: &str) -> Workload {
    container(
        name,
        &[
            ("auth.expose", "true"),
            ("auth.subdomain", "vault"),
            ("auth.address", "vault"),
        ],
    )
}

#[test]
fn a_gone_protected_apps_name_is_not_taken_unprotected_within_the_grace() {
    let vault = container("vault", &[("auth.protect", "true")]);
    let (dir, file) = written_for(&vault);
    assert_eq!(file, "gatehouse.vault.subdomain.conf");

    // vault is gone; within the grace a stranger claims its name without authentik.
    let d = plan(&[stranger("evil")], &dir);
    assert!(d.apps.is_empty(), "{:#?}", d.apps);
    let r = &d.rejected[0];
    assert_eq!(r.container, "evil");
    assert!(!r.keep_last_good);
    assert!(
        r.reason.starts_with(
            "container evil: server_name vault.* is held by gatehouse.vault.subdomain.conf (protected by authentik), written for container vault, which is gone; the name stays reserved"
        ),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("until gatehouse removes the conf"));
    assert!(d.waiting_for.contains(&file));
    let mut clock = GraceClock::default();
    let t0 = Instant::now();
    let set = changes(&d, &dir, &mut clock, t0, HOUR);
    assert!(set.changes.is_empty(), "the conf is not rewritten: {set:?}");
    assert!(set.kept[0].1.contains("container vault is gone"));

    // vault comes back within the grace: it gets its own name back, protected.
    let d = plan(&[stranger("evil"), vault.clone()], &dir);
    assert_eq!(d.apps.len(), 1);
    assert_eq!(d.apps[0].spec.container, "vault");
    assert_eq!(d.apps[0].spec.access, Access::Protected);
    assert!(d.rejected[0]
        .reason
        .contains("already published for container vault"));
    assert!(changes(&d, &dir, &mut clock, t0, HOUR).changes.is_empty());
}

#[test]
fn a_reserved_name_frees_up_when_its_conf_is_removed_and_a_pass_follows_at_once() {
    let vault = container("vault", &[("auth.protect", "true")]);
    let (dir, file) = written_for(&vault);
    let d = plan(&[stranger("evil")], &dir);
    let mut clock = GraceClock::default();
    let t0 = Instant::now();
    let set = changes(&d, &dir, &mut clock, t0, HOUR);
    assert_eq!(set.next_due, Some(HOUR));
    let set = changes(&d, &dir, &mut clock, t0 + HOUR, HOUR);
    assert_eq!(
        set.changes,
        vec![Change::Remove {
            file: file.clone(),
            container: Some("vault".into()),
            reason: RemoveReason::ContainerGone,
        }]
    );
    assert_eq!(set.next_due, Some(Duration::ZERO), "{set:?}");
    // The conf is gone: the stranger is published by the next pass.
    let d = plan(&[stranger("evil")], &ConfDirState::default());
    assert_eq!(d.apps[0].spec.container, "evil");
}

#[test]
fn the_same_compose_service_keeps_its_name_across_a_recreate() {
    let compose = |name: &str, service: &str, access: &str| {
        container(
            name,
            &[
                (access, "true"),
                ("auth.subdomain", "vault"),
                ("com.docker.compose.project", "proj"),
                ("com.docker.compose.service", service),
            ],
        )
    };
    let (dir, _) = written_for(&compose("proj-vault-1", "vault", "auth.protect"));
    // Its own labels may drop the protection: the same workload decides.
    let d = plan(&[compose("proj-vault-2", "vault", "auth.expose")], &dir);
    assert_eq!(d.apps.len(), 1, "{:#?}", d.rejected);
    assert_eq!(d.apps[0].spec.container, "proj-vault-2");
    // Another service of the same project is a stranger, and so is a look-alike name without
    // the compose labels.
    let look_alike = container(
        "proj-vault-2",
        &[("auth.expose", "true"), ("auth.subdomain", "vault")],
    );
    for other in [
        compose("proj-vaultx-1", "vaultx", "auth.protect"),
        look_alike,
    ] {
        let d = plan(&[other], &dir);
        assert!(d.apps.is_empty(), "{:#?}", d.apps);
        assert!(d.rejected[0]
            .reason
            .contains("written for container proj-vault-1, which is gone"));
    }
    // The service's new container wins over a stranger that sorts first.
    let d = plan(
        &[
            stranger("aaa"),
            compose("proj-vault-2", "vault", "auth.protect"),
        ],
        &dir,
    );
    assert_eq!(d.apps[0].spec.container, "proj-vault-2");
    assert_eq!(d.rejected[0].container, "aaa");
}

#[test]
fn a_workload_is_its_container_or_its_compose_service() {
    let ids = compose_ids(&[
        container(
            "p-web-7",
            &[
                ("com.docker.compose.project", "p"),
                ("com.docker.compose.service", "web"),
            ],
        ),
        container("loner", &[]),
    ]);
    assert!(same_workload("loner", "loner", &ids));
    assert!(!same_workload("loner", "other", &ids));
    assert!(same_workload("p-web-1", "p-web-7", &ids));
    assert!(same_workload("p_web_12", "p-web-7", &ids));
    assert!(!same_workload("p-web-", "p-web-7", &ids));
    assert!(!same_workload("p-web-1a", "p-web-7", &ids));
    assert!(!same_workload("p-webx-1", "p-web-7", &ids));
    assert!(!same_workload("q-web-1", "p-web-7", &ids));
}
