//! `gatehouse init`: writes the stack's `.env` (next to `compose.yml`) with the settings the user
//! chooses and the secrets nobody should have to invent.
//!
//! The core is pure: [`desired`] says which keys the stack needs and where each value comes from,
//! [`merge`] lays them over the existing file without touching a value that is already there, and
//! [`Plan`] says what was added (secrets by name only). The edges read and write the file, read
//! the OS random source and ask on the terminal.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

mod run;

pub use run::{run, Options};

/// authentik release the example stack runs unless `.env` says otherwise.
pub(crate) const AUTHENTIK_TAG: &str = "2026.8.3";

/// The compose files `docker compose` (or Dockge) would read the `.env` with, the example first.
pub(crate) const COMPOSE_FILES: [&str; 5] = [
    "compose.example.yml",
    "compose.yml",
    "compose.yaml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The warning when no compose file sits next to the `.env` (`dir` is that folder): compose
/// reads `.env` from the compose file's folder, so this one would be ignored.
pub(crate) fn no_compose_warning(env_path: &Path, dir: &Path) -> String {
    format!(
        "warning: no compose file next to {}: expected {} (or {}) in {}; docker compose reads .env from the compose file's folder, so copy compose.example.yml there from gatehouse's repository, or run init in the folder that has it (or pass --env-file <that folder>/.env)\n",
        env_path.display(),
        COMPOSE_FILES[0],
        COMPOSE_FILES[1..].join(", "),
        dir.display()
    )
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{what} {value:?} is not valid: {rule}")]
    Invalid {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("{0} is needed: pass it as a flag (or run init on a terminal to be asked)")]
    Missing(&'static str),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read random bytes from the OS: {0}")]
    Random(io::Error),
}

/// What the user told us (flags or answers). `None`: not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub domain: Option<String>,
    pub email: Option<String>,
    pub tz: Option<String>,
}

/// Facts read from the host that make good defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Group owning the Docker socket (gatehouse's container joins it).
    pub(crate) docker_gid: Option<u32>,
    /// The host's time zone (`/etc/timezone`).
    pub(crate) tz: Option<String>,
}

/// One key the stack's `.env` should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub(crate) key: &'static str,
    pub(crate) value: String,
    /// Secrets are never printed.
    pub(crate) secret: bool,
    /// Shown above the key when it is added.
    pub(crate) comment: &'static str,
}

/// What [`merge`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The file's new text.
    pub(crate) text: String,
    /// Keys added (or filled in where the file had `KEY=` with nothing after it).
    pub(crate) added: Vec<Entry>,
    /// Keys already set, kept as they were.
    pub(crate) kept: Vec<&'static str>,
    /// Answers that differ from a value already in the file (which wins).
    pub(crate) ignored: Vec<(&'static str, String)>,
}

impl Plan {
    pub(crate) fn changed(&self) -> bool {
        !self.added.is_empty()
    }
}

/// Checks a domain: lower-case DNS labels, at least two, no scheme or path.
pub(crate) fn valid_domain(raw: &str) -> Result<String, InitError> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    };
    if d.len() <= 253 && d.split('.').count() >= 2 && d.split('.').all(label_ok) {
        Ok(d)
    } else {
        Err(InitError::Invalid {
            what: "domain",
            value: raw.to_owned(),
            rule: "must be a DNS name such as example.com (no https://, no path)",
        })
    }
}

/// Checks an e-mail address loosely: one `@`, a dot in the domain part, nothing `.env` or a shell
/// would trip over.
pub(crate) fn valid_email(raw: &str) -> Result<String, InitError> {
    let e = raw.trim();
    let ok = e
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
        && e.len() <= 254
        && e.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'@' | b'.' | b'-' | b'_' | b'+'));
    if ok {
        Ok(e.to_owned())
    } else {
        Err(InitError::Invalid {
            what: "email",
            value: raw.to_owned(),
            rule: "must be an address such as you@example.com",
        })
    }
}

/// Checks a time zone name such as `Europe/Berlin` or `Etc/UTC` (the tz database's spelling).
pub(crate) fn valid_tz(raw: &str) -> Result<String, InitError> {
    let t = raw.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && !t.starts_with('/')
        && !t.contains("..")
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'+'));
    if ok {
        Ok(t.to_owned())
    } else {
        Err(InitError::Invalid {
            what: "timezone",
            value: raw.to_owned(),
            rule: "must be a tz database name such as Europe/Berlin or Etc/UTC",
        })
    }
}

/// `len` characters from `[A-Za-z0-9]`, drawn without bias from the bytes `fill` provides.
/// Letters and digits only, so the value needs no quoting in `.env`, YAML or a shell.
pub(crate) fn secret(len: usize, fill: &mut dyn FnMut(&mut [u8])) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: bytes at or above it would favour the first characters.
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// The keys the stack needs, with values from the answers, the host, or fresh secrets.
/// `existing` is the current file's values: a secret derived from another (gatehouse's token is
/// authentik's bootstrap token) follows the existing one.
pub fn desired(
    answers: &Answers,
    host: &HostFacts,
    existing: &BTreeMap<String, String>,
    fill: &mut dyn FnMut(&mut [u8]),
) -> Vec<Entry> {
    let mut out = settings(answers, host);
    // A new stack asks every login for a second factor; an existing one (its authentik already
    // set up) keeps its login as it is until the user chooses.
    let new_stack = !existing.contains_key("AUTHENTIK_BOOTSTRAP_TOKEN");
    out.push(Entry {
        key: "GATEHOUSE_MFA",
        value: if new_stack { "totp" } else { "off" }.into(),
        secret: false,
        comment: "# Second factor at every authentik login: off, totp, webauthn or any (see docs/stack.md)",
    });
    out.extend(secrets(existing, fill));
    out
}

/// The plain settings: the user's answers, the host's facts, the stack's defaults.
fn settings(answers: &Answers, host: &HostFacts) -> Vec<Entry> {
    let plain = |key, value: String, comment| Entry {
        key,
        value,
        secret: false,
        comment,
    };
    let mut out = Vec::new();
    if let Some(d) = &answers.domain {
        out.push(plain(
            "DOMAIN",
            d.clone(),
            "# Your domain: apps appear at https://<subdomain>.<DOMAIN>, authentik at https://auth.<DOMAIN>",
        ));
    }
    if let Some(e) = &answers.email {
        out.push(plain(
            "EMAIL",
            e.clone(),
            "# Let's Encrypt account (SWAG) and akadmin's address (authentik)",
        ));
    }
    let tz = answers
        .tz
        .clone()
        .or_else(|| host.tz.clone())
        .unwrap_or_else(|| "Etc/UTC".into());
    out.push(plain("TZ", tz, "# Time zone for every container"));
    out.push(plain(
        "PUID",
        "1000".into(),
        "# User and group SWAG runs as; gatehouse writes SWAG's proxy-confs as the same user",
    ));
    out.push(plain("PGID", "1000".into(), ""));
    out.push(plain(
        "DOCKER_GID",
        host.docker_gid.unwrap_or(0).to_string(),
        "# Group owning /var/run/docker.sock (gatehouse joins it to talk to Docker): stat -c %g /var/run/docker.sock",
    ));
    out.push(plain(
        "SWAG_VALIDATION",
        "http".into(),
        "# SWAG's certificate: http validation needs every subdomain listed in SWAG_SUBDOMAINS;\n# for a wildcard set SWAG_SUBDOMAINS=wildcard, SWAG_VALIDATION=dns and SWAG_DNSPLUGIN (see docs/stack.md)",
    ));
    out.push(plain("SWAG_SUBDOMAINS", "auth".into(), ""));
    out.push(plain("SWAG_DNSPLUGIN", String::new(), ""));
    out.push(plain(
        "AUTHENTIK_TAG",
        AUTHENTIK_TAG.into(),
        "# authentik release (server and worker run the same one)",
    ));
    out
}

/// The generated secrets; gatehouse's token follows authentik's bootstrap token.
fn secrets(existing: &BTreeMap<String, String>, fill: &mut dyn FnMut(&mut [u8])) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut gen = |key, len, comment| Entry {
        key,
        value: secret(len, fill),
        secret: true,
        comment,
    };
    out.push(gen(
        "PG_PASS",
        36,
        "# Secrets generated by gatehouse init. Keep this file private. Changing PG_PASS after the\n# first start does not change the database's password.",
    ));
    out.push(gen("AUTHENTIK_SECRET_KEY", 60, ""));
    out.push(gen(
        "AUTHENTIK_BOOTSTRAP_PASSWORD",
        24,
        "# akadmin's password and API token, applied by authentik on its first start only",
    ));
    let bootstrap = gen("AUTHENTIK_BOOTSTRAP_TOKEN", 48, "");
    let bootstrap_value = existing
        .get("AUTHENTIK_BOOTSTRAP_TOKEN")
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(|| bootstrap.value.clone());
    out.push(bootstrap);
    out.push(Entry {
        key: "GATEHOUSE_AUTHENTIK_TOKEN",
        value: bootstrap_value,
        secret: true,
        comment: "# The token gatehouse uses for authentik's API (starts as akadmin's bootstrap token;\n# replace it with a token of your own admin or a service account before you deactivate akadmin)",
    });
    out
}

/// `KEY=value` pairs in a `.env` text (comments and blank lines skipped, `export ` allowed,
/// surrounding quotes removed).
pub(crate) fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<(String, String)> {
    let l = line.trim_start();
    if l.starts_with('#') {
        return None;
    }
    let l = l.strip_prefix("export ").unwrap_or(l);
    let (k, v) = l.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return None;
    }
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v);
    Some((k.to_owned(), v.to_owned()))
}

/// Lays `entries` over the existing text: a key with a value is kept untouched, a key present
/// but empty is filled in place, a missing key is appended (with its comment). The rest of the
/// file stays byte for byte. Answers that differ from a kept value are listed in `ignored`.
pub(crate) fn merge(existing: &str, entries: &[Entry], answers: &Answers) -> Plan {
    let values = parse_env(existing);
    let mut plan = Plan::default();
    let mut lines: Vec<String> = existing.lines().map(str::to_owned).collect();
    let mut appended: Vec<String> = Vec::new();
    for e in entries {
        match values.get(e.key) {
            Some(v) if !v.is_empty() || e.value.is_empty() => {
                plan.kept.push(e.key);
                let asked = match e.key {
                    "DOMAIN" => answers.domain.as_ref(),
                    "EMAIL" => answers.email.as_ref(),
                    "TZ" => answers.tz.as_ref(),
                    _ => None,
                };
                if let Some(a) = asked.filter(|a| *a != v) {
                    plan.ignored.push((e.key, a.clone()));
                }
            }
            Some(_) => {
                // Present but empty: fill the last such line in place.
                if let Some(i) = lines
                    .iter()
                    .rposition(|l| parse_line(l).is_some_and(|(k, _)| k == e.key))
                {
                    lines[i] = format!("{}={}", e.key, e.value);
                }
                plan.added.push(e.clone());
            }
            None => {
                if !e.comment.is_empty() {
                    appended.push(e.comment.to_owned());
                }
                appended.push(format!("{}={}", e.key, e.value));
                plan.added.push(e.clone());
            }
        }
    }
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    if !appended.is_empty() {
        if !lines.is_empty() && lines.last().is_some_and(|l| !l.trim().is_empty()) {
            text.push('\n');
        }
        if lines.is_empty() {
            text.push_str("# The gatehouse stack's settings, written by `gatehouse init`.\n# Re-running init adds what is missing and never changes a value that is set.\n\n");
        }
        text.push_str(&appended.join("\n"));
        text.push('\n');
    }
    if !plan.changed() {
        text = existing.to_owned();
    }
    plan.text = text;
    plan
}

/// What the user reads after init: what was written (secrets by name only) and what to do next.
pub(crate) fn summary(plan: &Plan, env_path: &Path, values: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    if plan.changed() {
        s.push_str(&format!("wrote {}:\n", env_path.display()));
        for e in &plan.added {
            if e.secret {
                s.push_str(&format!(
                    "  {} (generated secret, {} characters)\n",
                    e.key,
                    e.value.len()
                ));
            } else {
                s.push_str(&format!("  {}={}\n", e.key, e.value));
            }
        }
    } else {
        s.push_str(&format!(
            "{} already has every setting; nothing written\n",
            env_path.display()
        ));
    }
    if !plan.kept.is_empty() {
        s.push_str(&format!("kept as they were: {}\n", plan.kept.join(", ")));
    }
    for (key, answer) in &plan.ignored {
        s.push_str(&format!(
            "note: {key} is already set in the file; your value {answer:?} was not applied (edit the file to change it)\n"
        ));
    }
    let domain = values
        .get("DOMAIN")
        .map(String::as_str)
        .unwrap_or("<DOMAIN>");
    s.push_str(&format!(
        "
next steps:
  1. DNS: point {domain} and auth.{domain} (or *.{domain}) at this host, and forward ports 80 and 443 to it.
  2. Start the stack next to this .env: docker compose up -d   (Dockge: paste compose.yml and this .env into a new stack)
  3. Wait for SWAG's certificate (docker logs swag), then open https://auth.{domain}/ and sign in as akadmin
     with AUTHENTIK_BOOTSTRAP_PASSWORD from this file (grep AUTHENTIK_BOOTSTRAP_PASSWORD .env).
  4. Create your own admin: docker compose exec gatehouse gatehouse admin create <you> --email <address>
     (it prints a one-time link or password); sign in as it and enrol your second factor, then run it again
     with --deactivate-akadmin (it gives gatehouse a token of its own first, and tells you what is left).
  5. Label an app container: auth.protect=true, auth.subdomain=<name>, auth.port=<port>;
     with http validation also add <name> to SWAG_SUBDOMAINS. See docs/stack.md.
"
    ));
    s
}

#[cfg(test)]
mod tests;
