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

use serde::{Deserialize, Serialize};

use crate::model::workload::Workload;
use crate::render::wording::{Describe, Tense};

mod planner;

pub use planner::plan;

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
pub(crate) struct Joined {
    pub(crate) container_id: String,
    /// For logs; the id is what counts.
    pub(crate) container: String,
    pub(crate) network_id: String,
    pub(crate) network: String,
}

impl fmt::Display for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to network {}", self.container, self.network)
    }
}

/// The attachments gatehouse made and has not undone yet (kept in a state file, so a restart
/// neither forgets nor leaks them).
///
/// An attachment is recorded in `requested` before the engine is asked for it and moves to
/// `joined` once the engine confirms it (its answer, or a listing showing it). A requested one
/// is dropped only once the engine confirms it is absent (a refusal of the request itself, or a
/// disconnect made after [`SETTLE_SECS`]): until then a request still in flight (a killed
/// process's, or one a listing raced) may yet attach it, and the attachment stays gatehouse's.
/// Files written before `requested` existed load with it empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    #[serde(default)]
    pub(crate) joined: BTreeSet<Joined>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) requested: BTreeSet<Requested>,
}

/// How long after its request an unconfirmed attachment may still appear: longer than any
/// request to the engine lasts (the client gives up after 120 s).
pub(crate) const SETTLE_SECS: u64 = 150;

/// An attachment gatehouse asked for, the engine's answer not known yet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Requested {
    #[serde(flatten)]
    pub(crate) join: Joined,
    /// When it was last asked for (Unix seconds).
    pub(crate) since: u64,
}

impl Remembered {
    /// Whether `join` is on record, confirmed or not.
    pub(crate) fn has(&self, join: &Joined) -> bool {
        self.joined.contains(join) || self.requested.iter().any(|r| &r.join == join)
    }

    /// Records that `join` is being asked for at `now` (a confirmed one stays confirmed).
    pub(crate) fn request(&mut self, join: &Joined, now: u64) {
        if self.joined.contains(join) {
            return;
        }
        self.requested.retain(|r| &r.join != join);
        self.requested.insert(Requested {
            join: join.clone(),
            since: now,
        });
    }

    /// The engine confirmed `join` exists: gatehouse's.
    pub(crate) fn confirm(&mut self, join: &Joined) {
        self.requested.retain(|r| &r.join != join);
        self.joined.insert(join.clone());
    }

    /// The engine confirmed `join` does not exist (or it was undone): off the record.
    pub(crate) fn drop_join(&mut self, join: &Joined) -> bool {
        let before = self.requested.len();
        self.requested.retain(|r| &r.join != join);
        self.joined.remove(join) || self.requested.len() != before
    }
}

/// What SWAG must reach: a published app, or authentik.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub(crate) container: &'a Workload,
    pub(crate) kind: TargetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetKind {
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
pub(crate) enum NetAction {
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
    pub(crate) name: String,
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
pub(crate) const MANAGED_LABEL: &str = "gatehouse.managed";

/// A remembered attachment someone else undid, dropped from the record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forget<'a>(pub &'a Joined);

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
pub(crate) struct NetRejection {
    pub(crate) container: String,
    pub(crate) reason: String,
}

/// What to do about networks this pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPlan {
    pub(crate) actions: Vec<NetAction>,
    pub(crate) rejections: Vec<NetRejection>,
    /// Problems that reject nothing, by container.
    pub(crate) warnings: Vec<(String, String)>,
    /// Remembered attachments that no longer exist (someone else undid them): drop them.
    pub(crate) forget: Vec<Joined>,
    /// What becomes of the requested attachments (boxed: a plan is carried by value).
    pub(crate) requests: Box<Settle>,
}

/// What becomes of the attachments gatehouse asked for and the engine has not confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settle {
    /// The listing shows them: confirmed, gatehouse's.
    pub(crate) confirm: Vec<Joined>,
    /// Neither shown nor needed: the engine must confirm they are absent (a disconnect once
    /// [`SETTLE_SECS`] have passed) before they are dropped.
    pub(crate) unsettled: Vec<Requested>,
}

/// Why SWAG could not be picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SwagLookup {
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
pub(crate) fn find_swag<'a>(
    containers: &'a [Workload],
    wanted: &str,
) -> Result<&'a Workload, SwagLookup> {
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

/// SWAG and authentik's server (`authentik`) out of `all` when the scoped listing `scoped` does
/// not hold them: they are not apps, so the scope label (which picks the apps) must not hide
/// them. Only containers missing from `scoped` are returned, and none of them is an app.
pub(crate) fn outside_scope(
    all: Vec<Workload>,
    scoped: &[Workload],
    swag: &str,
    authentik: &str,
) -> Vec<Workload> {
    let mut wanted: Vec<&str> = Vec::new();
    if find_swag(scoped, swag).is_err() {
        if let Ok(s) = find_swag(&all, swag) {
            wanted.push(&s.id);
        }
    }
    if find_named(scoped, authentik).is_none() {
        if let Some(a) = find_named(&all, authentik) {
            wanted.push(&a.id);
        }
    }
    let wanted: BTreeSet<String> = wanted.into_iter().map(str::to_owned).collect();
    all.into_iter()
        .filter(|c| wanted.contains(&c.id) && !scoped.iter().any(|s| s.id == c.id))
        .collect()
}

/// The running container with this name, full id, or id prefix of at least 12 characters.
pub(crate) fn find_named<'a>(containers: &'a [Workload], wanted: &str) -> Option<&'a Workload> {
    let wanted = wanted.trim_start_matches('/');
    containers.iter().find(|c| c.name == wanted).or_else(|| {
        (wanted.len() >= 12)
            .then(|| containers.iter().find(|c| c.id.starts_with(wanted)))
            .flatten()
    })
}

/// Whether an image reference is linuxserver's SWAG, from any registry, with any tag or digest.
pub(crate) fn is_swag_image(image: &str) -> bool {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
    let repo = match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    };
    repo == "linuxserver/swag" || repo.ends_with("/linuxserver/swag")
}

/// A Docker network name as a label may give it (the grammar lives in [`crate::model::spec`]).
pub(crate) fn valid_network_name(s: &str) -> bool {
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod swarm_tests;
