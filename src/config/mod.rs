//! Settings from the environment. Every variable is read and checked before any is used, and every
//! bad one is reported in one go, so a user fixes their `.env` once, not once per restart.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::labels::LabelRules;
use crate::plan::authentik::marker::Instance;
use crate::plan::networks::NetworkMode;

mod checks;
pub mod remote;
pub mod vars;

pub use remote::{OutpostMode, RemoteSettings, TokenMode};

use vars::{Reader, *};
pub use vars::{Var, KNOWN_VARS, VARS};

/// How log lines are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Everything gatehouse is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SWAG's `/config` folder (`GATEHOUSE_SWAG_CONFIG`).
    pub swag_config: PathBuf,
    pub labels: LabelRules,
    /// Quiet period after an event before a pass runs.
    pub(crate) debounce: Duration,
    /// Quiet period while events keep coming (one came within a second of the last), so a burst
    /// such as `docker compose up` gives few passes.
    pub(crate) debounce_burst: Duration,
    /// The longest a pass waits behind a stream of events.
    pub(crate) debounce_max: Duration,
    /// Time between full passes with no event.
    pub(crate) resync: Duration,
    /// How long a conf outlives its container.
    pub(crate) remove_grace: Duration,
    pub(crate) log_level: String,
    pub(crate) log_format: LogFormat,
    /// SWAG's user and group, given to the confs written.
    pub(crate) puid: u32,
    pub(crate) pgid: u32,
    /// `key=value`: only containers carrying this label are considered (several gatehouses on one
    /// engine, or tests sharing one).
    pub scope_label: Option<(String, String)>,
    /// SWAG's container name or id (`GATEHOUSE_SWAG_CONTAINER`).
    pub(crate) swag_container: String,
    /// authentik's server container name or id (`GATEHOUSE_AUTHENTIK_CONTAINER`).
    pub(crate) authentik_container: String,
    /// How SWAG reaches the apps (`GATEHOUSE_NETWORK_MODE`, `GATEHOUSE_SHARED_NETWORK`); `None`:
    /// gatehouse leaves networks alone.
    pub(crate) network_mode: Option<NetworkMode>,
    /// Where `run` records its passes for `gatehouse health` (`GATEHOUSE_HEALTH_FILE`).
    pub health_file: PathBuf,
    /// authentik provisioning; `None` when URL and token are both unset (provisioning off).
    pub(crate) authentik: Option<AuthentikSettings>,
    /// `GATEHOUSE_MFA`: what authentik's default authentication flow asks of every login.
    pub(crate) mfa: crate::model::authentik::MfaMode,
    /// Where `run` serves the status page and `/metrics` (`GATEHOUSE_LISTEN`); `None`: off.
    pub listen: Option<std::net::SocketAddr>,
    /// Where single sign-on credentials go (`GATEHOUSE_SSO_DIR`, default
    /// `<swag_config>/gatehouse/sso`).
    pub sso_dir: PathBuf,
    /// authentik as browsers and apps reach it (`GATEHOUSE_AUTHENTIK_PUBLIC_URL`); `None`: the
    /// API's URL.
    pub(crate) authentik_public_url: Option<String>,
    /// authentik's PostgreSQL container for `gatehouse db` (`GATEHOUSE_DB_CONTAINER`); `None`:
    /// found through the compose project of authentik's containers.
    pub(crate) db_container: Option<String>,
    /// Which outpost serves this host's apps (`GATEHOUSE_OUTPOST`).
    pub outpost: OutpostMode,
    /// Whether Swarm services are listed besides containers (`GATEHOUSE_SWARM`).
    pub(crate) swarm: SwarmSetting,
}

impl Settings {
    /// The base of single sign-on issuers: the public URL, else the API's.
    pub(crate) fn issuer_base(&self) -> Option<String> {
        self.authentik_public_url
            .clone()
            .or_else(|| self.authentik.as_ref().map(|a| a.url.clone()))
    }
}

/// `GATEHOUSE_SWARM`: list Swarm services when the engine is a manager (`auto`), insist on it
/// (`on`: anything else is reported as an error), or never (`off`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SwarmSetting {
    #[default]
    Auto,
    On,
    Off,
}

/// How gatehouse reaches and provisions authentik.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthentikSettings {
    /// Base URL of authentik (`GATEHOUSE_AUTHENTIK_URL`), without `/api/v3`, no trailing slash.
    pub url: String,
    /// API token (`GATEHOUSE_AUTHENTIK_TOKEN` or the file named by `GATEHOUSE_AUTHENTIK_TOKEN_FILE`).
    pub token: String,
    /// The domain apps are served under (`GATEHOUSE_DOMAIN`): external host `<sub>.<domain>`.
    pub domain: String,
    /// `https` (default) or `http`: the scheme of the external host.
    pub external_scheme: String,
    /// Outpost name to put providers in; `None`: the embedded outpost.
    pub outpost: Option<String>,
    pub authorization_flow: String,
    pub invalidation_flow: String,
    /// This gatehouse among several sharing one authentik (`GATEHOUSE_INSTANCE`): it owns only
    /// the objects carrying its marks. Unnamed by default: the marks of every install so far.
    pub instance: Instance,
}

#[cfg(test)]
impl AuthentikSettings {
    /// Settings for unit tests: authentik at `http://ak:9000`, apps under `example.com`, flows
    /// `a` (authorization) and `i` (invalidation), no instance name.
    pub(crate) fn for_tests() -> Self {
        Self {
            url: "http://ak:9000".into(),
            token: "t".into(),
            domain: "example.com".into(),
            external_scheme: "https".into(),
            outpost: None,
            authorization_flow: "a".into(),
            invalidation_flow: "i".into(),
            instance: Instance::unnamed(),
        }
    }
}

impl fmt::Debug for AuthentikSettings {
    // The token never reaches a log line, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthentikSettings")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("domain", &self.domain)
            .field("external_scheme", &self.external_scheme)
            .field("outpost", &self.outpost)
            .field("authorization_flow", &self.authorization_flow)
            .field("invalidation_flow", &self.invalidation_flow)
            .field("instance", &self.instance)
            .finish()
    }
}

/// Default authorization flow slug (the one authentik's wizard proposes).
pub const DEFAULT_AUTHORIZATION_FLOW: &str = "default-provider-authorization-implicit-consent";
/// Default invalidation flow slug (authentik 2024.10 and later).
pub const DEFAULT_INVALIDATION_FLOW: &str = "default-provider-invalidation-flow";

impl Default for Settings {
    /// Every variable at its default from [`VARS`].
    fn default() -> Self {
        read_settings(&mut Reader::new(&BTreeMap::new()))
    }
}

/// One variable with a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarError {
    pub(crate) var: String,
    pub(crate) value: String,
    pub(crate) rule: String,
}

/// Every bad variable found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub(crate) problems: Vec<VarError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} bad setting(s):", self.problems.len())?;
        for p in &self.problems {
            writeln!(
                f,
                "  {}={} {}",
                p.var,
                crate::labels::shown(&p.value),
                p.rule
            )?;
        }
        Ok(())
    }
}

/// Reads the authentik variables. Provisioning is on with both a URL and a token, off with
/// neither; one without the other is a bad setting. When on, `GATEHOUSE_DOMAIN` is required too.
fn read_authentik(r: &mut Reader<'_>) -> Option<AuthentikSettings> {
    let url = r.get(&AUTHENTIK_URL, checks::authentik_url);
    let token = r.get(&AUTHENTIK_TOKEN, checks::token);
    let domain = r.get(&DOMAIN, checks::domain);
    let external_scheme = r.get(&EXTERNAL_SCHEME, checks::scheme).unwrap_or_default();
    let outpost = r.get(&AUTHENTIK_OUTPOST, checks::outpost);
    let authorization_flow = r.get(&AUTHORIZATION_FLOW, checks::slug).unwrap_or_default();
    let invalidation_flow = r.get(&INVALIDATION_FLOW, checks::slug).unwrap_or_default();
    let instance = r
        .get(&INSTANCE, |s| Instance::named(s).map_err(str::to_owned))
        .unwrap_or_else(Instance::unnamed);
    if !require_both(r, &AUTHENTIK_URL, &AUTHENTIK_TOKEN) {
        return None;
    }
    let (url, token) = (url?, token?);
    let Some(domain) = domain else {
        if !r.is_set(&DOMAIN) {
            r.problem(DOMAIN.name, "", "must be set when authentik provisioning is on (the domain apps are served under, e.g. example.com)");
        }
        return None;
    };
    Some(AuthentikSettings {
        url,
        token,
        domain,
        external_scheme,
        outpost,
        authorization_flow,
        invalidation_flow,
        instance,
    })
}

/// Whether both of two variables that only work together are given. Neither is fine (the
/// feature is off); one alone is a bad setting naming the missing one.
fn require_both(r: &mut Reader<'_>, a: &Var, b: &Var) -> bool {
    match (r.is_set(a), r.is_set(b)) {
        (true, true) => true,
        (false, false) => false,
        (a_set, _) => {
            let (missing, given) = if a_set { (b, a) } else { (a, b) };
            let or_file = missing
                .file_var()
                .map(|f| format!(" (or {f})"))
                .unwrap_or_default();
            let rule = format!(
                "must be set{or_file} when {} is set: authentik provisioning needs both (unset both to turn it off)",
                given.name
            );
            r.problem(missing.name, "", rule);
            false
        }
    }
}

/// The network mode, with the shared network's name filled in.
fn read_network_mode(r: &mut Reader<'_>) -> Option<NetworkMode> {
    let shared_network = r
        .get(&SHARED_NETWORK, checks::network_name)
        .unwrap_or_default();
    r.get(&NETWORK_MODE, checks::network_mode)
        .flatten()
        .map(|m| match m {
            NetworkMode::Shared(_) => NetworkMode::Shared(shared_network),
            other => other,
        })
}

/// Every setting, each at its default where unset or bad (the problems are in `r`).
/// `GATEHOUSE_MFA`; said when it cannot work (provisioning off).
fn read_mfa(r: &mut Reader<'_>, provisioning: bool) -> crate::model::authentik::MfaMode {
    let mfa = r
        .get(&MFA, crate::model::authentik::MfaMode::parse)
        .unwrap_or_default();
    if mfa != crate::model::authentik::MfaMode::Off && !provisioning {
        r.warnings.push(format!(
            "GATEHOUSE_MFA={mfa} has no effect while authentik provisioning is off (GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN unset)"
        ));
    }
    mfa
}

/// The debounce ceiling must not be below the debounce steps it bounds.
fn check_debounce_max(r: &mut Reader<'_>, debounce: u64, debounce_burst: u64, debounce_max: u64) {
    if debounce_max < debounce.max(debounce_burst) {
        r.problem(
            DEBOUNCE_MAX_MS.name,
            &debounce_max.to_string(),
            format!(
                "must not be below GATEHOUSE_DEBOUNCE_MS ({debounce}) nor GATEHOUSE_DEBOUNCE_BURST_MS ({debounce_burst})"
            ),
        );
    }
}

fn read_settings(r: &mut Reader<'_>) -> Settings {
    let swag_config = r.get(&SWAG_CONFIG, checks::swag_config).unwrap_or_default();
    let prefix = r
        .get(&LABEL_PREFIX, checks::label_prefix)
        .unwrap_or_default();
    let allow_raw = r
        .get(&ALLOW_RAW_DIRECTIVES, checks::bool_value)
        .unwrap_or_default();
    let ms = |r: &mut Reader<'_>, var: &Var, max| r.get(var, checks::number_in(0, max));
    let debounce = ms(r, &DEBOUNCE_MS, 60_000).unwrap_or_default();
    let debounce_burst = ms(r, &DEBOUNCE_BURST_MS, 60_000).unwrap_or_default();
    let debounce_max = ms(r, &DEBOUNCE_MAX_MS, 600_000).unwrap_or_default();
    let resync = r
        .get(&RESYNC_SECS, checks::number_in(1, 86_400))
        .unwrap_or_default();
    let grace = r
        .get(&REMOVE_GRACE_SECS, checks::number_in(0, 86_400))
        .unwrap_or_default();
    let log_level = r.get(&LOG_LEVEL, checks::log_level).unwrap_or_default();
    let log_format = r
        .get(&LOG_FORMAT, checks::log_format)
        .unwrap_or(LogFormat::Text);
    let scope_label = r.get(&SCOPE_LABEL, checks::scope_label);
    let health_file = r
        .get(&HEALTH_FILE, checks::absolute_path)
        .unwrap_or_default();
    let authentik = read_authentik(r);
    let outpost = remote::read(r, authentik.as_ref());
    let puid = r.get(&PUID, checks::id).unwrap_or_default();
    let pgid = r.get(&PGID, checks::id).unwrap_or_default();
    let swag_container = r
        .get(&SWAG_CONTAINER, checks::container_name)
        .unwrap_or_default();
    let authentik_container = r
        .get(&AUTHENTIK_CONTAINER, checks::container_name)
        .unwrap_or_default();
    let network_mode = read_network_mode(r);
    let mfa = read_mfa(r, authentik.is_some());
    let listen = r.get(&LISTEN, checks::listen).flatten();
    let sso_dir = r
        .get(&SSO_DIR, checks::absolute_path)
        .unwrap_or_else(|| swag_config.join("gatehouse/sso"));
    let authentik_public_url = r.get(&AUTHENTIK_PUBLIC_URL, checks::authentik_url);
    let db_container = r.get(&DB_CONTAINER, checks::container_name);
    let swarm = r.get(&SWARM, checks::swarm).unwrap_or_default();
    check_debounce_max(r, debounce, debounce_burst, debounce_max);
    Settings {
        swag_config,
        labels: LabelRules {
            prefix,
            allow_raw_directives: allow_raw,
        },
        debounce: Duration::from_millis(debounce),
        debounce_burst: Duration::from_millis(debounce_burst),
        debounce_max: Duration::from_millis(debounce_max),
        resync: Duration::from_secs(resync),
        remove_grace: Duration::from_secs(grace),
        log_level,
        log_format,
        puid,
        pgid,
        scope_label,
        swag_container,
        authentik_container,
        network_mode,
        health_file,
        authentik,
        mfa,
        listen,
        sso_dir,
        authentik_public_url,
        db_container,
        outpost,
        swarm,
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<(Self, Vec<String>), ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the settings from the given variables. Returns warnings (unknown `GATEHOUSE_*`
    /// variables, deprecated names) beside the settings, or every bad variable.
    pub(crate) fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let env: BTreeMap<String, String> = vars.into_iter().collect();
        let mut r = Reader::new(&env);
        let settings = read_settings(&mut r);
        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        let mut warnings = r.warnings;
        warnings.extend(
            env.keys()
                .filter(|k| k.starts_with("GATEHOUSE_") && !KNOWN_VARS.contains(&k.as_str()))
                .map(|k| format!("unknown variable {k} is ignored")),
        );
        Ok((settings, warnings))
    }
}

#[cfg(test)]
mod tests;
