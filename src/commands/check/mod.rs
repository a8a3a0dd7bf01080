//! `gatehouse check`, the doctor: every check a maintainer would run by hand, one line each
//! (ok / warn / fail, what was found, the fix). Exit 0 when nothing failed, 1 otherwise.
//!
//! Observe first ([`observe`], the engine and authentik, reads only), then judge with pure
//! functions ([`judge`], [`judge_authentik`]) that turn observed data into
//! [`Check`](crate::model::check::Check)s, so the status page can show the same results.
//! [`run_checks`] is the entry point ([`run_checks_read_only`] for callers that run the checks
//! often, such as the status page).

use std::fmt::Write as _;

use crate::config::{AuthentikSettings, Settings};
use crate::edge::authentik::{Api as _, Client};
use crate::edge::docker::{Engine, Inspected};
use crate::model::authentik::ServerVersion;
use crate::model::check::{Check, CheckLevel};
use crate::model::workload::Workload;

mod cidr;
pub(crate) mod judge;
pub(crate) mod judge_authentik;
mod observe;
mod time;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_authentik;

/// Runs every check against the engine and authentik as `settings` configure them (the
/// `check` command): the config folder's writability is tried with a file written and removed.
pub async fn run_checks(settings: &Settings, engine: &dyn Engine) -> Vec<Check> {
    checks(settings, Ok(engine), Probe::Write).await
}

/// The same checks without writing anything, for callers that run them often (the status
/// page): the config folder's writability is asked of the kernel (`access(2)`) instead, so SWAG's
/// autoreload never sees a file come and go.
pub async fn run_checks_read_only(settings: &Settings, engine: &dyn Engine) -> Vec<Check> {
    checks(settings, Ok(engine), Probe::Access).await
}

/// Runs the checks that need no engine when its client cannot even be set up (`why`), with the
/// engine check failed.
pub async fn run_checks_without_engine(settings: &Settings, why: String) -> Vec<Check> {
    checks(settings, Err(why), Probe::Write).await
}

/// How the config folder's writability is found out.
#[derive(Debug, Clone, Copy)]
enum Probe {
    Write,
    Access,
}

async fn checks(
    settings: &Settings,
    engine: Result<&dyn Engine, String>,
    probe: Probe,
) -> Vec<Check> {
    let mut out = Vec::new();
    let (version, endpoint) = match &engine {
        Ok(e) => (
            e.version().await.map_err(|e| e.to_string()),
            e.endpoint().to_string(),
        ),
        Err(why) => (Err(why.clone()), "DOCKER_HOST".to_owned()),
    };
    out.push(judge::docker_engine(&version, &endpoint));
    let folder = settings.swag_config.join("nginx/proxy-confs");
    out.push(judge::swag_config(
        &folder.display().to_string(),
        &match probe {
            Probe::Write => observe::probe_writable(&folder),
            Probe::Access => observe::access_writable(&folder),
        },
    ));
    let mut engine = engine.ok().filter(|_| version.is_ok());
    let all = match engine.map(|e| e.running_workloads()) {
        Some(listing) => match listing.await {
            Ok(all) => all,
            Err(e) => {
                out.push(judge::fail(
                    "docker.containers",
                    format!("the engine answers, but does not list its containers: {e}"),
                    "allow listing containers (a socket proxy needs CONTAINERS=1)",
                ));
                engine = None;
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let (ups, protected) = observe::apps(&all, settings);
    let swag = match engine {
        Some(e) => swag_checks(settings, e, &all, &ups, &mut out).await,
        None => None,
    };
    match &settings.authentik {
        Some(ak) => {
            authentik_checks(settings, ak, engine, &all, swag, protected, &mut out).await;
        }
        None => out.push(judge::ok(
            "authentik",
            "authentik provisioning is off (GATEHOUSE_AUTHENTIK_URL and _TOKEN unset): authentik is not checked",
        )),
    }
    out
}

/// SWAG found, its autoreload and user, the apps' upstreams. Returns SWAG's container and
/// inspection, for the authentik checks.
async fn swag_checks(
    settings: &Settings,
    engine: &dyn Engine,
    all: &[Workload],
    ups: &[judge::Upstream],
    out: &mut Vec<Check>,
) -> Option<(Workload, Inspected)> {
    let found = observe::swag(all, settings);
    out.push(judge::swag_found(found.clone()));
    let swag = found.ok()?;
    let inspected = match engine.inspect(&swag.id, observe::SWAG_ENV).await {
        Ok(Some(i)) => i,
        Ok(None) => Inspected {
            name: swag.name.clone(),
            ..Inspected::default()
        },
        Err(e) => {
            out.push(judge::fail(
                "swag.inspect",
                format!("cannot inspect SWAG's container {}: {e}", swag.name),
                "allow container inspection (a socket proxy needs CONTAINERS=1)",
            ));
            return None;
        }
    };
    out.push(judge::swag_autoreload(&inspected));
    out.push(judge::swag_user(&inspected, settings.puid, settings.pgid));
    out.push(judge::upstreams(
        ups,
        all,
        swag,
        settings.network_mode.is_some(),
    ));
    Some((swag.clone(), inspected))
}

async fn authentik_checks(
    settings: &Settings,
    ak: &AuthentikSettings,
    engine: Option<&dyn Engine>,
    all: &[Workload],
    swag: Option<(Workload, Inspected)>,
    protected: usize,
    out: &mut Vec<Check>,
) {
    use judge_authentik as j;
    let url = crate::status::logs::hide_url_credentials(&ak.url);
    let client = match Client::new(&ak.url, &ak.token) {
        Ok(c) => c,
        Err(e) => {
            out.push(judge::fail(
                "authentik.api",
                e.to_string(),
                "set GATEHOUSE_AUTHENTIK_URL to http(s)://host:port",
            ));
            return;
        }
    };
    let version = client.version().await.map(|v| v.version_current);
    out.push(j::reachable(&url, &version));
    let server = version.as_ref().ok().and_then(|v| ServerVersion::parse(v));
    if server.is_some() {
        let me = client.me().await;
        let tokens = match &me {
            Ok(me) => client.api_tokens_of(&me.user.username).await,
            Err(_) => Ok(Vec::new()),
        };
        out.push(j::token(&me, &tokens, now_unix()));
        out.push(j::outpost(&client.outposts().await, ak.outpost.as_deref()));
    }
    let (swag_w, swag_i) = match &swag {
        Some((w, i)) => (Some(w), Some(i)),
        None => (None, None),
    };
    let (path, env_base) = match engine {
        Some(e) => observe::proxy_path(e, settings, swag_i).await,
        None => Default::default(),
    };
    out.push(j::trusted_proxies(server, &path));
    let setting = match server {
        Some(v) if v >= j::BASE_URL_INTRODUCED => {
            client.settings_info().await.ok().and_then(|s| s.base_url)
        }
        _ => None,
    };
    out.push(j::base_url(server, setting.as_deref(), env_base.as_deref()));
    let location = observe::location(settings, all, swag_w);
    let ping = client.outpost_ping().await;
    out.push(j::authentik_location(protected, &location, &ping, &url));
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One line per check: `ok   name: found`, `WARN name: found; fix: …`, `FAIL …`.
pub fn line(c: &Check) -> String {
    let mark = match c.level {
        CheckLevel::Ok => "ok  ",
        CheckLevel::Warn => "WARN",
        CheckLevel::Fail => "FAIL",
    };
    let mut s = format!("{mark} {}: {}", c.name, one_line(&c.found));
    if let Some(fix) = &c.fix {
        let _ = write!(s, "; fix: {}", one_line(fix));
    }
    s
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Every check's line.
pub fn report(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
        s.push_str(&line(c));
        s.push('\n');
    }
    s
}

/// Whether any check failed (the command then exits 1).
pub fn any_failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.level == CheckLevel::Fail)
}
