//! Judging what was observed of the Docker engine, SWAG and the apps (pure: observed data in,
//! [`Check`]s out). The authentik checks are in `judge_authentik`.

use std::collections::BTreeMap;

use crate::edge::docker::{EngineVersion, Inspected};
use crate::model::check::{Check, CheckLevel};
use crate::model::workload::Workload;
use crate::plan::networks::find_named;

/// The oldest Docker API gatehouse speaks.
pub(crate) const MIN_API: (u32, u32) = (1, 41);

/// linuxserver images run as 911:911 when PUID/PGID are not set.
const LINUXSERVER_DEFAULT_ID: &str = "911";

/// Networks without name resolution between containers (or no network of its own).
const BUILT_IN: [&str; 3] = ["bridge", "host", "none"];

pub(crate) fn ok(name: &str, found: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        level: CheckLevel::Ok,
        found: found.into(),
        fix: None,
    }
}

pub(crate) fn warn(name: &str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        level: CheckLevel::Warn,
        found: found.into(),
        fix: Some(fix.into()),
    }
}

pub(crate) fn fail(name: &str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        level: CheckLevel::Fail,
        found: found.into(),
        fix: Some(fix.into()),
    }
}

fn api_version(raw: &str) -> Option<(u32, u32)> {
    let (major, minor) = raw.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `docker.engine`: the engine answers, and speaks API 1.41 or newer.
pub(crate) fn docker_engine(seen: &Result<EngineVersion, String>, endpoint: &str) -> Check {
    const NAME: &str = "docker.engine";
    let v = match seen {
        Ok(v) => v,
        Err(e) => {
            return fail(
                NAME,
                format!("the Docker engine at {endpoint} does not answer: {e}"),
                "mount the Docker socket into gatehouse's container (or set DOCKER_HOST) and give it the socket's group (group_add)",
            )
        }
    };
    let found = format!(
        "Docker {} answers at {endpoint}, API {}",
        v.version, v.api_version
    );
    match api_version(&v.api_version) {
        Some(api) if api >= MIN_API => ok(NAME, found),
        _ => fail(
            NAME,
            format!("{found}: older than the API 1.41 gatehouse needs"),
            "update Docker Engine to 20.10 or newer",
        ),
    }
}

/// `swag.container`: which container is SWAG.
pub(crate) fn swag_found(found: Result<&Workload, String>) -> Check {
    match found {
        Ok(w) => ok(
            "swag.container",
            format!("SWAG is container {} ({})", w.name, w.image),
        ),
        Err(why) => fail(
            "swag.container",
            why,
            "start SWAG, or set GATEHOUSE_SWAG_CONTAINER to its container name",
        ),
    }
}

/// `swag.autoreload`: SWAG reloads nginx when a proxy-conf changes only with
/// `SWAG_AUTORELOAD=true`.
pub(crate) fn swag_autoreload(swag: &Inspected) -> Check {
    const NAME: &str = "swag.autoreload";
    match swag.env.get("SWAG_AUTORELOAD").map(|v| v.trim()) {
        Some("true") => ok(NAME, format!("SWAG_AUTORELOAD=true on {}", swag.name)),
        other => {
            let what = match other {
                None => "is not set".to_owned(),
                Some(v) => format!("is {}", crate::labels::shown(v)),
            };
            fail(
                NAME,
                format!("SWAG_AUTORELOAD {what} on {}: nginx does not load the confs gatehouse writes until SWAG restarts", swag.name),
                "set SWAG_AUTORELOAD=true in SWAG's environment and recreate it (docker compose up -d swag)",
            )
        }
    }
}

/// `swag.user`: the confs gatehouse writes are owned by its PUID/PGID; SWAG's user should be
/// the same one.
pub(crate) fn swag_user(swag: &Inspected, puid: u32, pgid: u32) -> Check {
    const NAME: &str = "swag.user";
    let get = |k: &str| {
        swag.env
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| LINUXSERVER_DEFAULT_ID.to_owned())
    };
    let (uid, gid) = (get("PUID"), get("PGID"));
    if uid == puid.to_string() && gid == pgid.to_string() {
        ok(
            NAME,
            format!("SWAG runs as {uid}:{gid}, the PUID/PGID gatehouse writes confs as"),
        )
    } else {
        warn(
            NAME,
            format!("SWAG ({}) runs as PUID/PGID {uid}:{gid}, gatehouse writes confs as {puid}:{pgid}", swag.name),
            format!("set PUID={uid} and PGID={gid} for gatehouse (the same as SWAG's), or change SWAG's"),
        )
    }
}

/// `swag.config`: the proxy-confs folder takes a file (written and removed again).
pub(crate) fn swag_config(folder: &str, seen: &Result<(), String>) -> Check {
    match seen {
        Ok(()) => ok("swag.config", format!("{folder} is writable")),
        Err(e) => fail(
            "swag.config",
            format!("cannot write in {folder}: {e}"),
            "mount SWAG's /config read-write into gatehouse at GATEHOUSE_SWAG_CONFIG, and run gatehouse as SWAG's PUID/PGID (or root)",
        ),
    }
}

/// One published app's upstream, as its labels give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstream {
    pub(crate) container: String,
    pub(crate) address: String,
}

/// The container SWAG reaches under `address`: one named so, or the app's own container when
/// `address` is its compose service (an alias on its networks). `None`: not a container.
fn target<'a>(all: &'a [Workload], app: &Upstream) -> Option<&'a Workload> {
    find_named(all, &app.address).or_else(|| {
        let own = find_named(all, &app.container)?;
        (own.labels.get("com.docker.compose.service") == Some(&app.address)).then_some(own)
    })
}

fn user_networks(w: &Workload) -> Vec<&str> {
    w.networks
        .keys()
        .map(String::as_str)
        .filter(|n| !BUILT_IN.contains(n))
        .collect()
}

/// Whether SWAG shares a user-defined network with `w` (where Docker's DNS resolves names).
pub(crate) fn shares_network(swag: &Workload, w: &Workload) -> bool {
    let theirs = user_networks(w);
    user_networks(swag).iter().any(|n| theirs.contains(n))
}

/// `swag.upstreams`: every published app's upstream is a container SWAG shares a network with.
pub(crate) fn upstreams(
    apps: &[Upstream],
    all: &[Workload],
    swag: &Workload,
    networks_managed: bool,
) -> Check {
    const NAME: &str = "swag.upstreams";
    let mut unreachable: BTreeMap<&str, String> = BTreeMap::new();
    let mut not_containers = 0usize;
    for app in apps {
        match target(all, app) {
            Some(t) if shares_network(swag, t) => {}
            Some(t) => {
                let nets = t.networks.keys().cloned().collect::<Vec<_>>().join(", ");
                unreachable.insert(&app.container, format!("{} on {nets}", t.name));
            }
            None => not_containers += 1,
        }
    }
    let others = if not_containers > 0 {
        format!(" ({not_containers} upstream(s) are no container name: not checked)")
    } else {
        String::new()
    };
    if unreachable.is_empty() {
        return ok(
            NAME,
            format!(
                "SWAG shares a network with the upstream of all {} published app(s){others}",
                apps.len() - not_containers
            ),
        );
    }
    let list: Vec<String> = unreachable
        .iter()
        .take(10)
        .map(|(app, why)| format!("{app} (upstream {why})"))
        .collect();
    let more = unreachable.len().saturating_sub(10);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let fix = if networks_managed {
        "`gatehouse run` attaches SWAG to each app's network: check that it runs and its log for why it did not; or `docker network connect <network> <swag>`"
    } else {
        "set GATEHOUSE_NETWORK_MODE (per-app or shared) so gatehouse attaches SWAG, or put the app on a network SWAG is on (`docker network connect <network> <swag>`)"
    };
    fail(
        NAME,
        format!(
            "SWAG shares no network with {}{more}: nginx cannot resolve them{others}",
            list.join(", ")
        ),
        fix,
    )
}
