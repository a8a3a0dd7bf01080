use super::*;
use crate::model::spec::Access;
use crate::plan::authentik::{Op, Plan, ProviderRef};
use crate::plan::networks::{Joined, NetAction};
use crate::plan::{RemoveReason, WriteReason};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn body<B: serde::de::DeserializeOwned>(pairs: &[(&str, Value)]) -> B {
    let m: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(m)).unwrap()
}

fn join(container: &str, network: &str) -> Joined {
    Joined {
        container_id: format!("id-{container}"),
        container: container.into(),
        network_id: format!("net-{network}"),
        network: network.into(),
    }
}

fn changes() -> ChangeSet {
    ChangeSet {
        changes: vec![
            Change::Remove {
                file: "gatehouse.old.subdomain.conf".into(),
                container: Some("old".into()),
                reason: RemoveReason::ContainerGone,
            },
            Change::Write {
                file: "gatehouse.jelly.subdomain.conf".into(),
                content: "server {}\n".into(),
                container: "jellyfin".into(),
                access: Access::Protected,
                reason: WriteReason::New,
            },
        ],
        ..ChangeSet::default()
    }
}

fn planned_authentik() -> AuthentikPreview {
    let plan = Plan {
        ops: vec![
            Op::CreateProvider {
                slug: "jelly".into(),
                body: body(&[
                    ("name", json!("gatehouse:jelly")),
                    ("external_host", json!("https://jelly.example.com")),
                    ("skip_path_regex", json!("^/api(/|$)")),
                ]),
            },
            Op::CreateApplication {
                slug: "jelly".into(),
                body: body(&[
                    ("name", json!("jellyfin")),
                    ("slug", json!("jelly")),
                    ("meta_publisher", json!("gatehouse")),
                ]),
                provider: ProviderRef::New("jelly".into()),
            },
            Op::SetOutpostProviders {
                pk: "o".into(),
                name: "authentik Embedded Outpost".into(),
                added: vec![("jelly".into(), ProviderRef::New("jelly".into()))],
                removed: vec![("old".into(), 7)],
            },
            Op::DeleteApplication { slug: "old".into() },
            Op::DeleteProvider {
                slug: "old".into(),
                pk: 7,
            },
        ],
        ..Plan::default()
    };
    AuthentikPreview::Planned {
        url: "http://authentik-server:9000".into(),
        preview: authentik::Preview {
            version: Some(crate::model::authentik::ServerVersion::new(2026, 5)),
            plan,
            instance: crate::plan::authentik::marker::Instance::unnamed(),
            containers: BTreeMap::from([("jelly".into(), "jellyfin".into())]),
            outpost: Vec::new(),
            problems: vec!["container wiki: application wiki already exists in authentik and was not made by gatehouse; leaving it alone (set auth.adopt=true to let gatehouse manage it, or choose another auth.slug)".into()],
            mfa: Vec::new(),
        },
    }
}

#[test]
fn every_section_lists_its_changes_in_words_in_a_fixed_order() {
    let dry = DryRun {
        networks: NetPreview::Planned {
            mode: NetworkMode::PerApp,
            swag: "swag".into(),
            create: Vec::new(),
            plan: NetPlan {
                actions: vec![
                    NetAction::Disconnect {
                        join: join("swag", "old_default"),
                        why: "container old is not running".into(),
                    },
                    NetAction::Connect {
                        join: join("swag", "media_default"),
                        needed_by: vec!["jellyfin".into()],
                    },
                ],
                ..NetPlan::default()
            },
            notes: Vec::new(),
        },
        authentik: planned_authentik(),
    };
    let text = print(&Desired::default(), &changes(), &dry);
    let expected = "\
# gatehouse render: a dry run. Nothing below is done: no file is written, no network is changed, nothing is sent to authentik.

== proxy-confs: 0 app(s) published, 0 rejected, 2 change(s)

# would write gatehouse.jelly.subdomain.conf for container jellyfin (protected by authentik):
server {}

# would remove gatehouse.old.subdomain.conf: container old is gone

== networks: per-app mode, SWAG is container swag
# would detach swag from network old_default: container old is not running
# would attach swag to network media_default (needed by jellyfin)

== authentik: http://authentik-server:9000, authentik 2026.5
# would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$)) for container jellyfin
# would create authentik application jelly with provider gatehouse:jelly for container jellyfin (name: \"jellyfin\")
# would add provider gatehouse:jelly (container jellyfin) to authentik outpost \"authentik Embedded Outpost\"; would take provider gatehouse:old (no container publishes it any more) out of authentik outpost \"authentik Embedded Outpost\"
# would delete authentik application old: no container publishes it any more
# would delete authentik provider gatehouse:old: no container publishes it any more
# container wiki: application wiki already exists in authentik and was not made by gatehouse; leaving it alone (set auth.adopt=true to let gatehouse manage it, or choose another auth.slug)
";
    assert_eq!(text, expected);
    assert!(!dry.incomplete());
}

#[test]
fn off_and_left_alone_are_one_line_each() {
    let dry = DryRun {
        networks: NetPreview::Off,
        authentik: AuthentikPreview::Off,
    };
    let text = print(&Desired::default(), &ChangeSet::default(), &dry);
    assert!(text.ends_with(
        "\n== networks: GATEHOUSE_NETWORK_MODE=off, networks are left alone\n\n== authentik: provisioning is off (GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN are not set)\n"
    ), "{text}");
    let dry = DryRun {
        networks: NetPreview::LeftAlone("no running container is named swag".into()),
        authentik: AuthentikPreview::NoClient("bad authentik URL x".into()),
    };
    let text = print(&Desired::default(), &ChangeSet::default(), &dry);
    assert!(
        text.contains("\n== networks: no running container is named swag\n"),
        "{text}"
    );
    assert!(text.contains(
        "\n== authentik: provisioning is off: cannot set up the client (bad authentik URL x)\n"
    ));
}

#[test]
fn nothing_to_change_is_said_and_shared_mode_shows_the_network_it_creates() {
    let dry = DryRun {
        networks: NetPreview::Planned {
            mode: NetworkMode::Shared("gatehouse".into()),
            swag: "swag".into(),
            create: vec![NewNetwork {
                name: "gatehouse".into(),
            }],
            plan: NetPlan {
                actions: vec![NetAction::Connect {
                    join: Joined {
                        network_id: String::new(),
                        ..join("swag", "gatehouse")
                    },
                    needed_by: vec!["GATEHOUSE_NETWORK_MODE=shared".into()],
                }],
                forget: vec![join("swag", "gone")],
                warnings: vec![(
                    "h".into(),
                    "has no network of its own (network_mode host, none or container:…)".into(),
                )],
                ..NetPlan::default()
            },
            notes: vec!["no running container is named authentik-server".into()],
        },
        authentik: AuthentikPreview::Planned {
            url: "http://ak".into(),
            preview: authentik::Preview::default(),
        },
    };
    let desired = Desired {
        warnings: vec![
            (
                "h".into(),
                "has no network of its own (network_mode host, none or container:…)".into(),
            ),
            (
                "a".into(),
                "has label auth.subdomian: did you mean auth.subdomain?".into(),
            ),
        ],
        ..Desired::default()
    };
    let text = print(&desired, &ChangeSet::default(), &dry);
    let networks = &text[text.find("== networks").unwrap()..text.find("== authentik").unwrap()];
    assert_eq!(
        networks,
        "== networks: shared mode (network gatehouse), SWAG is container swag
# would create network gatehouse (the shared network of GATEHOUSE_NETWORK_MODE=shared, labelled gatehouse.managed=true)
# would attach swag to network gatehouse (needed by GATEHOUSE_NETWORK_MODE=shared)
# would drop gatehouse's record of attaching swag to network gone: it is not attached any more (someone else undid it)
# container h has no network of its own (network_mode host, none or container:…)
# no running container is named authentik-server

"
    );
    // The network warning is shown once, with the networks; the label warning with the confs.
    assert_eq!(text.matches("container h has no network").count(), 1);
    assert!(text.contains("\n# container a has label auth.subdomian"));
    assert!(
        text.ends_with("== authentik: http://ak\n# nothing to change\n"),
        "{text}"
    );
}

fn want(container: &str, slug: &str) -> crate::labels::authentik::AppWant {
    crate::labels::authentik::AppWant {
        container: container.into(),
        slug: slug.into(),
        name: container.into(),
        group: None,
        icon: None,
        description: None,
        launch_url: None,
        external_host: "https://jelly.example.com".into(),
        skip_path_regex: String::new(),
        allow_groups: Vec::new(),
        outpost: None,
        adopt: false,
        mfa: None,
    }
}

#[test]
fn an_unreachable_authentik_is_said_with_what_is_wanted_and_makes_the_run_incomplete() {
    let want = want("jellyfin", "jelly");
    let dry = DryRun {
        networks: NetPreview::Off,
        authentik: AuthentikPreview::Unreachable {
            url: "http://ak:9000".into(),
            error: "cannot reach authentik: connection refused".into(),
            desired: authentik::Desired {
                wants: vec![want],
                ..authentik::Desired::default()
            },
        },
    };
    assert!(dry.incomplete());
    let text = print(&Desired::default(), &ChangeSet::default(), &dry);
    assert!(text.ends_with(
        "\n== authentik: http://ak:9000: cannot reach authentik: connection refused; what would change there cannot be shown\n# wanted in authentik: application jelly (container jellyfin)\n"
    ), "{text}");
}

#[test]
fn five_hundred_containers_do_not_make_one_line_of_five_hundred_names() {
    let names: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
    let dry = DryRun {
        networks: NetPreview::Planned {
            mode: NetworkMode::Shared("gatehouse".into()),
            swag: "swag".into(),
            create: Vec::new(),
            plan: NetPlan {
                actions: vec![NetAction::Connect {
                    join: join("swag", "gatehouse"),
                    needed_by: names.clone(),
                }],
                ..NetPlan::default()
            },
            notes: Vec::new(),
        },
        authentik: AuthentikPreview::Unreachable {
            url: "http://ak:9000".into(),
            error: "cannot reach authentik: connection refused".into(),
            desired: authentik::Desired {
                wants: names.iter().map(|n| want(n, n)).collect(),
                ..authentik::Desired::default()
            },
        },
    };
    let text = print(&Desired::default(), &ChangeSet::default(), &dry);
    assert!(
        text.contains(
            "\n# would attach swag to network gatehouse (needed by c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, 490 more)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("# wanted in authentik: application c0 (container c0), c1 (container c1), ")
            && text.contains(" and 490 more\n"),
        "{text}"
    );
    for line in text.lines() {
        assert!(line.len() < 400, "{} characters: {line}", line.len());
    }
}
