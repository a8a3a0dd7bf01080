//! Settings from the environment. Every variable is read and checked before any is used, and every
//! bad one is reported in one go, so a user fixes their `.env` once, not once per restart.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::labels::LabelRules;
use crate::plan::authentik::marker::Instance;
use crate::plan::networks::{self, NetworkMode};

/// How log lines are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
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
    pub debounce: Duration,
    /// Quiet period while events keep coming (one came within a second of the last), so a burst
    /// such as `docker compose up` gives few passes.
    pub debounce_burst: Duration,
    /// The longest a pass waits behind a stream of events.
    pub debounce_max: Duration,
    /// Time between full passes with no event.
    pub resync: Duration,
    /// How long a conf outlives its container.
    pub remove_grace: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
    /// SWAG's user and group, given to the confs written.
    pub puid: u32,
    pub pgid: u32,
    /// `key=value`: only containers carrying this label are considered (several gatehouses on one
    /// engine, or tests sharing one).
    pub scope_label: Option<(String, String)>,
    /// SWAG's container name or id (`GATEHOUSE_SWAG_CONTAINER`).
    pub swag_container: String,
    /// authentik's server container name or id (`GATEHOUSE_AUTHENTIK_CONTAINER`).
    pub authentik_container: String,
    /// How SWAG reaches the apps (`GATEHOUSE_NETWORK_MODE`, `GATEHOUSE_SHARED_NETWORK`); `None`:
    /// gatehouse leaves networks alone.
    pub network_mode: Option<NetworkMode>,
    /// Where `run` records its passes for `gatehouse health` (`GATEHOUSE_HEALTH_FILE`).
    pub health_file: PathBuf,
    /// authentik provisioning; `None` when URL or token is unset (provisioning off).
    pub authentik: Option<AuthentikSettings>,
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
    fn default() -> Self {
        Self {
            swag_config: PathBuf::from("/config"),
            labels: LabelRules::default(),
            debounce: Duration::from_millis(100),
            debounce_burst: Duration::from_millis(400),
            debounce_max: Duration::from_millis(5000),
            resync: Duration::from_secs(60),
            remove_grace: Duration::from_secs(30),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            puid: 1000,
            pgid: 1000,
            scope_label: None,
            swag_container: "swag".into(),
            authentik_container: "authentik-server".into(),
            network_mode: Some(NetworkMode::PerApp),
            health_file: PathBuf::from(crate::status::health::DEFAULT_PATH),
            authentik: None,
        }
    }
}

/// One variable with a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError {
    pub var: String,
    pub value: String,
    pub rule: String,
}

/// Every bad variable found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<VarError>,
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

/// Variables gatehouse reads; a `GATEHOUSE_*` variable not listed here draws a warning (typo).
pub const KNOWN_VARS: &[&str] = &[
    "GATEHOUSE_SWAG_CONFIG",
    "GATEHOUSE_LABEL_PREFIX",
    "GATEHOUSE_ALLOW_RAW_DIRECTIVES",
    "GATEHOUSE_DEBOUNCE_MS",
    "GATEHOUSE_DEBOUNCE_BURST_MS",
    "GATEHOUSE_DEBOUNCE_MAX_MS",
    "GATEHOUSE_RESYNC_SECS",
    "GATEHOUSE_REMOVE_GRACE_SECS",
    "GATEHOUSE_LOG_LEVEL",
    "GATEHOUSE_LOG_FORMAT",
    "GATEHOUSE_SCOPE_LABEL",
    "GATEHOUSE_SWAG_CONTAINER",
    "GATEHOUSE_AUTHENTIK_CONTAINER",
    "GATEHOUSE_NETWORK_MODE",
    "GATEHOUSE_SHARED_NETWORK",
    "GATEHOUSE_HEALTH_FILE",
    "GATEHOUSE_AUTHENTIK_URL",
    "GATEHOUSE_AUTHENTIK_TOKEN",
    "GATEHOUSE_AUTHENTIK_TOKEN_FILE",
    "GATEHOUSE_DOMAIN",
    "GATEHOUSE_AUTHENTIK_OUTPOST",
    "GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW",
    "GATEHOUSE_AUTHENTIK_INVALIDATION_FLOW",
    "GATEHOUSE_EXTERNAL_SCHEME",
    "GATEHOUSE_INSTANCE",
];

struct Reader<'a> {
    env: &'a BTreeMap<String, String>,
    problems: Vec<VarError>,
}

impl Reader<'_> {
    fn get<T>(&mut self, var: &str, default: T, parse: impl Fn(&str) -> Result<T, String>) -> T {
        let Some(raw) = self.env.get(var) else {
            return default;
        };
        match parse(raw.trim()) {
            Ok(v) => v,
            Err(rule) => {
                self.problems.push(VarError {
                    var: var.into(),
                    value: raw.clone(),
                    rule,
                });
                default
            }
        }
    }
}

fn bool_value(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" | "" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

fn number_in(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> {
    move |raw| match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

fn label_prefix(raw: &str) -> Result<String, String> {
    let ok = crate::model::spec::is_word(
        raw,
        64,
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_'),
    ) && !raw.ends_with('.');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be lower-case letters, digits, '.', '-' or '_', starting with a letter (labels are <prefix>.protect, ...)".into())
    }
}

fn slug_value(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be a flow slug: letters, digits, '-' and '_'".into())
    }
}

/// Reads the authentik variables. Provisioning is on only with both a URL and a token; then
/// `GATEHOUSE_DOMAIN` is required too.
fn read_authentik(r: &mut Reader<'_>) -> Option<AuthentikSettings> {
    let url = r.get("GATEHOUSE_AUTHENTIK_URL", None, |s| {
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"));
        match rest {
            Some(host)
                if !host.is_empty()
                    && host.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'/' | b'[' | b']')
                    }) =>
            {
                Ok(Some(s.trim_end_matches('/').trim_end_matches("/api/v3").to_owned()))
            }
            _ => Err("must be authentik's base URL, http://host:port or https://host (e.g. http://authentik-server:9000)".into()),
        }
    });
    let token_value = r
        .env
        .get("GATEHOUSE_AUTHENTIK_TOKEN")
        .map(|t| t.trim().to_owned());
    let token_file = r.env.get("GATEHOUSE_AUTHENTIK_TOKEN_FILE").cloned();
    let token = match (token_value, token_file) {
        (Some(_), Some(file)) => {
            r.problems.push(VarError {
                var: "GATEHOUSE_AUTHENTIK_TOKEN_FILE".into(),
                value: file,
                rule: "must not be set together with GATEHOUSE_AUTHENTIK_TOKEN: choose one".into(),
            });
            None
        }
        (Some(t), None) => Some(t),
        (None, Some(file)) => match std::fs::read_to_string(&file) {
            Ok(t) => Some(t.trim().to_owned()),
            Err(e) => {
                r.problems.push(VarError {
                    var: "GATEHOUSE_AUTHENTIK_TOKEN_FILE".into(),
                    value: file,
                    rule: format!("cannot be read: {e}"),
                });
                None
            }
        },
        (None, None) => None,
    };
    if let Some(t) = &token {
        // A token is sent as an HTTP header: refuse anything that could break out of it. The
        // value is never echoed back.
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_graphic()) {
            r.problems.push(VarError {
                var: "GATEHOUSE_AUTHENTIK_TOKEN".into(),
                value: "<hidden>".into(),
                rule: "must be one word of printable ASCII (the token from authentik's Directory > Tokens)".into(),
            });
        }
    }
    let domain = r.get("GATEHOUSE_DOMAIN", None, |s| {
        crate::model::spec::Subdomain::parse(s)
            .ok()
            .filter(|d| d.as_str().contains('.'))
            .map(|d| Some(d.as_str().to_owned()))
            .ok_or_else(|| "must be a domain name such as example.com".to_owned())
    });
    let scheme = r.get(
        "GATEHOUSE_EXTERNAL_SCHEME",
        "https".to_owned(),
        |s| match s {
            "http" | "https" => Ok(s.to_owned()),
            _ => Err("must be https or http".into()),
        },
    );
    let outpost = r.get("GATEHOUSE_AUTHENTIK_OUTPOST", None, |s| {
        crate::labels::authentik::outpost_name(s)
            .map(Some)
            .map_err(str::to_owned)
    });
    let authorization_flow = r.get(
        "GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW",
        DEFAULT_AUTHORIZATION_FLOW.to_owned(),
        slug_value,
    );
    let invalidation_flow = r.get(
        "GATEHOUSE_AUTHENTIK_INVALIDATION_FLOW",
        DEFAULT_INVALIDATION_FLOW.to_owned(),
        slug_value,
    );
    let instance = r.get("GATEHOUSE_INSTANCE", Instance::unnamed(), |s| {
        Instance::named(s).map_err(str::to_owned)
    });
    let (url, token) = match (url, token) {
        (Some(u), Some(t)) => (u, t),
        _ => return None,
    };
    let Some(domain) = domain else {
        if !r.env.contains_key("GATEHOUSE_DOMAIN") {
            r.problems.push(VarError {
                var: "GATEHOUSE_DOMAIN".into(),
                value: String::new(),
                rule: "must be set when authentik provisioning is on (the domain apps are served under, e.g. example.com)".into(),
            });
        }
        return None;
    };
    Some(AuthentikSettings {
        url,
        token,
        domain,
        external_scheme: scheme,
        outpost,
        authorization_flow,
        invalidation_flow,
        instance,
    })
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<(Self, Vec<String>), ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the settings from the given variables. Returns warnings (unknown `GATEHOUSE_*`
    /// variables) beside the settings, or every bad variable.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let env: BTreeMap<String, String> = vars.into_iter().collect();
        let d = Settings::default();
        let mut r = Reader {
            env: &env,
            problems: Vec::new(),
        };
        let swag_config = r.get("GATEHOUSE_SWAG_CONFIG", d.swag_config, |s| {
            if s.starts_with('/') {
                Ok(PathBuf::from(s))
            } else {
                Err(
                    "must be an absolute path (SWAG's /config folder as mounted into gatehouse)"
                        .into(),
                )
            }
        });
        let prefix = r.get("GATEHOUSE_LABEL_PREFIX", d.labels.prefix, label_prefix);
        let allow_raw = r.get("GATEHOUSE_ALLOW_RAW_DIRECTIVES", false, bool_value);
        let debounce = r.get("GATEHOUSE_DEBOUNCE_MS", 100, number_in(0, 60_000));
        let debounce_burst = r.get("GATEHOUSE_DEBOUNCE_BURST_MS", 400, number_in(0, 60_000));
        let debounce_max = r.get("GATEHOUSE_DEBOUNCE_MAX_MS", 5000, number_in(0, 600_000));
        let resync = r.get("GATEHOUSE_RESYNC_SECS", 60, number_in(1, 86_400));
        let grace = r.get("GATEHOUSE_REMOVE_GRACE_SECS", 30, number_in(0, 86_400));
        let log_level = r.get("GATEHOUSE_LOG_LEVEL", d.log_level, |s| {
            tracing_subscriber::EnvFilter::try_new(s)
                .map(|_| s.to_owned())
                .map_err(|_| "must be error, warn, info, debug or trace (or a tracing filter such as gatehouse=debug)".into())
        });
        let log_format = r.get("GATEHOUSE_LOG_FORMAT", LogFormat::Text, |s| match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("must be text or json".into()),
        });
        let id = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| "must be a numeric user or group id".to_owned())
        };
        let scope_label = r.get("GATEHOUSE_SCOPE_LABEL", None, |s| {
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            let ok = |t: &str| {
                !t.is_empty()
                    && t.len() <= 128
                    && t.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/')
                    })
            };
            if ok(k) && ok(v) {
                Ok(Some((k.to_owned(), v.to_owned())))
            } else {
                Err("must be key=value (letters, digits, '.', '-', '_', '/')".into())
            }
        });
        let health_file = r.get("GATEHOUSE_HEALTH_FILE", d.health_file, |s| {
            if s.starts_with('/') {
                Ok(PathBuf::from(s))
            } else {
                Err("must be an absolute path".into())
            }
        });
        let authentik = read_authentik(&mut r);
        let puid = r.get("PUID", d.puid, id);
        let pgid = r.get("PGID", d.pgid, id);
        let container_name = |s: &str| {
            if networks::valid_network_name(s) {
                Ok(s.to_owned())
            } else {
                Err("must be a container name or id (letters, digits, '_', '.', '-')".to_owned())
            }
        };
        let swag_container = r.get("GATEHOUSE_SWAG_CONTAINER", d.swag_container, container_name);
        let authentik_container = r.get(
            "GATEHOUSE_AUTHENTIK_CONTAINER",
            d.authentik_container,
            container_name,
        );
        let shared_network = r.get("GATEHOUSE_SHARED_NETWORK", "gatehouse".to_owned(), |s| {
            if networks::valid_network_name(s) {
                Ok(s.to_owned())
            } else {
                Err("must be a Docker network name (letters, digits, '_', '.', '-')".into())
            }
        });
        let network_mode = r
            .get("GATEHOUSE_NETWORK_MODE", d.network_mode, |s| match s {
                "per-app" | "" => Ok(Some(NetworkMode::PerApp)),
                "shared" => Ok(Some(NetworkMode::Shared(String::new()))),
                "off" => Ok(None),
                _ => Err("must be per-app, shared or off".into()),
            })
            .map(|m| match m {
                NetworkMode::Shared(_) => NetworkMode::Shared(shared_network),
                other => other,
            });
        if debounce_max < debounce.max(debounce_burst) {
            r.problems.push(VarError {
                var: "GATEHOUSE_DEBOUNCE_MAX_MS".into(),
                value: debounce_max.to_string(),
                rule: format!(
                    "must not be below GATEHOUSE_DEBOUNCE_MS ({debounce}) nor GATEHOUSE_DEBOUNCE_BURST_MS ({debounce_burst})"
                ),
            });
        }
        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        let warnings = env
            .keys()
            .filter(|k| k.starts_with("GATEHOUSE_") && !KNOWN_VARS.contains(&k.as_str()))
            .map(|k| format!("unknown variable {k} is ignored"))
            .collect();
        Ok((
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
            },
            warnings,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let (s, warnings) = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.swag_config, PathBuf::from("/config"));
        assert_eq!(s.labels.prefix, "auth");
        assert_eq!(s.remove_grace, Duration::from_secs(30));
        assert!(warnings.is_empty());
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let err = Settings::from_vars(vars(&[
            ("GATEHOUSE_SWAG_CONFIG", "relative/path"),
            ("GATEHOUSE_LABEL_PREFIX", "Auth;"),
            ("GATEHOUSE_DEBOUNCE_MS", "fast"),
            ("GATEHOUSE_LOG_FORMAT", "xml"),
            ("PUID", "-1"),
        ]))
        .unwrap_err();
        let vars: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
        assert_eq!(
            vars,
            [
                "GATEHOUSE_SWAG_CONFIG",
                "GATEHOUSE_LABEL_PREFIX",
                "GATEHOUSE_DEBOUNCE_MS",
                "GATEHOUSE_LOG_FORMAT",
                "PUID"
            ]
        );
        assert!(err.to_string().contains("must be text or json"));
    }

    #[test]
    fn authentik_is_off_without_url_and_token() {
        let (s, _) =
            Settings::from_vars(vars(&[("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000")])).unwrap();
        assert!(s.authentik.is_none());
    }

    #[test]
    fn authentik_settings_with_defaults_and_a_hidden_token() {
        let (s, _) = Settings::from_vars(vars(&[
            ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000/api/v3/"),
            ("GATEHOUSE_AUTHENTIK_TOKEN", "s3cr3t-token"),
            ("GATEHOUSE_DOMAIN", "example.com"),
        ]))
        .unwrap();
        let a = s.authentik.expect("on");
        assert_eq!(a.url, "http://ak:9000");
        assert_eq!(a.external_scheme, "https");
        assert_eq!(a.authorization_flow, DEFAULT_AUTHORIZATION_FLOW);
        assert_eq!(a.invalidation_flow, DEFAULT_INVALIDATION_FLOW);
        assert_eq!(a.outpost, None);
        assert!(!format!("{a:?}").contains("s3cr3t"));
    }

    #[test]
    fn authentik_problems_are_reported_together_without_the_token() {
        let err = Settings::from_vars(vars(&[
            ("GATEHOUSE_AUTHENTIK_URL", "ak:9000"),
            ("GATEHOUSE_AUTHENTIK_TOKEN", "bad token\nX-Injected: 1"),
            ("GATEHOUSE_EXTERNAL_SCHEME", "ftp"),
            ("GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW", "a b"),
        ]))
        .unwrap_err();
        let names: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
        assert_eq!(
            names,
            [
                "GATEHOUSE_AUTHENTIK_URL",
                "GATEHOUSE_AUTHENTIK_TOKEN",
                "GATEHOUSE_EXTERNAL_SCHEME",
                "GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW"
            ]
        );
        assert!(!err.to_string().contains("Injected"));
        let err = Settings::from_vars(vars(&[
            ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000"),
            ("GATEHOUSE_AUTHENTIK_TOKEN", "t"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems[0].var, "GATEHOUSE_DOMAIN");
    }

    fn authentik_vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v = vars(&[
            ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000"),
            ("GATEHOUSE_AUTHENTIK_TOKEN", "t"),
            ("GATEHOUSE_DOMAIN", "example.com"),
        ]);
        v.extend(vars(extra));
        v
    }

    #[test]
    fn the_instance_is_unnamed_unless_set() {
        let (s, warnings) = Settings::from_vars(authentik_vars(&[])).unwrap();
        let a = s.authentik.unwrap();
        assert!(a.instance.is_unnamed());
        assert_eq!(a.instance.publisher(), "gatehouse");
        let (s, warnings2) =
            Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", "host-2")])).unwrap();
        assert_eq!(s.authentik.unwrap().instance.name(), Some("host-2"));
        // a known variable: no typo warning
        assert!(warnings.is_empty() && warnings2.is_empty(), "{warnings2:?}");
    }

    #[test]
    fn the_instance_name_has_a_strict_grammar() {
        for ok in ["a", "edge", "nas-01", "x9", &"a".repeat(32)] {
            let (s, _) = Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", ok)]))
                .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
            assert_eq!(s.authentik.unwrap().instance.name(), Some(ok));
        }
        for bad in [
            "",
            "Edge",
            "1st",
            "-a",
            "a_b",
            "a.b",
            "a:b",
            "a/b",
            "a b",
            "dé",
            &"a".repeat(33),
        ] {
            let err =
                Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", bad)])).expect_err(bad);
            assert_eq!(err.problems.len(), 1, "{bad:?}: {err}");
            assert_eq!(err.problems[0].var, "GATEHOUSE_INSTANCE");
            assert!(err.to_string().contains("starting with a letter"), "{err}");
        }
    }

    #[test]
    fn a_bad_instance_is_reported_with_the_other_bad_variables() {
        // checked even with provisioning off, and reported with everything else
        let err = Settings::from_vars(vars(&[
            ("GATEHOUSE_DEBOUNCE_MS", "fast"),
            ("GATEHOUSE_INSTANCE", "Host_1"),
            ("GATEHOUSE_LOG_FORMAT", "xml"),
        ]))
        .unwrap_err();
        let names: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
        assert_eq!(
            names,
            [
                "GATEHOUSE_DEBOUNCE_MS",
                "GATEHOUSE_LOG_FORMAT",
                "GATEHOUSE_INSTANCE"
            ]
        );
    }

    #[test]
    fn network_settings() {
        let (s, _) = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.swag_container, "swag");
        assert_eq!(s.authentik_container, "authentik-server");
        assert_eq!(s.network_mode, Some(NetworkMode::PerApp));
        let (s, _) = Settings::from_vars(vars(&[
            ("GATEHOUSE_NETWORK_MODE", "shared"),
            ("GATEHOUSE_SHARED_NETWORK", "proxy"),
            ("GATEHOUSE_SWAG_CONTAINER", "my-swag"),
        ]))
        .unwrap();
        assert_eq!(s.network_mode, Some(NetworkMode::Shared("proxy".into())));
        assert_eq!(s.swag_container, "my-swag");
        let (s, _) = Settings::from_vars(vars(&[("GATEHOUSE_NETWORK_MODE", "off")])).unwrap();
        assert_eq!(s.network_mode, None);
        let err = Settings::from_vars(vars(&[
            ("GATEHOUSE_NETWORK_MODE", "bridge"),
            ("GATEHOUSE_SHARED_NETWORK", "a b"),
            ("GATEHOUSE_SWAG_CONTAINER", "swag;rm"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 3);
    }

    #[test]
    fn unknown_gatehouse_variables_are_warned_about() {
        let (_, warnings) = Settings::from_vars(vars(&[("GATEHOUSE_LABLE_PREFIX", "x")])).unwrap();
        assert_eq!(
            warnings,
            ["unknown variable GATEHOUSE_LABLE_PREFIX is ignored"]
        );
    }
}
