use super::*;
use crate::model::workload::NetworkAttachment;

fn container(name: &str, nets: &[&str]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.into(),
        image: "app:1".into(),
        networks: nets
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    NetworkAttachment {
                        network_id: format!("net-{n}"),
                        swarm_only: false,
                    },
                )
            })
            .collect(),
        ..Workload::default()
    }
}

fn app(c: &Workload) -> Target<'_> {
    app_at(c, &c.name)
}

/// An app whose upstream address is `address`.
fn app_at<'a>(c: &'a Workload, address: &str) -> Target<'a> {
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

fn labelled<'a>(c: &'a Workload, network: &str) -> Target<'a> {
    Target {
        container: c,
        kind: TargetKind::App {
            network_label: Some(network.into()),
            label_key: "auth.network".into(),
            address: c.name.clone(),
            report: true,
        },
    }
}

fn already_rejected(c: &Workload) -> Target<'_> {
    Target {
        container: c,
        kind: TargetKind::App {
            network_label: None,
            label_key: "auth.network".into(),
            address: c.name.clone(),
            report: false,
        },
    }
}

fn joined(c: &Workload, net: &str) -> Joined {
    Joined {
        container_id: c.id.clone(),
        container: c.name.clone(),
        network_id: format!("net-{net}"),
        network: net.into(),
    }
}

fn remembered(js: &[Joined]) -> Remembered {
    Remembered {
        joined: js.iter().cloned().collect(),
        ..Remembered::default()
    }
}

fn connects(p: &NetPlan) -> Vec<String> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            NetAction::Connect { join, .. } => Some(join.to_string()),
            _ => None,
        })
        .collect()
}

fn disconnects(p: &NetPlan) -> Vec<String> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            NetAction::Disconnect { join, .. } => Some(join.to_string()),
            _ => None,
        })
        .collect()
}

fn per_app() -> NetworkMode {
    NetworkMode::PerApp
}

#[test]
fn swag_joins_each_apps_only_network() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["a_default"]);
    let b = container("b", &["b_default", "bridge"]);
    let running = [swag.clone(), a.clone(), b.clone()];
    let p = plan(
        &swag,
        &[app(&a), app(&b)],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert_eq!(
        connects(&p),
        ["swag to network a_default", "swag to network b_default"]
    );
    assert!(p.rejections.is_empty());
    let NetAction::Connect { join, needed_by } = &p.actions[0] else {
        panic!("connect expected")
    };
    assert_eq!(join.network_id, "net-a_default");
    assert_eq!(needed_by, &["a"]);
}

#[test]
fn nothing_to_do_when_swag_shares_a_network_the_user_made() {
    let swag = container("swag", &["swag_default", "proxy"]);
    let a = container("a", &["proxy", "a_backend"]);
    let running = [swag.clone(), a.clone()];
    let p = plan(
        &swag,
        &[app(&a)],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert_eq!(p, NetPlan::default());
}

#[test]
fn unchanged_world_plans_nothing() {
    let swag = container("swag", &["swag_default", "a_default"]);
    let a = container("a", &["a_default"]);
    let running = [swag.clone(), a.clone()];
    let mem = remembered(&[joined(&swag, "a_default")]);
    let p = plan(&swag, &[app(&a)], &running, &mem, &per_app());
    assert_eq!(p, NetPlan::default());
}

#[test]
fn several_networks_without_label_are_rejected_listing_them() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["front", "back"]);
    let running = [swag.clone(), a.clone()];
    let p = plan(
        &swag,
        &[app(&a)],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert!(p.actions.is_empty());
    assert_eq!(p.rejections.len(), 1);
    let r = &p.rejections[0].reason;
    assert!(r.contains("several networks (back, front)"), "{r}");
    assert!(r.contains("set label auth.network"), "{r}");
}

#[test]
fn the_network_label_picks_one_of_several() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["front", "back"]);
    let running = [swag.clone(), a.clone()];
    let p = plan(
        &swag,
        &[labelled(&a, "front")],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert_eq!(connects(&p), ["swag to network front"]);
    assert!(p.rejections.is_empty());
}

#[test]
fn a_label_naming_another_network_is_rejected() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["front", "back"]);
    let running = [swag.clone(), a.clone()];
    for (value, expect) in [
        (
            "elsewhere",
            "names a network the container is not on (it is on: back, front)",
        ),
        ("bad;name", "is not a Docker network name"),
        ("", "is not a Docker network name"),
    ] {
        let p = plan(
            &swag,
            &[labelled(&a, value)],
            &running,
            &Remembered::default(),
            &per_app(),
        );
        assert!(p.actions.is_empty(), "{value}");
        assert!(
            p.rejections[0].reason.contains(expect),
            "{value}: {}",
            p.rejections[0].reason
        );
        assert!(p.rejections[0].reason.contains("auth.network"));
    }
}

#[test]
fn an_app_only_on_the_default_bridge_is_rejected_with_the_fix() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["bridge"]);
    let running = [swag.clone(), a.clone()];
    let p = plan(
        &swag,
        &[app(&a)],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert!(p.actions.is_empty());
    let r = &p.rejections[0].reason;
    assert!(r.contains("only on Docker's default bridge network"), "{r}");
    assert!(r.contains("docker network create a-net"), "{r}");
    assert!(r.contains("GATEHOUSE_NETWORK_MODE=shared"), "{r}");
}

#[test]
fn apps_already_rejected_keep_their_network_but_are_not_rejected_twice() {
    let swag = container("swag", &["swag_default", "a_default"]);
    let a = container("a", &["a_default"]);
    let b = container("b", &["bridge"]);
    let running = [swag.clone(), a.clone(), b.clone()];
    let mem = remembered(&[joined(&swag, "a_default")]);
    let p = plan(
        &swag,
        &[already_rejected(&a), already_rejected(&b)],
        &running,
        &mem,
        &per_app(),
    );
    assert_eq!(p, NetPlan::default());
}

#[test]
fn an_upstream_ip_or_other_host_needs_no_network_but_the_container_name_does() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["bridge"]);
    let running = [swag.clone(), a.clone()];
    for address in ["192.168.1.20", "nas.lan"] {
        let p = plan(
            &swag,
            &[app_at(&a, address)],
            &running,
            &Remembered::default(),
            &per_app(),
        );
        assert_eq!(p, NetPlan::default(), "{address}");
    }
    // The container's own name is reached through its networks: bridge only is rejected.
    let p = plan(
        &swag,
        &[app_at(&a, "a")],
        &running,
        &Remembered::default(),
        &per_app(),
    );
    assert_eq!(p.rejections.len(), 1, "{p:?}");
}

#[test]
fn apps_without_a_network_of_their_own_draw_a_warning_not_a_rejection() {
    let swag = container("swag", &["swag_default"]);
    for nets in [&[][..], &["host"], &["none"]] {
        let a = container("a", nets);
        let running = [swag.clone(), a.clone()];
        for mode in [per_app(), NetworkMode::Shared("gatehouse".into())] {
            let p = plan(&swag, &[app(&a)], &running, &Remembered::default(), &mode);
            assert!(p.rejections.is_empty(), "{nets:?}");
            let joins_a = p
                .actions
                .iter()
                .any(|x| matches!(x, NetAction::Connect { join, .. } if join.container == "a"));
            assert!(!joins_a, "{nets:?}");
            assert_eq!(p.warnings.len(), 1, "{nets:?}");
        }
    }
}

#[test]
fn swag_leaves_a_network_gatehouse_joined_once_its_app_stopped() {
    let swag = container("swag", &["swag_default", "a_default", "b_default"]);
    let b = container("b", &["b_default"]);
    // a is not running any more.
    let running = [swag.clone(), b.clone()];
    let mem = remembered(&[joined(&swag, "a_default"), joined(&swag, "b_default")]);
    let p = plan(&swag, &[app(&b)], &running, &mem, &per_app());
    assert_eq!(disconnects(&p), ["swag to network a_default"]);
    assert!(connects(&p).is_empty());
}

#[test]
fn a_network_two_apps_need_stays_until_both_are_gone() {
    let swag = container("swag", &["swag_default", "stack_default"]);
    let a = container("a", &["stack_default"]);
    let b = container("b", &["stack_default"]);
    let mem = remembered(&[joined(&swag, "stack_default")]);
    let running = [swag.clone(), b.clone()];
    let p = plan(&swag, &[app(&b)], &running, &mem, &per_app());
    assert_eq!(p, NetPlan::default());
    let running = [swag.clone(), a.clone(), b.clone()];
    let p = plan(&swag, &[app(&a), app(&b)], &running, &mem, &per_app());
    assert_eq!(p, NetPlan::default());
    let running = [swag.clone()];
    let p = plan(&swag, &[], &running, &mem, &per_app());
    assert_eq!(disconnects(&p), ["swag to network stack_default"]);
}

#[test]
fn networks_the_user_attached_are_never_disconnected() {
    // SWAG is on a_default, but gatehouse did not put it there.
    let swag = container("swag", &["swag_default", "a_default", "other"]);
    let running = [swag.clone()];
    let p = plan(&swag, &[], &running, &Remembered::default(), &per_app());
    assert_eq!(p, NetPlan::default());
}

#[test]
fn a_remembered_attachment_someone_else_undid_is_forgotten_or_redone() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["a_default"]);
    let mem = remembered(&[joined(&swag, "a_default"), joined(&swag, "gone")]);
    let running = [swag.clone(), a.clone()];
    let p = plan(&swag, &[app(&a)], &running, &mem, &per_app());
    assert_eq!(connects(&p), ["swag to network a_default"]);
    assert_eq!(p.forget.len(), 2);
    assert!(disconnects(&p).is_empty());
}

#[test]
fn a_same_named_network_made_anew_is_not_ours() {
    // gatehouse joined a_default once (id net-a_default); the user later attached SWAG to
    // a new network of the same name.
    let mut swag = container("swag", &["swag_default", "a_default"]);
    if let Some(a) = swag.networks.get_mut("a_default") {
        a.network_id = "net-a_default-v2".into();
    }
    let running = [swag.clone()];
    let mem = remembered(&[joined(&swag, "a_default")]);
    let p = plan(&swag, &[], &running, &mem, &per_app());
    assert!(p.actions.is_empty());
    assert_eq!(p.forget.len(), 1);
}

#[test]
fn attachments_of_an_old_swag_container_are_undone() {
    let swag = container("swag", &["swag_default"]);
    let mut old = joined(&swag, "a_default");
    old.container_id = "id-old-swag".into();
    let running = [swag.clone()];
    let p = plan(&swag, &[], &running, &remembered(&[old]), &per_app());
    assert_eq!(disconnects(&p), ["swag to network a_default"]);
}

#[test]
fn several_networks_keep_one_gatehouse_already_shares() {
    let swag = container("swag", &["swag_default", "front"]);
    let a = container("a", &["front", "back"]);
    let running = [swag.clone(), a.clone()];
    let mem = remembered(&[joined(&swag, "front")]);
    let p = plan(&swag, &[app(&a)], &running, &mem, &per_app());
    assert_eq!(p, NetPlan::default());
}

#[test]
fn swag_joins_authentiks_networks() {
    let swag = container("swag", &["swag_default"]);
    let ak = container("authentik-server", &["authentik_default"]);
    let running = [swag.clone(), ak.clone()];
    let t = Target {
        container: &ak,
        kind: TargetKind::Authentik,
    };
    let p = plan(&swag, &[t], &running, &Remembered::default(), &per_app());
    assert_eq!(connects(&p), ["swag to network authentik_default"]);
}

#[test]
fn shared_mode_joins_swag_then_apps_to_one_network() {
    let swag = container("swag", &["swag_default"]);
    let a = container("a", &["a_default"]);
    let b = container("b", &["bridge"]);
    let running = [swag.clone(), a.clone(), b.clone()];
    let mode = NetworkMode::Shared("gatehouse".into());
    let p = plan(
        &swag,
        &[app(&a), app(&b)],
        &running,
        &Remembered::default(),
        &mode,
    );
    assert_eq!(
        connects(&p),
        [
            "swag to network gatehouse",
            "a to network gatehouse",
            "b to network gatehouse"
        ]
    );
    assert!(p.rejections.is_empty());
    // Not created yet: looked up (or created) by name.
    let NetAction::Connect { join, .. } = &p.actions[0] else {
        panic!()
    };
    assert_eq!(join.network_id, "");
}

#[test]
fn shared_mode_is_stable_and_undoes_only_its_own_joins() {
    let swag = container("swag", &["swag_default", "gatehouse"]);
    let a = container("a", &["a_default", "gatehouse"]);
    // c joined the shared network itself (compose `external: true`).
    let c = container("c", &["gatehouse"]);
    let mem = remembered(&[joined(&swag, "gatehouse"), joined(&a, "gatehouse")]);
    let mode = NetworkMode::Shared("gatehouse".into());
    let running = [swag.clone(), a.clone(), c.clone()];
    let p = plan(&swag, &[app(&a), app(&c)], &running, &mem, &mode);
    assert_eq!(p, NetPlan::default());
    // a is unpublished (still running), c too: only a leaves.
    let p = plan(&swag, &[], &running, &mem, &mode);
    assert_eq!(disconnects(&p), ["a to network gatehouse"]);
    // a stopped: its join is undone so nothing holds the network.
    let running = [swag.clone(), c.clone()];
    let p = plan(&swag, &[app(&c)], &running, &mem, &mode);
    assert_eq!(disconnects(&p), ["a to network gatehouse"]);
}

#[test]
fn shared_mode_brings_authentik_onto_the_shared_network_too() {
    let swag = container("swag", &["swag_default"]);
    let ak = container("authentik-server", &["authentik_default"]);
    let running = [swag.clone(), ak.clone()];
    let t = Target {
        container: &ak,
        kind: TargetKind::Authentik,
    };
    let mode = NetworkMode::Shared("gatehouse".into());
    let p = plan(&swag, &[t], &running, &Remembered::default(), &mode);
    assert_eq!(
        connects(&p),
        [
            "swag to network gatehouse",
            "authentik-server to network gatehouse"
        ]
    );
}

#[test]
fn switching_to_shared_mode_releases_per_app_joins() {
    let swag = container("swag", &["swag_default", "a_default"]);
    let a = container("a", &["a_default"]);
    let mem = remembered(&[joined(&swag, "a_default")]);
    let running = [swag.clone(), a.clone()];
    let mode = NetworkMode::Shared("gatehouse".into());
    let p = plan(&swag, &[app(&a)], &running, &mem, &mode);
    assert_eq!(disconnects(&p), ["swag to network a_default"]);
    assert_eq!(
        connects(&p),
        ["swag to network gatehouse", "a to network gatehouse"]
    );
}

#[test]
fn swag_is_found_by_name_id_or_image() {
    let mut swag = container("proxy", &[]);
    swag.image = "lscr.io/linuxserver/swag:latest".into();
    swag.id = "0123456789abcdef0123".into();
    let a = container("a", &[]);
    let all = [a.clone(), swag.clone()];
    assert_eq!(find_swag(&all, "a").map(|c| c.name.as_str()), Ok("a"));
    assert_eq!(
        find_swag(&all, "0123456789ab").map(|c| c.name.as_str()),
        Ok("proxy")
    );
    assert_eq!(
        find_swag(&all, "swag").map(|c| c.name.as_str()),
        Ok("proxy")
    );
    assert_eq!(
        find_swag(std::slice::from_ref(&a), "swag"),
        Err(SwagLookup::NotFound {
            wanted: "swag".into()
        })
    );
    let mut other = swag.clone();
    other.name = "proxy2".into();
    let err = find_swag(&[swag, other, a], "swag").unwrap_err();
    assert!(err
        .to_string()
        .contains("several run a linuxserver/swag image (proxy, proxy2)"));
}

#[test]
fn swag_images_are_recognised() {
    for yes in [
        "linuxserver/swag",
        "linuxserver/swag:latest",
        "lscr.io/linuxserver/swag:2.11.0",
        "ghcr.io/linuxserver/swag@sha256:abcd",
        "registry:5000/linuxserver/swag:1",
    ] {
        assert!(is_swag_image(yes), "{yes}");
    }
    for no in [
        "swag",
        "linuxserver/swag-extra",
        "me/linuxserver-swag",
        "nginx",
        "sha256:0123",
    ] {
        assert!(!is_swag_image(no), "{no}");
    }
}

#[test]
fn network_changes_read_the_same_planned_and_done() {
    use crate::render::wording::{Describe, Tense};
    let swag = container("swag", &["swag_default"]);
    let connect = NetAction::Connect {
        join: joined(&swag, "a_default"),
        needed_by: vec!["a".into(), "b".into()],
    };
    assert_eq!(
        connect.said(Tense::Planned).to_string(),
        "would attach swag to network a_default (needed by a, b)"
    );
    assert_eq!(
        connect.said(Tense::Done).to_string(),
        "attached swag to network a_default (needed by a, b)"
    );
    let disconnect = NetAction::Disconnect {
        join: joined(&swag, "a_default"),
        why: "container a is not running".into(),
    };
    assert_eq!(
        disconnect.said(Tense::Planned).to_string(),
        "would detach swag from network a_default: container a is not running"
    );
    assert_eq!(
        disconnect.said(Tense::Done).to_string(),
        "detached swag from network a_default: container a is not running"
    );
    let create = NewNetwork {
        name: "gatehouse".into(),
    };
    assert_eq!(
        create.said(Tense::Planned).to_string(),
        "would create network gatehouse (the shared network of GATEHOUSE_NETWORK_MODE=shared, labelled gatehouse.managed=true)"
    );
    assert!(create
        .said(Tense::Done)
        .to_string()
        .starts_with("created network gatehouse ("));
    let j = joined(&swag, "gone");
    assert_eq!(
        Forget(&j).said(Tense::Planned).to_string(),
        "would drop gatehouse's record of attaching swag to network gone: it is not attached any more (someone else undid it)"
    );
}
