use super::*;
use crate::model::workload::OwnedConf;
use crate::plan::grace::GraceClock;
use std::time::{Duration, Instant};

fn container(name: &str, labels: &[(&str, &str)], ports: &[u16]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        exposed_tcp_ports: ports.to_vec(),
        ..Workload::default()
    }
}

fn plan(containers: &[Workload], dir: &ConfDirState) -> Desired {
    desired(containers, dir, &BTreeMap::new(), &LabelRules::default())
}

fn owned(content: &str, container: &str, protected: bool) -> OwnedConf {
    OwnedConf {
        content: content.into(),
        container: Some(container.into()),
        protected,
    }
}

fn run_changes(d: &Desired, dir: &ConfDirState, grace: Duration) -> ChangeSet {
    changes(d, dir, &mut GraceClock::default(), Instant::now(), grace)
}

#[test]
fn several_exposed_ports_without_a_label_are_refused_naming_them() {
    let d = plan(
        &[container("app", &[("auth.protect", "true")], &[80, 443])],
        &ConfDirState::default(),
    );
    assert!(d.apps.is_empty());
    assert_eq!(
        d.rejected[0].reason,
        "container app: label auth.port is not set and the container exposes several TCP ports (80, 443): set it to the one to publish"
    );
    assert!(d.rejected[0].wants_protection);
}

#[test]
fn preset_port_and_proto_are_defaults_and_labels_override() {
    let sample = "server {\n    server_name nextcloud.*;\n    #include /config/nginx/authentik-server.conf;\n    location / {\n        #include /config/nginx/authentik-location.conf;\n        set $upstream_app nextcloud;\n        set $upstream_port 443;\n        set $upstream_proto https;\n    }\n}\n";
    let samples = BTreeMap::from([("nextcloud".to_owned(), sample.to_owned())]);
    let c = container(
        "cloud",
        &[("auth.protect", "true"), ("auth.preset", "nextcloud")],
        &[],
    );
    let d = desired(
        &[c],
        &ConfDirState::default(),
        &samples,
        &LabelRules::default(),
    );
    let app = &d.apps[0];
    assert_eq!(
        (app.upstream.port.get(), app.upstream.proto),
        (443, Proto::Https)
    );
    assert!(app.content.contains("set $upstream_app cloud;"));
    assert!(app
        .content
        .contains("\n    include /config/nginx/authentik-server.conf;"));
    let c = container(
        "cloud",
        &[
            ("auth.protect", "true"),
            ("auth.preset", "nextcloud"),
            ("auth.port", "8443"),
        ],
        &[80],
    );
    let d = desired(
        &[c],
        &ConfDirState::default(),
        &samples,
        &LabelRules::default(),
    );
    assert_eq!(d.apps[0].upstream.port.get(), 8443);
}

#[test]
fn a_raw_directive_cannot_open_a_location_of_a_protected_app() {
    let rules = LabelRules {
        allow_raw_directives: true,
        ..LabelRules::default()
    };
    let c = container(
        "app",
        &[
            ("auth.protect", "true"),
            (
                "auth.server_directive",
                "location /open { proxy_pass http://app:80; }",
            ),
        ],
        &[80],
    );
    let d = desired(&[c], &ConfDirState::default(), &BTreeMap::new(), &rules);
    assert!(d.apps.is_empty(), "{:?}", d.apps);
    assert!(
        d.rejected[0].reason.contains("location /open {"),
        "{}",
        d.rejected[0].reason
    );
    // The line names the label to change.
    assert!(
        d.rejected[0]
            .reason
            .starts_with("container app: label auth.server_directive: rendered conf lacks"),
        "{}",
        d.rejected[0].reason
    );
}

#[test]
fn a_preset_that_cannot_be_protected_is_refused_naming_its_label() {
    let sample = "server {\n    server_name plain.*;\n    location / {\n        set $upstream_app plain;\n        set $upstream_port 80;\n        set $upstream_proto http;\n    }\n}\n";
    let samples = BTreeMap::from([("plain".to_owned(), sample.to_owned())]);
    let c = container(
        "app",
        &[("auth.protect", "true"), ("auth.preset", "plain")],
        &[80],
    );
    let d = desired(
        &[c],
        &ConfDirState::default(),
        &samples,
        &LabelRules::default(),
    );
    assert!(
        d.rejected[0].reason.starts_with(
            "container app: label auth.preset=plain: preset plain has no commented authentik lines"
        ),
        "{}",
        d.rejected[0].reason
    );
}

#[test]
fn a_missing_preset_is_an_error_for_that_app() {
    let d = plan(
        &[
            container(
                "a",
                &[("auth.protect", "true"), ("auth.preset", "nosuch")],
                &[80],
            ),
            container("b", &[("auth.protect", "true")], &[80]),
        ],
        &ConfDirState::default(),
    );
    assert_eq!(d.apps.len(), 1);
    assert!(d.rejected[0]
        .reason
        .contains("nosuch.subdomain.conf.sample is not in proxy-confs"));
}

#[test]
fn two_apps_on_one_name_the_holder_keeps_it() {
    let both = [
        container(
            "aaa",
            &[("auth.protect", "true"), ("auth.subdomain", "web")],
            &[80],
        ),
        container(
            "zzz",
            &[("auth.protect", "true"), ("auth.subdomain", "web")],
            &[80],
        ),
    ];
    let d = plan(&both, &ConfDirState::default());
    assert_eq!(d.apps[0].spec.container, "aaa");
    assert!(d.rejected[0]
        .reason
        .contains("already published for container aaa"));
    // zzz wrote the conf first: it keeps the name even though aaa sorts first.
    let mut dir = ConfDirState::default();
    dir.owned.insert(
        "gatehouse.web.subdomain.conf".into(),
        owned("x", "zzz", true),
    );
    let d = plan(&both, &dir);
    assert_eq!(d.apps[0].spec.container, "zzz");
}

#[test]
fn a_rejected_apps_kept_conf_keeps_its_name_from_other_containers() {
    let a = container(
        "a",
        &[("auth.protect", "true"), ("auth.subdomain", "app")],
        &[80],
    );
    let mut dir = ConfDirState::default();
    let good = plan(&[a], &dir);
    dir.owned.insert(
        good.apps[0].file.clone(),
        owned(&good.apps[0].content, "a", true),
    );
    let a_typo = container(
        "a",
        &[
            ("auth.protect", "true"),
            ("auth.subdomain", "app"),
            ("auth.port", "bad"),
        ],
        &[80],
    );
    let b = container(
        "b",
        &[("auth.expose", "true"), ("auth.subdomain", "app")],
        &[80],
    );
    let d = plan(&[a_typo, b], &dir);
    assert!(d.apps.is_empty(), "{:?}", d.apps);
    assert!(d
        .rejected
        .iter()
        .any(|r| r.container == "b" && r.reason.contains("already published for container a")));
    let set = run_changes(&d, &dir, Duration::ZERO);
    assert!(set.changes.is_empty(), "{set:?}");
}

#[test]
fn a_wildcard_and_a_full_host_of_the_same_name_collide() {
    let a = container(
        "a",
        &[("auth.protect", "true"), ("auth.subdomain", "app")],
        &[80],
    );
    let b = container(
        "b",
        &[("swag", "enable"), ("swag_url", "app.example.com")],
        &[80],
    );
    let d = plan(&[a, b], &ConfDirState::default());
    assert_eq!(d.apps.len(), 1);
    assert_eq!(d.apps[0].spec.container, "a");
    assert!(
        d.rejected[0]
            .reason
            .contains("server_name app.* is already published for container a"),
        "{}",
        d.rejected[0].reason
    );
}

#[test]
fn a_name_served_by_a_users_conf_is_left_to_it() {
    let mut dir = ConfDirState::default();
    dir.foreign_server_names.insert(
        "web.example.com".into(),
        "proxy-confs/web.subdomain.conf".into(),
    );
    let d = plan(
        &[container("web", &[("auth.protect", "true")], &[80])],
        &dir,
    );
    assert!(d.apps.is_empty());
    assert!(!d.rejected[0].keep_last_good);
    assert!(d.rejected[0]
        .reason
        .contains("proxy-confs/web.subdomain.conf, which gatehouse does not own"));
}

#[test]
fn unchanged_confs_give_no_change_and_changed_ones_a_write() {
    let cs = [container("web", &[("auth.protect", "true")], &[80])];
    let d = plan(&cs, &ConfDirState::default());
    let mut dir = ConfDirState::default();
    dir.owned.insert(
        d.apps[0].file.clone(),
        owned(&d.apps[0].content, "web", true),
    );
    assert!(run_changes(&d, &dir, Duration::ZERO).changes.is_empty());
    dir.owned
        .insert(d.apps[0].file.clone(), owned("old", "web", true));
    let set = run_changes(&d, &dir, Duration::ZERO);
    assert!(matches!(
        set.changes[..],
        [Change::Write {
            reason: WriteReason::Changed,
            ..
        }]
    ));
}

#[test]
fn bad_labels_keep_the_last_good_conf_unless_it_is_unprotected_and_protection_is_asked() {
    let mut dir = ConfDirState::default();
    dir.owned.insert(
        "gatehouse.web.subdomain.conf".into(),
        owned("x", "web", true),
    );
    let bad = [container(
        "web",
        &[("auth.protect", "true"), ("auth.port", "eighty")],
        &[80],
    )];
    let set = run_changes(&plan(&bad, &dir), &dir, Duration::ZERO);
    assert!(set.changes.is_empty(), "{set:?}");
    assert!(set.kept[0].1.contains("labels are rejected"));

    // The kept conf was an exposed one and the labels now ask for authentik: it goes at once.
    dir.owned.insert(
        "gatehouse.web.subdomain.conf".into(),
        owned("x", "web", false),
    );
    let set = run_changes(&plan(&bad, &dir), &dir, Duration::from_secs(3600));
    assert!(
        matches!(
            set.changes[..],
            [Change::Remove {
                reason: RemoveReason::FailClosed,
                ..
            }]
        ),
        "{set:?}"
    );

    // An unreadable protect value counts as asking for protection.
    let garbled = [container(
        "web",
        &[("auth.protect", "ture"), ("auth.expose", "true")],
        &[80],
    )];
    let set = run_changes(&plan(&garbled, &dir), &dir, Duration::from_secs(3600));
    assert!(
        matches!(
            set.changes[..],
            [Change::Remove {
                reason: RemoveReason::FailClosed,
                ..
            }]
        ),
        "{set:?}"
    );
}

#[test]
fn gone_containers_wait_out_the_grace_period_running_ones_do_not() {
    let mut dir = ConfDirState::default();
    dir.owned.insert(
        "gatehouse.old.subdomain.conf".into(),
        owned("x", "gone", true),
    );
    dir.owned.insert(
        "gatehouse.renamed.subdomain.conf".into(),
        owned("x", "web", true),
    );
    let d = plan(
        &[container("web", &[("auth.protect", "true")], &[80])],
        &dir,
    );
    let mut clock = GraceClock::default();
    let t0 = Instant::now();
    let grace = Duration::from_secs(30);
    let set = changes(&d, &dir, &mut clock, t0, grace);
    let removed: Vec<_> = set
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Remove { file, reason, .. } => Some((file.as_str(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        removed,
        [(
            "gatehouse.renamed.subdomain.conf",
            RemoveReason::NoLongerPublished
        )]
    );
    assert_eq!(set.next_due, Some(grace));
    let later = changes(&d, &dir, &mut clock, t0 + Duration::from_secs(10), grace);
    assert_eq!(later.next_due, Some(Duration::from_secs(20)));
    let due = changes(&d, &dir, &mut clock, t0 + grace, grace);
    assert!(due.changes.iter().any(|c| matches!(c, Change::Remove { file, reason: RemoveReason::ContainerGone, .. } if file == "gatehouse.old.subdomain.conf")));
}

#[test]
fn a_container_back_within_grace_resets_its_clock() {
    let mut dir = ConfDirState::default();
    dir.owned.insert(
        "gatehouse.web.subdomain.conf".into(),
        owned("x", "web", true),
    );
    let mut clock = GraceClock::default();
    let t0 = Instant::now();
    let grace = Duration::from_secs(30);
    changes(&plan(&[], &dir), &dir, &mut clock, t0, grace);
    assert_eq!(clock.pending(), 1);
    let back = plan(
        &[container("web", &[("auth.protect", "true")], &[80])],
        &dir,
    );
    changes(&back, &dir, &mut clock, t0 + Duration::from_secs(20), grace);
    assert_eq!(clock.pending(), 0);
    let set = changes(
        &plan(&[], &dir),
        &dir,
        &mut clock,
        t0 + Duration::from_secs(40),
        grace,
    );
    assert!(set.changes.is_empty(), "clock was not reset: {set:?}");
}

#[test]
fn changes_read_the_same_planned_and_done() {
    use crate::render::wording::{Describe, Tense};
    let write = Change::Write {
        file: "gatehouse.a.subdomain.conf".into(),
        content: String::new(),
        container: "a".into(),
        access: Access::Protected,
        reason: WriteReason::New,
    };
    assert_eq!(
        write.said(Tense::Planned).to_string(),
        "would write gatehouse.a.subdomain.conf for container a (protected by authentik)"
    );
    assert_eq!(
        write.said(Tense::Done).to_string(),
        "wrote gatehouse.a.subdomain.conf for container a (protected by authentik)"
    );
    let update = Change::Write {
        file: "gatehouse.a.subdomain.conf".into(),
        content: String::new(),
        container: "a".into(),
        access: Access::Exposed,
        reason: WriteReason::Changed,
    };
    assert_eq!(
        update.said(Tense::Planned).to_string(),
        "would update gatehouse.a.subdomain.conf for container a (exposed without authentik)"
    );
    for (reason, why) in [
        (RemoveReason::ContainerGone, "container b is gone"),
        (
            RemoveReason::NoLongerPublished,
            "container b no longer publishes it",
        ),
        (
            RemoveReason::FailClosed,
            "container b asks for authentik but its labels are rejected, and this conf is unprotected (fail closed)",
        ),
        (
            RemoveReason::NameTakenByUserConf {
                user_file: "proxy-confs/b.subdomain.conf".into(),
            },
            "proxy-confs/b.subdomain.conf, which gatehouse does not own, now serves its name; container b stays unpublished while that file is there",
        ),
    ] {
        let remove = Change::Remove {
            file: "gatehouse.b.subdomain.conf".into(),
            container: Some("b".into()),
            reason,
        };
        assert_eq!(
            remove.said(Tense::Planned).to_string(),
            format!("would remove gatehouse.b.subdomain.conf: {why}")
        );
        assert_eq!(
            remove.said(Tense::Done).to_string(),
            format!("removed gatehouse.b.subdomain.conf: {why}")
        );
    }
}

#[test]
fn a_conf_given_up_to_a_users_conf_says_so_rather_than_that_its_container_stopped_publishing() {
    let hand = [container(
        "nc-hand",
        &[("auth.protect", "true"), ("auth.subdomain", "nc")],
        &[80],
    )];
    let mut dir = ConfDirState::default();
    let good = plan(&hand, &dir);
    dir.owned.insert(
        good.apps[0].file.clone(),
        owned(&good.apps[0].content, "nc-hand", true),
    );
    for token in ["nc.*", "nc.example.com"] {
        let mut dir = dir.clone();
        dir.foreign_server_names
            .insert(token.into(), "proxy-confs/nc.subdomain.conf".into());
        let set = run_changes(&plan(&hand, &dir), &dir, Duration::from_secs(3600));
        assert_eq!(
            set.changes,
            vec![Change::Remove {
                file: "gatehouse.nc.subdomain.conf".into(),
                container: Some("nc-hand".into()),
                reason: RemoveReason::NameTakenByUserConf {
                    user_file: "proxy-confs/nc.subdomain.conf".into()
                },
            }],
            "{token}"
        );
    }
    // Relabelled away from its name, with no user conf involved: it no longer publishes it.
    let moved = [container(
        "nc-hand",
        &[("auth.protect", "true"), ("auth.subdomain", "cloud")],
        &[80],
    )];
    let set = run_changes(&plan(&moved, &dir), &dir, Duration::from_secs(3600));
    assert!(set.changes.contains(&Change::Remove {
        file: "gatehouse.nc.subdomain.conf".into(),
        container: Some("nc-hand".into()),
        reason: RemoveReason::NoLongerPublished,
    }));
}
