//! Judging what was observed of authentik (pure: observed data in, [`Check`]s out).

use std::net::IpAddr;

use super::cidr::{parse_list, Cidr, AUTHENTIK_DEFAULT_TRUSTED};
use super::judge::{fail, ok, warn};
use super::time::{roughly, unix_seconds};
use crate::edge::authentik::doctor::{Me, TokenInfo};
use crate::edge::authentik::ApiError;
use crate::model::authentik::{Outpost, ServerVersion};
use crate::model::check::Check;
use crate::plan::authentik::EMBEDDED_OUTPOST;

/// authentik honours forwarded headers only from trusted proxy networks from this version on.
pub(crate) const TRUSTED_PROXIES_ENFORCED: ServerVersion = ServerVersion::new(2026, 8);
/// The Base URL setting exists from this version on…
pub(crate) const BASE_URL_INTRODUCED: ServerVersion = ServerVersion::new(2026, 8);
/// …and is required from this one.
pub(crate) const BASE_URL_REQUIRED: ServerVersion = ServerVersion::new(2026, 11);

const NEW_TOKEN: &str = "create an API token that does not expire (Directory → Tokens and App passwords → Create: intent API, Expiring off, or a service account's token) and set it as GATEHOUSE_AUTHENTIK_TOKEN";

/// `authentik.api`: authentik answers at gatehouse's URL, and which version it runs.
pub(crate) fn reachable(url: &str, version: &Result<String, ApiError>) -> Check {
    const NAME: &str = "authentik.api";
    match version {
        Ok(v) if ServerVersion::parse(v).is_some() => {
            ok(NAME, format!("authentik {v} answers at {url}"))
        }
        Ok(v) => warn(
            NAME,
            format!("authentik answers at {url} with a version gatehouse cannot read ({})", crate::labels::shown(v)),
            "check that GATEHOUSE_AUTHENTIK_URL is authentik's base URL",
        ),
        Err(e) if e.status() == Some(403) => fail(
            NAME,
            format!("authentik at {url} refuses the token: {e}"),
            NEW_TOKEN,
        ),
        Err(e) => fail(
            NAME,
            format!("authentik does not answer at {url}: {e}"),
            "start authentik, or set GATEHOUSE_AUTHENTIK_URL to an address gatehouse reaches it at (e.g. http://authentik-server:9000 on a shared network)",
        ),
    }
}

/// `authentik.token`: the token is accepted and does not expire. A token cannot read its own
/// identity, so this lists the API tokens of the user it authenticates as
/// (`/core/users/me/`, `/core/tokens/?user__username=…&intent=api`) and reads their `expiring` and
/// `expires`; it never asks for a key. `now` is Unix seconds.
pub(crate) fn token(
    me: &Result<Me, ApiError>,
    tokens: &Result<Vec<TokenInfo>, ApiError>,
    now: i64,
) -> Check {
    const NAME: &str = "authentik.token";
    let user = match me {
        Ok(me) => me.user.username.clone(),
        Err(e) if matches!(e.status(), Some(401 | 403)) => {
            return fail(NAME, format!("authentik refuses the token: {e}"), NEW_TOKEN)
        }
        Err(e) => {
            return warn(
                NAME,
                format!("cannot ask authentik whom the token belongs to: {e}"),
                "run the check again once authentik answers",
            )
        }
    };
    let tokens = match tokens {
        Ok(t) => t,
        Err(e) => {
            return warn(
                NAME,
                format!("the token is valid (user {user}), but its expiry cannot be read: {e}"),
                "give the token's user permission to view its tokens, or check the token's expiry in authentik's admin interface",
            )
        }
    };
    let expiry = |t: &TokenInfo| t.expires.as_deref().and_then(unix_seconds);
    // Tokens already expired are not the one in use: it was just accepted.
    let live: Vec<&TokenInfo> = tokens
        .iter()
        .filter(|t| !t.expiring || expiry(t).is_none_or(|at| at > now))
        .collect();
    let mut expiring: Vec<&TokenInfo> = live.iter().copied().filter(|t| t.expiring).collect();
    // The soonest first; an expiry that cannot be read counts as the soonest.
    expiring.sort_by_key(|t| expiry(t).unwrap_or(i64::MIN));
    let when = |t: &TokenInfo| {
        let raw = t.expires.as_deref().unwrap_or_default();
        match expiry(t) {
            Some(at) => format!("{raw} (in {})", roughly(at - now)),
            None => format!(
                "a time authentik wrote unreadably ({})",
                crate::labels::shown(raw)
            ),
        }
    };
    match (live.len(), expiring.first()) {
        (0, _) => warn(
            NAME,
            format!("the token is valid (user {user}), but authentik lists no API token of {user} (an OAuth2 token?): its expiry is unknown"),
            "use an API token (intent API, Expiring off) as GATEHOUSE_AUTHENTIK_TOKEN",
        ),
        (_, None) => ok(NAME, format!("the token is valid (user {user}); none of {user}'s API tokens expires")),
        (1, Some(t)) => warn(
            NAME,
            format!("the token (user {user}) expires at {}: gatehouse stops provisioning then", when(t)),
            NEW_TOKEN,
        ),
        (n, Some(t)) if n == expiring.len() => warn(
            NAME,
            format!("the token is valid (user {user}), and all {n} API tokens of {user} expire, the first at {}", when(t)),
            NEW_TOKEN,
        ),
        (n, Some(t)) => warn(
            NAME,
            format!(
                "the token is valid (user {user}); {} of {user}'s {n} API tokens expire (the first at {}), and authentik does not say which one gatehouse uses",
                expiring.len(),
                when(t)
            ),
            "make sure GATEHOUSE_AUTHENTIK_TOKEN is one with Expiring off, and delete the expiring ones nobody uses",
        ),
    }
}

/// `authentik.outpost`: the outpost gatehouse puts providers in exists (the embedded one unless
/// GATEHOUSE_AUTHENTIK_OUTPOST names another).
pub(crate) fn outpost(outposts: &Result<Vec<Outpost>, ApiError>, wanted: Option<&str>) -> Check {
    const NAME: &str = "authentik.outpost";
    let list = match outposts {
        Ok(l) => l,
        Err(e) => {
            return warn(
                NAME,
                format!("cannot list authentik's outposts: {e}"),
                "give the token's user permission to view outposts (an admin's token)",
            )
        }
    };
    let found = match wanted {
        Some(name) => list.iter().find(|o| o.name.eq_ignore_ascii_case(name)),
        None => list
            .iter()
            .find(|o| o.managed.as_deref() == Some(EMBEDDED_OUTPOST)),
    };
    match (found, wanted) {
        (Some(o), _) => ok(NAME, format!("outpost {:?} is present ({} provider(s))", o.name, o.providers.len())),
        (None, Some(name)) => fail(NAME, format!("authentik has no outpost named {name:?}"), "create it, or unset GATEHOUSE_AUTHENTIK_OUTPOST to use the embedded outpost"),
        (None, None) => fail(
            NAME,
            "authentik has no embedded outpost (managed goauthentik.io/outposts/embedded)",
            "unset AUTHENTIK_OUTPOSTS__DISABLE_EMBEDDED_OUTPOST on authentik, or set GATEHOUSE_AUTHENTIK_OUTPOST to the outpost SWAG's authentik-server.conf points at",
        ),
    }
}

/// What is known of how SWAG reaches authentik's server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProxyPath {
    /// authentik's server container, when found.
    pub(crate) authentik_container: Option<String>,
    /// Its `AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS`, when set.
    pub(crate) trusted_env: Option<String>,
    /// SWAG's address on each network it shares with authentik's server.
    pub(crate) swag_addresses: Vec<(String, String)>,
}

/// `authentik.trusted_proxies`: from 2026.8 authentik takes X-Forwarded-* only from its trusted
/// proxy networks; SWAG's address on the network it reaches authentik over must be in them, or
/// logins loop.
pub(crate) fn trusted_proxies(version: Option<ServerVersion>, path: &ProxyPath) -> Check {
    const NAME: &str = "authentik.trusted_proxies";
    let enforced = version.is_some_and(|v| v >= TRUSTED_PROXIES_ENFORCED);
    let Some(container) = &path.authentik_container else {
        return warn(
            NAME,
            "authentik's server container is not found: its trusted proxy networks cannot be read",
            "set GATEHOUSE_AUTHENTIK_CONTAINER to authentik's server container name",
        );
    };
    let (source, raw) = match &path.trusted_env {
        Some(v) => ("AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS", v.clone()),
        None => (
            "authentik's default trusted proxy networks",
            AUTHENTIK_DEFAULT_TRUSTED.join(","),
        ),
    };
    let nets: Vec<Cidr> = match parse_list(&raw) {
        Ok(n) => n,
        Err(bad) => {
            return fail(NAME, format!("AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS on {container} has {} which is no network", crate::labels::shown(&bad)), "write it comma-separated, e.g. AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS=127.0.0.0/8,172.16.0.0/12 (no brackets or quotes)");
        }
    };
    if path.swag_addresses.is_empty() {
        return fail(NAME, format!("SWAG shares no network with authentik's server {container}"), "put SWAG and authentik's server on one network (gatehouse does so while `gatehouse run` runs with GATEHOUSE_NETWORK_MODE set)");
    }
    let outside: Vec<String> = path
        .swag_addresses
        .iter()
        .filter(|(_, ip)| {
            !ip.parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|n| n.contains(ip)))
        })
        .map(|(net, ip)| format!("{ip} on {net}"))
        .collect();
    let shown: Vec<String> = path
        .swag_addresses
        .iter()
        .map(|(net, ip)| format!("{ip} on {net}"))
        .collect();
    if outside.is_empty() {
        let note = if enforced {
            ""
        } else {
            " (enforced from authentik 2026.8)"
        };
        return ok(
            NAME,
            format!("SWAG's address {} is in {source}{note}", shown.join(", ")),
        );
    }
    let found = format!("SWAG's address {} is not in {source} ({raw}): authentik ignores SWAG's X-Forwarded-* headers", outside.join(", "));
    let fix = format!("add SWAG's address or its network's subnet to AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS on authentik's server and worker (comma-separated, e.g. {raw},{}/32) and recreate them", outside[0].split(' ').next().unwrap_or_default());
    if enforced {
        fail(NAME, format!("{found}, and logins loop"), fix)
    } else {
        warn(
            NAME,
            format!("{found} from 2026.8 on (logins will loop after the upgrade)"),
            fix,
        )
    }
}

/// `authentik.base_url`: from 2026.8 authentik has a Base URL setting (System → Settings, or
/// `AUTHENTIK_WEB__BASE_URL`, scheme and host only); from 2026.11 it is required.
pub(crate) fn base_url(
    version: Option<ServerVersion>,
    setting: Option<&str>,
    env: Option<&str>,
) -> Check {
    const NAME: &str = "authentik.base_url";
    let fix = "set AUTHENTIK_WEB__BASE_URL=https://auth.<your domain> (scheme and host only) on authentik's server and worker, or System → Settings → Base URL";
    let Some(v) = version else {
        return warn(
            NAME,
            "authentik's version is unknown: the Base URL setting is not checked",
            "run the check again once authentik answers",
        );
    };
    let set = setting
        .filter(|s| !s.trim().is_empty())
        .map(|s| (s, "System → Settings"))
        .or_else(|| {
            env.filter(|s| !s.trim().is_empty())
                .map(|s| (s, "AUTHENTIK_WEB__BASE_URL"))
        });
    match set {
        Some((url, from)) => ok(NAME, format!("the Base URL is {url} ({from})")),
        None if v < BASE_URL_INTRODUCED => ok(NAME, format!("authentik {v} has no Base URL setting yet (2026.8 adds it, 2026.11 requires it: set AUTHENTIK_WEB__BASE_URL before upgrading)")),
        None if v < BASE_URL_REQUIRED => warn(NAME, format!("authentik {v} has no Base URL set; 2026.11 requires it"), fix),
        None => fail(NAME, format!("authentik {v} requires a Base URL and none is set"), fix),
    }
}

/// What is known of SWAG's authentik location (`nginx/authentik-server.conf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// The conf is missing.
    NoConf,
    /// It sends `/outpost.goauthentik.io` to `upstream`, which is a running container sharing a
    /// network with SWAG (`Some(true)`), one that does not (`Some(false)`), or none (`None`).
    Upstream {
        upstream: String,
        shares: Option<bool>,
    },
}

/// `swag.authentik_location`: for protected apps, SWAG's authentik location reaches authentik's
/// server, and the embedded outpost answers its ping there (204). The ping goes to the URL
/// gatehouse uses: gatehouse cannot send a request from inside SWAG's network namespace without
/// `docker exec`, so the SWAG half is checked from the conf and the networks.
pub(crate) fn authentik_location(
    protected: usize,
    conf: &Location,
    ping: &Result<u16, ApiError>,
    url: &str,
) -> Check {
    const NAME: &str = "swag.authentik_location";
    if protected == 0 {
        return ok(
            NAME,
            "no protected app: SWAG's authentik location is not used",
        );
    }
    let upstream = match conf {
        Location::NoConf => {
            return fail(
                NAME,
                "SWAG's nginx/authentik-server.conf is missing: protected apps answer 500",
                "restart SWAG (it creates the file from its sample), or check GATEHOUSE_SWAG_CONFIG",
            )
        }
        Location::Upstream { upstream, shares } => match shares {
            Some(true) => upstream,
            Some(false) => {
                return fail(
                    NAME,
                    format!("SWAG's authentik-server.conf sends /outpost.goauthentik.io to {upstream}:9000, but SWAG shares no network with {upstream}"),
                    "put SWAG on authentik's network (`docker network connect <authentik's network> <swag>`), or let `gatehouse run` attach it",
                )
            }
            None => {
                return fail(
                    NAME,
                    format!("SWAG's authentik-server.conf sends /outpost.goauthentik.io to {upstream}:9000, but no running container is called {upstream}"),
                    format!("name authentik's server container {upstream} (container_name), or change `set $upstream_authentik` in authentik-server.conf"),
                )
            }
        },
    };
    match ping {
        Ok(204) => ok(
            NAME,
            format!("authentik-server.conf sends /outpost.goauthentik.io to {upstream}:9000 (on a network with SWAG); the outpost's ping at {url} answers 204"),
        ),
        Ok(s) => fail(
            NAME,
            format!("the outpost's ping {url}/outpost.goauthentik.io/ping answers {s}, not 204: the embedded outpost is not serving"),
            "check authentik's server log for the embedded outpost, and that GATEHOUSE_AUTHENTIK_URL points at authentik's server (port 9000)",
        ),
        Err(e) => fail(
            NAME,
            format!("the outpost's ping at {url} does not answer: {e}"),
            "start authentik's server",
        ),
    }
}

/// The upstream name in `set $upstream_authentik NAME;` of SWAG's authentik-server.conf.
pub(crate) fn upstream_in_conf(conf: &str) -> Option<String> {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix("set $upstream_authentik "))
        .map(|rest| rest.trim_end_matches(';').trim().to_owned())
        .filter(|n| !n.is_empty())
}
