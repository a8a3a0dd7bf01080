//! Which networks SWAG (or, in shared mode, each app) must be attached to, and what to connect and
//! disconnect to get there (pure).
//!
//! SWAG reaches an app by its container name only over a user-defined network they share. By
//! default gatehouse attaches SWAG to each published app's network (and to authentik's), and
//! detaches it again once nothing running needs it, so `docker compose down` can remove the
//! app's network. In shared mode every app SWAG cannot reach otherwise joins one shared network
//! instead. Only attachments gatehouse made itself ([`Remembered`]) are ever undone.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::workload::Workload;
use crate::render::wording::{Describe, Tense};

/// How SWAG is brought onto the apps' networks (`GATEHOUSE_NETWORK_MODE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// SWAG joins each app's own network; stacks stay isolated from each other.
    PerApp,
    /// Apps (and SWAG) join the one network named here, created when missing.
    Shared(String),
}

/// Docker's built-in networks: no name resolution between containers (`bridge`) or no network
/// of the container's own at all.
const BUILT_IN: [&str; 3] = ["bridge", "host", "none"];

/// One attachment gatehouse made: `container` joined `network`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Joined {
    pub container_id: String,
    /// For logs; the id is what counts.
    pub container: String,
    pub network_id: String,
    pub network: String,
}

impl fmt::Display for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to network {}", self.container, self.network)
    }
}

/// The attachments gatehouse made and has not undone yet (kept in a state file, so a restart
/// neither forgets nor leaks them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    #[serde(default)]
    pub joined: BTreeSet<Joined>,
}

/// What SWAG must reach: a published app, or authentik.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub container: &'a Workload,
    pub kind: TargetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// A published app. `network_label` is the raw value of `<prefix>.network`, if set.
    /// `address` is its upstream host. `report` is false when the app is already rejected for
    /// its labels (its kept conf still needs the network, but one rejection is enough).
    App {
        network_label: Option<String>,
        label_key: String,
        address: String,
        report: bool,
    },
    Authentik,
}

/// One change to an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAction {
    /// Attach. An empty `network_id` means the network is known by name only (the shared
    /// network before it exists): the caller looks it up, creating it if missing.
    Connect {
        join: Joined,
        needed_by: Vec<String>,
    },
    /// Undo an attachment gatehouse made.
    Disconnect { join: Joined, why: String },
}

impl Describe for NetAction {
    /// `attached swag to network a_default (needed by a)`, `detached swag from network
    /// a_default: container a is not running`.
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { join, needed_by } => write!(
                f,
                "{} {} to network {} (needed by {})",
                tense.verb("attach", "attached"),
                join.container,
                join.network,
                needed_by.join(", ")
            ),
            Self::Disconnect { join, why } => write!(
                f,
                "{} {} from network {}: {why}",
                tense.verb("detach", "detached"),
                join.container,
                join.network
            ),
        }
    }
}

/// The shared network of `shared` mode, made when the first attachment needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNetwork {
    pub name: String,
}

impl Describe for NewNetwork {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} network {} (the shared network of GATEHOUSE_NETWORK_MODE=shared, labelled {MANAGED_LABEL}=true)",
            tense.verb("create", "created"),
            self.name
        )
    }
}

/// The label on a network gatehouse created.
pub const MANAGED_LABEL: &str = "gatehouse.managed";

/// A remembered attachment someone else undid, dropped from the record.
#[derive(Debug, Clone, Copy)]
pub struct Forget<'a>(pub &'a Joined);

impl Describe for Forget<'_> {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} gatehouse's record of attaching {}: it is not attached any more (someone else undid it)",
            tense.verb("drop", "dropped"),
            self.0
        )
    }
}

/// A published app SWAG cannot be brought to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRejection {
    pub container: String,
    pub reason: String,
}

/// What to do about networks this pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPlan {
    pub actions: Vec<NetAction>,
    pub rejections: Vec<NetRejection>,
    /// Problems that reject nothing, by container.
    pub warnings: Vec<(String, String)>,
    /// Remembered attachments that no longer exist (someone else undid them): drop them.
    pub forget: Vec<Joined>,
}

/// Why SWAG could not be picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwagLookup {
    NotFound { wanted: String },
    Several { wanted: String, found: Vec<String> },
}

impl fmt::Display for SwagLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { wanted } => write!(
                f,
                "no running container is named {wanted} and none runs a linuxserver/swag image: set GATEHOUSE_SWAG_CONTAINER to SWAG's container name; networks are left alone, confs are still written"
            ),
            Self::Several { wanted, found } => write!(
                f,
                "no running container is named {wanted} and several run a linuxserver/swag image ({}): set GATEHOUSE_SWAG_CONTAINER to the right one; networks are left alone, confs are still written",
                found.join(", ")
            ),
        }
    }
}

/// SWAG's container: the one named (or with the id) `wanted`, else the only running container
/// of a `linuxserver/swag` image.
pub fn find_swag<'a>(containers: &'a [Workload], wanted: &str) -> Result<&'a Workload, SwagLookup> {
    if let Some(c) = find_named(containers, wanted) {
        return Ok(c);
    }
    let by_image: Vec<&Workload> = containers
        .iter()
        .filter(|c| is_swag_image(&c.image))
        .collect();
    match by_image.as_slice() {
        [only] => Ok(only),
        [] => Err(SwagLookup::NotFound {
            wanted: wanted.to_owned(),
        }),
        several => {
            let mut found: Vec<String> = several.iter().map(|c| c.name.clone()).collect();
            found.sort();
            Err(SwagLookup::Several {
                wanted: wanted.to_owned(),
                found,
            })
        }
    }
}

/// The running container with this name, full id, or id prefix of at least 12 characters.
pub fn find_named<'a>(containers: &'a [Workload], wanted: &str) -> Option<&'a Workload> {
    let wanted = wanted.trim_start_matches('/');
    containers.iter().find(|c| c.name == wanted).or_else(|| {
        (wanted.len() >= 12)
            .then(|| containers.iter().find(|c| c.id.starts_with(wanted)))
            .flatten()
    })
}

/// Whether an image reference is linuxserver's SWAG, from any registry, with any tag or digest.
pub fn is_swag_image(image: &str) -> bool {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
    let repo = match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    };
    repo == "linuxserver/swag" || repo.ends_with("/linuxserver/swag")
}

/// A Docker network name as a label may give it (the grammar lives in [`crate::model::spec`]).
pub fn valid_network_name(s: &str) -> bool {
    crate::model::spec::is_network_name(s)
}

/// The container's user-defined networks (name → id): the ones with name resolution.
fn user_networks(c: &Workload) -> BTreeMap<&str, &str> {
    c.networks
        .iter()
        .filter(|(name, _)| !BUILT_IN.contains(&name.as_str()))
        .map(|(name, a)| (name.as_str(), a.network_id.as_str()))
        .collect()
}

/// Plans the attachments. `running` holds every running container (to tell a stopped one from a
/// live one); `swag` is SWAG's; `targets` what SWAG must reach.
pub fn plan(
    swag: &Workload,
    targets: &[Target<'_>],
    running: &[Workload],
    remembered: &Remembered,
    mode: &NetworkMode,
) -> NetPlan {
    let mut out = NetPlan::default();
    let by_id: BTreeMap<&str, &Workload> = running.iter().map(|c| (c.id.as_str(), c)).collect();
    let ours: BTreeSet<(&str, &str)> = remembered
        .joined
        .iter()
        .map(|j| (j.container_id.as_str(), j.network_id.as_str()))
        .collect();
    // Networks a container is on that gatehouse did not put it on.
    let users_own = |c: &Workload| -> BTreeMap<String, String> {
        user_networks(c)
            .into_iter()
            .filter(|(_, id)| !ours.contains(&(c.id.as_str(), id)))
            .map(|(n, id)| (n.to_owned(), id.to_owned()))
            .collect()
    };
    let swag_users_own = users_own(swag);
    let swag_now = user_networks(swag);
    // (container id, network id) -> who needs it; plus the join itself.
    let mut needed: BTreeMap<(String, String), (Joined, Vec<String>)> = BTreeMap::new();
    let mut need = |join: Joined, by: &str| {
        let key = (join.container_id.clone(), join.network_id.clone());
        let key = if join.network_id.is_empty() {
            (join.container_id.clone(), format!("name:{}", join.network))
        } else {
            key
        };
        let entry = needed.entry(key).or_insert_with(|| (join, Vec::new()));
        if !entry.1.iter().any(|b| b == by) {
            entry.1.push(by.to_owned());
        }
    };
    let swag_joins = |network: &str, network_id: &str| Joined {
        container_id: swag.id.clone(),
        container: swag.name.clone(),
        network_id: network_id.to_owned(),
        network: network.to_owned(),
    };

    let shared_id = |name: &str| -> String {
        std::iter::once(swag)
            .chain(running.iter())
            .find_map(|c| c.networks.get(name).map(|a| a.network_id.clone()))
            .unwrap_or_default()
    };

    for t in targets {
        let c = t.container;
        if c.id == swag.id {
            continue;
        }
        if let TargetKind::App { address, .. } = &t.kind {
            // An upstream given as an IP address needs no name resolution, and one naming
            // something other than this container (a host on the LAN, another container) is not
            // reached through this container's networks: nothing to attach, nothing to reject.
            let names_this_container = address == &c.name
                || c.labels.get("com.docker.compose.service") == Some(address)
                || (address.len() >= 12 && c.id.starts_with(address.as_str()));
            if address.parse::<IpAddr>().is_ok() || !names_this_container {
                continue;
            }
        }
        let mine = users_own(c);
        let reachable = mine
            .values()
            .any(|id| swag_users_own.values().any(|s| s == id));
        if reachable {
            continue;
        }
        let report = match &t.kind {
            TargetKind::App { report, .. } => *report,
            TargetKind::Authentik => false,
        };
        let what = match t.kind {
            TargetKind::Authentik => "authentik container",
            TargetKind::App { .. } => "container",
        };
        let no_network_of_its_own =
            c.networks.is_empty() || c.networks.keys().all(|n| n == "host" || n == "none");
        if no_network_of_its_own {
            out.warnings.push((
                c.name.clone(),
                "has no network of its own (network_mode host, none or container:…): gatehouse does not attach SWAG for it; make sure SWAG can reach its address".into(),
            ));
            continue;
        }
        if let NetworkMode::Shared(shared) = mode {
            let id = shared_id(shared);
            need(swag_joins(shared, &id), &c.name);
            need(
                Joined {
                    container_id: c.id.clone(),
                    container: c.name.clone(),
                    network_id: id,
                    network: shared.clone(),
                },
                &c.name,
            );
            continue;
        }
        let theirs = user_networks(c);
        let label = match &t.kind {
            TargetKind::App {
                network_label: Some(v),
                label_key,
                ..
            } => Some((v.as_str(), label_key.as_str())),
            _ => None,
        };
        let list = |m: &BTreeMap<&str, &str>| m.keys().copied().collect::<Vec<_>>().join(", ");
        if let Some((value, key)) = label {
            let value = match crate::labels::network::parse(&c.name, key, value) {
                Ok(value) => value,
                Err(reason) => {
                    if report {
                        out.rejections.push(NetRejection {
                            container: c.name.clone(),
                            reason,
                        });
                    }
                    continue;
                }
            };
            match theirs.get(value) {
                Some(id) => need(swag_joins(value, id), &c.name),
                None => {
                    if report {
                        out.rejections.push(NetRejection {
                            container: c.name.clone(),
                            reason: format!(
                                "container {}: label {key}={value} names a network the container is not on (it is on: {}); set it to one of those",
                                c.name,
                                if theirs.is_empty() { "only the default bridge".to_owned() } else { list(&theirs) }
                            ),
                        });
                    }
                }
            }
            continue;
        }
        match theirs.len() {
            0 => {
                if report {
                    out.rejections.push(NetRejection {
                        container: c.name.clone(),
                        reason: format!(
                            "container {0} is only on Docker's default bridge network, where SWAG cannot reach it by name: put it on a network of its own (in compose, drop `network_mode: bridge`; with docker run, `docker network create {0}-net` and `docker network connect {0}-net {0}`), or set GATEHOUSE_NETWORK_MODE=shared",
                            c.name
                        ),
                    });
                } else if t.kind == TargetKind::Authentik {
                    out.warnings.push((
                        c.name.clone(),
                        format!("({what}) is only on Docker's default bridge network, where SWAG cannot reach it by name; put it on a network of its own"),
                    ));
                }
            }
            1 => {
                if let Some((n, id)) = theirs.iter().next() {
                    need(swag_joins(n, id), &c.name);
                }
            }
            _ if t.kind == TargetKind::Authentik => {
                for (n, id) in &theirs {
                    need(swag_joins(n, id), &c.name);
                }
            }
            _ => {
                // Keep what already works: a network gatehouse attached SWAG to for it earlier
                // (or for another app) still serves.
                let kept: Vec<(&str, &str)> = theirs
                    .iter()
                    .filter(|(_, id)| {
                        ours.contains(&(swag.id.as_str(), **id))
                            && swag_now.values().any(|s| s == *id)
                    })
                    .map(|(n, id)| (*n, *id))
                    .collect();
                if kept.is_empty() {
                    if report {
                        let key = match &t.kind {
                            TargetKind::App { label_key, .. } => label_key.as_str(),
                            TargetKind::Authentik => "",
                        };
                        out.rejections.push(NetRejection {
                            container: c.name.clone(),
                            reason: format!(
                                "container {} is on several networks ({}) and SWAG shares none of them: set label {key} to the one SWAG should join",
                                c.name,
                                list(&theirs)
                            ),
                        });
                    }
                } else {
                    for (n, id) in kept {
                        need(swag_joins(n, id), &c.name);
                    }
                }
            }
        }
    }
    if let NetworkMode::Shared(shared) = mode {
        // SWAG is on the shared network whenever gatehouse manages networks in shared mode.
        need(
            swag_joins(shared, &shared_id(shared)),
            "GATEHOUSE_NETWORK_MODE=shared",
        );
    }

    // What exists now that gatehouse made, and whether it is still needed.
    let mut keep: BTreeSet<(String, String)> = BTreeSet::new();
    for j in &remembered.joined {
        let key = (j.container_id.clone(), j.network_id.clone());
        let Some(c) = by_id.get(j.container_id.as_str()) else {
            // Stopped or removed: undo it, so the network is free (a 404 means it went with the
            // container).
            out.actions.push(NetAction::Disconnect {
                join: j.clone(),
                why: format!("container {} is not running", j.container),
            });
            continue;
        };
        let attached = c.networks.values().any(|a| a.network_id == j.network_id);
        if !attached {
            out.forget.push(j.clone());
            continue;
        }
        let by_name = (j.container_id.clone(), format!("name:{}", j.network));
        if needed.contains_key(&key) || needed.contains_key(&by_name) {
            keep.insert(key);
            keep.insert(by_name);
            continue;
        }
        out.actions.push(NetAction::Disconnect {
            join: j.clone(),
            why: "no running published app needs it any more".into(),
        });
    }
    // Connect SWAG before the apps, so the shared network exists (created once) by then.
    let mut connects: Vec<NetAction> = Vec::new();
    for (key, (join, by)) in needed {
        if keep.contains(&key) {
            continue;
        }
        let Some(c) = by_id
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
        if on_it {
            continue;
        }
        connects.push(NetAction::Connect {
            join,
            needed_by: by,
        });
    }
    connects.sort_by_key(|a| match a {
        NetAction::Connect { join, .. } => (join.container_id != swag.id, join.clone()),
        NetAction::Disconnect { join, .. } => (true, join.clone()),
    });
    out.actions.extend(connects);
    out.rejections.sort_by(|a, b| a.container.cmp(&b.container));
    out
}

#[cfg(test)]
mod tests {
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
}
