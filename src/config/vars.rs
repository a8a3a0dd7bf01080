//! The one table of variables gatehouse reads, and the reader that applies it. The known-variable
//! list (typo warnings), the defaults and the README check are all derived from [`VARS`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::VarError;

/// One variable gatehouse reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// The value used when the variable is unset, as a user would write it; parsed by the
    /// variable's own parser, so the default obeys the same rule as a value. `None`: unset means
    /// off (or "not given").
    pub default: Option<&'static str>,
    /// `<name>_FILE` names a file holding the value (a Docker secret); not together with `name`.
    pub(crate) file: bool,
    /// An older name still read (with a warning) when `name` is unset.
    pub(crate) deprecated_alias: Option<&'static str>,
    /// The value is a secret: never echoed in an error.
    pub(crate) secret: bool,
}

impl Var {
    const fn new(name: &'static str, default: Option<&'static str>) -> Self {
        Self {
            name,
            default,
            file: false,
            deprecated_alias: None,
            secret: false,
        }
    }

    const fn secret_with_file(mut self) -> Self {
        self.file = true;
        self.secret = true;
        self
    }

    /// The `*_FILE` variant's name, when the variable has one.
    pub(crate) fn file_var(&self) -> Option<String> {
        self.file.then(|| format!("{}_FILE", self.name))
    }
}

pub(crate) const SWAG_CONFIG: Var = Var::new("GATEHOUSE_SWAG_CONFIG", Some("/config"));
pub(crate) const LABEL_PREFIX: Var = Var::new("GATEHOUSE_LABEL_PREFIX", Some("auth"));
pub(crate) const ALLOW_RAW_DIRECTIVES: Var =
    Var::new("GATEHOUSE_ALLOW_RAW_DIRECTIVES", Some("false"));
pub(crate) const DEBOUNCE_MS: Var = Var::new("GATEHOUSE_DEBOUNCE_MS", Some("100"));
pub(crate) const DEBOUNCE_BURST_MS: Var = Var::new("GATEHOUSE_DEBOUNCE_BURST_MS", Some("400"));
pub(crate) const DEBOUNCE_MAX_MS: Var = Var::new("GATEHOUSE_DEBOUNCE_MAX_MS", Some("5000"));
pub(crate) const RESYNC_SECS: Var = Var::new("GATEHOUSE_RESYNC_SECS", Some("60"));
pub(crate) const REMOVE_GRACE_SECS: Var = Var::new("GATEHOUSE_REMOVE_GRACE_SECS", Some("30"));
pub(crate) const LOG_LEVEL: Var = Var::new("GATEHOUSE_LOG_LEVEL", Some("info"));
pub(crate) const LOG_FORMAT: Var = Var::new("GATEHOUSE_LOG_FORMAT", Some("text"));
pub(crate) const SCOPE_LABEL: Var = Var::new("GATEHOUSE_SCOPE_LABEL", None);
pub(crate) const SWAG_CONTAINER: Var = Var::new("GATEHOUSE_SWAG_CONTAINER", Some("swag"));
pub(crate) const AUTHENTIK_CONTAINER: Var =
    Var::new("GATEHOUSE_AUTHENTIK_CONTAINER", Some("authentik-server"));
pub(crate) const NETWORK_MODE: Var = Var::new("GATEHOUSE_NETWORK_MODE", Some("per-app"));
pub(crate) const SHARED_NETWORK: Var = Var::new("GATEHOUSE_SHARED_NETWORK", Some("gatehouse"));
pub(crate) const HEALTH_FILE: Var = Var::new(
    "GATEHOUSE_HEALTH_FILE",
    Some(crate::status::health::DEFAULT_PATH),
);
pub(crate) const AUTHENTIK_URL: Var = Var::new("GATEHOUSE_AUTHENTIK_URL", None);
pub(crate) const AUTHENTIK_TOKEN: Var =
    Var::new("GATEHOUSE_AUTHENTIK_TOKEN", None).secret_with_file();
pub(crate) const DOMAIN: Var = Var::new("GATEHOUSE_DOMAIN", None);
pub(crate) const AUTHENTIK_OUTPOST: Var = Var::new("GATEHOUSE_AUTHENTIK_OUTPOST", None);
pub(crate) const AUTHORIZATION_FLOW: Var = Var::new(
    "GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW",
    Some(super::DEFAULT_AUTHORIZATION_FLOW),
);
pub(crate) const INVALIDATION_FLOW: Var = Var::new(
    "GATEHOUSE_AUTHENTIK_INVALIDATION_FLOW",
    Some(super::DEFAULT_INVALIDATION_FLOW),
);
pub(crate) const EXTERNAL_SCHEME: Var = Var::new("GATEHOUSE_EXTERNAL_SCHEME", Some("https"));
pub(crate) const INSTANCE: Var = Var::new("GATEHOUSE_INSTANCE", None);
pub(crate) const PUID: Var = Var::new("PUID", Some("1000"));
pub(crate) const PGID: Var = Var::new("PGID", Some("1000"));
pub(crate) const MFA: Var = Var::new("GATEHOUSE_MFA", Some("off"));
/// Unset: `<GATEHOUSE_SWAG_CONFIG>/gatehouse/sso`.
pub(crate) const SSO_DIR: Var = Var::new("GATEHOUSE_SSO_DIR", None);
/// Unset: `GATEHOUSE_AUTHENTIK_URL`.
pub(crate) const AUTHENTIK_PUBLIC_URL: Var = Var::new("GATEHOUSE_AUTHENTIK_PUBLIC_URL", None);
pub(crate) const DB_CONTAINER: Var = Var::new("GATEHOUSE_DB_CONTAINER", None);
pub(crate) const OUTPOST: Var = Var::new("GATEHOUSE_OUTPOST", Some("embedded"));
pub(crate) const OUTPOST_IMAGE: Var = Var::new(
    "GATEHOUSE_OUTPOST_IMAGE",
    Some(super::remote::DEFAULT_OUTPOST_IMAGE),
);
pub(crate) const OUTPOST_TOKEN_MODE: Var = Var::new("GATEHOUSE_OUTPOST_TOKEN_MODE", Some("env"));
pub(crate) const AUTHENTIK_HOST_BROWSER: Var = Var::new("GATEHOUSE_AUTHENTIK_HOST_BROWSER", None);
pub(crate) const SWARM: Var = Var::new("GATEHOUSE_SWARM", Some("auto"));
/// The status page, `/metrics`, `/healthz` and `/readyz`. Loopback outside a container (a bare
/// `cargo run` does not show the page to the network); the image sets `0.0.0.0:8080`.
pub(crate) const LISTEN: Var = Var::new("GATEHOUSE_LISTEN", Some("127.0.0.1:8080"));

/// Every variable gatehouse reads.
pub const VARS: &[Var] = &[
    SWAG_CONFIG,
    LABEL_PREFIX,
    ALLOW_RAW_DIRECTIVES,
    DEBOUNCE_MS,
    DEBOUNCE_BURST_MS,
    DEBOUNCE_MAX_MS,
    RESYNC_SECS,
    REMOVE_GRACE_SECS,
    LOG_LEVEL,
    LOG_FORMAT,
    SCOPE_LABEL,
    SWAG_CONTAINER,
    AUTHENTIK_CONTAINER,
    NETWORK_MODE,
    SHARED_NETWORK,
    HEALTH_FILE,
    AUTHENTIK_URL,
    AUTHENTIK_TOKEN,
    DOMAIN,
    AUTHENTIK_OUTPOST,
    AUTHORIZATION_FLOW,
    INVALIDATION_FLOW,
    EXTERNAL_SCHEME,
    INSTANCE,
    PUID,
    PGID,
    MFA,
    SSO_DIR,
    AUTHENTIK_PUBLIC_URL,
    DB_CONTAINER,
    OUTPOST,
    OUTPOST_IMAGE,
    OUTPOST_TOKEN_MODE,
    AUTHENTIK_HOST_BROWSER,
    SWARM,
    LISTEN,
];

/// Every name gatehouse reads (with `*_FILE` variants and deprecated aliases); a `GATEHOUSE_*`
/// variable not listed here draws a warning (typo).
pub static KNOWN_VARS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut names = Vec::new();
    for v in VARS {
        names.push(v.name);
        if v.file {
            // Leaked once per process: the list lives as long as the program.
            names.push(&*String::leak(format!("{}_FILE", v.name)));
        }
        names.extend(v.deprecated_alias);
    }
    names
});

/// Reads variables from one snapshot of the environment, collecting every bad value.
pub(crate) struct Reader<'a> {
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) problems: Vec<VarError>,
    pub(crate) warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(env: &'a BTreeMap<String, String>) -> Self {
        Self {
            env,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn problem(&mut self, var: &str, value: &str, rule: impl Into<String>) {
        self.problems.push(VarError {
            var: var.into(),
            value: value.into(),
            rule: rule.into(),
        });
    }

    /// Whether the user gave the variable (under its name, its `*_FILE` variant or its alias).
    pub(crate) fn is_set(&self, var: &Var) -> bool {
        self.env.contains_key(var.name)
            || var.file_var().is_some_and(|f| self.env.contains_key(&f))
            || var
                .deprecated_alias
                .is_some_and(|a| self.env.contains_key(a))
    }

    /// What the user gave for `var`: the variable, else its `*_FILE` variant (the file's
    /// content), else its deprecated alias (with a warning). Returns the name it came under and
    /// the value as given; `None` when not given, or unusable (a problem is then recorded).
    pub(crate) fn given(&mut self, var: &Var) -> Option<(String, String)> {
        let file_var = var.file_var().unwrap_or_default();
        let file = self.env.get(&file_var).filter(|_| var.file).cloned();
        match (self.env.get(var.name).cloned(), file) {
            (Some(_), Some(path)) => {
                let rule = format!("must not be set together with {}: choose one", var.name);
                self.problem(&file_var, &path, rule);
                None
            }
            (Some(value), None) => Some((var.name.to_owned(), value)),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(value) => Some((var.name.to_owned(), value)),
                Err(e) => {
                    self.problem(&file_var, &path, format!("cannot be read: {e}"));
                    None
                }
            },
            (None, None) => {
                let alias = var.deprecated_alias?;
                let value = self.env.get(alias)?.clone();
                self.warnings.push(format!(
                    "{alias} is deprecated: it still works, but rename it to {}",
                    var.name
                ));
                Some((alias.to_owned(), value))
            }
        }
    }

    /// The variable's value (trimmed) checked by `parse`; when unset or bad (recorded), the
    /// table's default, checked by the same `parse`. `None` when unset without a default.
    pub(crate) fn get<T>(
        &mut self,
        var: &Var,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        if let Some((name, raw)) = self.given(var) {
            match parse(raw.trim()) {
                Ok(v) => return Some(v),
                Err(rule) => {
                    // A secret is never echoed back, nor credentials in a URL.
                    let value = if var.secret {
                        "<hidden>".into()
                    } else {
                        crate::status::logs::hide_url_credentials(&raw)
                    };
                    self.problem(&name, &value, rule);
                }
            }
        }
        var.default.and_then(|d| parse(d).ok())
    }
}
