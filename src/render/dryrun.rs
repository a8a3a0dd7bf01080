//! What `gatehouse render` shows: every change a pass would make, in three sections (proxy-confs,
//! networks, authentik), in a fixed order, each change in the words its log line would use
//! (pure; `reconcile` fills in the previews without applying anything).

use std::fmt::Write as _;

use crate::plan::authentik;
use crate::plan::networks::{Forget, NetPlan, NetworkMode, NewNetwork};
use crate::plan::{Change, ChangeSet, Desired};
use crate::render::wording::{Describe, Tense};

/// What the dry run found besides the conf changes.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub networks: NetPreview,
    pub authentik: AuthentikPreview,
}

impl DryRun {
    /// Whether part of what a pass would do could not be shown (authentik did not answer): the
    /// dry run then exits non-zero, as `run --once` does when it cannot reach authentik.
    pub fn incomplete(&self) -> bool {
        matches!(self.authentik, AuthentikPreview::Unreachable { .. })
    }
}

/// What the network step would do.
#[derive(Debug, Clone)]
pub enum NetPreview {
    /// `GATEHOUSE_NETWORK_MODE=off`.
    Off,
    /// Networks are left alone (SWAG not found, or without a network of its own), and why.
    LeftAlone(String),
    Planned {
        mode: NetworkMode,
        /// SWAG's container name.
        swag: String,
        /// The shared network, when it does not exist yet.
        create: Vec<NewNetwork>,
        plan: NetPlan,
        /// Things to know that change nothing.
        notes: Vec<String>,
    },
}

/// What authentik provisioning would do.
#[derive(Debug, Clone)]
pub enum AuthentikPreview {
    /// `GATEHOUSE_AUTHENTIK_URL` or the token is unset.
    Off,
    /// The settings are given but no client can be made from them.
    NoClient(String),
    /// authentik did not answer, or refused the token: what is wanted is known, not what to do.
    Unreachable {
        url: String,
        error: String,
        desired: authentik::Desired,
    },
    Planned {
        url: String,
        preview: authentik::Preview,
    },
}

/// The dry run's text: a heading line, then the sections.
pub fn print(desired: &Desired, changes: &ChangeSet, dry: &DryRun) -> String {
    let mut out = String::from(
        "# gatehouse render: a dry run. Nothing below is done: no file is written, no network is changed, nothing is sent to authentik.\n",
    );
    confs(&mut out, desired, changes, dry);
    networks(&mut out, &dry.networks);
    authentik_section(&mut out, &dry.authentik);
    out
}

fn confs(out: &mut String, desired: &Desired, changes: &ChangeSet, dry: &DryRun) {
    let _ = writeln!(
        out,
        "\n== proxy-confs: {} app(s) published, {} rejected, {} change(s)",
        desired.apps.len(),
        desired.rejected.len(),
        changes.changes.len()
    );
    // Writes before removals, each by file name: the engine's listing order is no order.
    let mut sorted: Vec<&Change> = changes.changes.iter().collect();
    sorted.sort_by_key(|c| match c {
        Change::Write { file, .. } => (0, file.as_str()),
        Change::Remove { file, .. } => (1, file.as_str()),
    });
    for change in sorted {
        match change {
            Change::Write { content, .. } => {
                let _ = writeln!(out, "\n# {}:", change.said(Tense::Planned));
                out.push_str(content);
            }
            Change::Remove { .. } => {
                let _ = writeln!(out, "\n# {}", change.said(Tense::Planned));
            }
        }
    }
    let mut rejected: Vec<&str> = desired.rejected.iter().map(|r| r.reason.as_str()).collect();
    rejected.sort_unstable();
    if !rejected.is_empty() {
        out.push('\n');
    }
    for r in rejected {
        let _ = writeln!(out, "# rejected {r}");
    }
    // Network warnings are shown with the networks.
    let net_warnings: &[(String, String)] = match &dry.networks {
        NetPreview::Planned { plan, .. } => &plan.warnings,
        _ => &[],
    };
    let mut notes: Vec<String> = desired
        .warnings
        .iter()
        .filter(|w| !net_warnings.contains(w))
        .map(|(c, w)| format!("container {c} {w}"))
        .chain(
            changes
                .kept
                .iter()
                .map(|(file, why)| format!("{file} {why}")),
        )
        .collect();
    notes.sort();
    if !notes.is_empty() {
        out.push('\n');
    }
    for n in notes {
        let _ = writeln!(out, "# {n}");
    }
}

fn networks(out: &mut String, preview: &NetPreview) {
    let (mode, swag, create, plan, notes) = match preview {
        NetPreview::Off => {
            out.push_str("\n== networks: GATEHOUSE_NETWORK_MODE=off, networks are left alone\n");
            return;
        }
        NetPreview::LeftAlone(why) => {
            let _ = writeln!(out, "\n== networks: {why}");
            return;
        }
        NetPreview::Planned {
            mode,
            swag,
            create,
            plan,
            notes,
        } => (mode, swag, create, plan, notes),
    };
    let mode = match mode {
        NetworkMode::PerApp => "per-app mode".to_owned(),
        NetworkMode::Shared(n) => format!("shared mode (network {n})"),
    };
    let _ = writeln!(out, "\n== networks: {mode}, SWAG is container {swag}");
    let mut lines: Vec<String> = create
        .iter()
        .map(|n| n.said(Tense::Planned).to_string())
        .chain(
            plan.actions
                .iter()
                .map(|a| a.said(Tense::Planned).to_string()),
        )
        .chain(
            plan.forget
                .iter()
                .map(|j| Forget(j).said(Tense::Planned).to_string()),
        )
        .collect();
    if lines.is_empty() {
        lines.push("nothing to change: SWAG already reaches every published app".into());
    }
    let mut warnings: Vec<String> = plan
        .warnings
        .iter()
        .map(|(c, w)| format!("container {c} {w}"))
        .collect();
    warnings.sort();
    for line in lines.iter().chain(&warnings).chain(notes) {
        let _ = writeln!(out, "# {line}");
    }
}

fn authentik_section(out: &mut String, preview: &AuthentikPreview) {
    match preview {
        AuthentikPreview::Off => out.push_str(
            "\n== authentik: provisioning is off (GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN are not set)\n",
        ),
        AuthentikPreview::NoClient(e) => {
            let _ = writeln!(
                out,
                "\n== authentik: provisioning is off: cannot set up the client ({e})"
            );
        }
        AuthentikPreview::Unreachable {
            url,
            error,
            desired,
        } => {
            let _ = writeln!(
                out,
                "\n== authentik: {url}: {error}; what would change there cannot be shown"
            );
            let mut wanted: Vec<String> = desired
                .wants
                .iter()
                .map(|w| format!("{} (container {})", w.slug, w.container))
                .collect();
            wanted.sort();
            if !wanted.is_empty() {
                let _ = writeln!(
                    out,
                    "# wanted in authentik: application {}",
                    crate::render::wording::list(&wanted)
                );
            }
            let mut rejected: Vec<String> = desired
                .rejected
                .iter()
                .map(|r| format!("authentik not provisioned: {r}"))
                .collect();
            rejected.sort();
            for r in rejected {
                let _ = writeln!(out, "# {r}");
            }
        }
        AuthentikPreview::Planned { url, preview } => {
            let version = preview
                .version
                .map(|v| format!(", authentik {v}"))
                .unwrap_or_default();
            let _ = writeln!(out, "\n== authentik: {url}{version}");
            let mut lines = preview.actions(Tense::Planned);
            if lines.is_empty() {
                lines.push("nothing to change".into());
            }
            for line in lines.iter().chain(&preview.problems) {
                let _ = writeln!(out, "# {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
                problems: vec!["container wiki: application wiki already exists in authentik and was not made by gatehouse; leaving it alone (set auth.adopt=true to let gatehouse manage it, or choose another auth.slug)".into()],
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

    #[test]
    fn an_unreachable_authentik_is_said_with_what_is_wanted_and_makes_the_run_incomplete() {
        let want = crate::labels::authentik::AppWant {
            container: "jellyfin".into(),
            slug: "jelly".into(),
            name: "jellyfin".into(),
            group: None,
            icon: None,
            description: None,
            launch_url: None,
            external_host: "https://jelly.example.com".into(),
            skip_path_regex: String::new(),
            allow_groups: Vec::new(),
            outpost: None,
            adopt: false,
        };
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
}
