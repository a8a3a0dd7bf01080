//! `gatehouse init`: writes the stack's `.env` (next to `compose.yml`) with the settings the user
//! chooses and the secrets nobody should have to invent.
//!
//! The core is pure: [`desired`] says which keys the stack needs and where each value comes from,
//! [`merge`] lays them over the existing file without touching a value that is already there, and
//! [`Plan`] says what was added (secrets by name only). The edges read and write the file, read
//! the OS random source and ask on the terminal.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// authentik release the example stack runs unless `.env` says otherwise.
pub const AUTHENTIK_TAG: &str = "2026.8.3";

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
    pub docker_gid: Option<u32>,
    /// The host's time zone (`/etc/timezone`).
    pub tz: Option<String>,
}

/// One key the stack's `.env` should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: &'static str,
    pub value: String,
    /// Secrets are never printed.
    pub secret: bool,
    /// Shown above the key when it is added.
    pub comment: &'static str,
}

/// What [`merge`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The file's new text.
    pub text: String,
    /// Keys added (or filled in where the file had `KEY=` with nothing after it).
    pub added: Vec<Entry>,
    /// Keys already set, kept as they were.
    pub kept: Vec<&'static str>,
    /// Answers that differ from a value already in the file (which wins).
    pub ignored: Vec<(&'static str, String)>,
}

impl Plan {
    pub fn changed(&self) -> bool {
        !self.added.is_empty()
    }
}

/// Checks a domain: lower-case DNS labels, at least two, no scheme or path.
pub fn valid_domain(raw: &str) -> Result<String, InitError> {
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
pub fn valid_email(raw: &str) -> Result<String, InitError> {
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
pub fn valid_tz(raw: &str) -> Result<String, InitError> {
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
pub fn secret(len: usize, fill: &mut dyn FnMut(&mut [u8])) -> String {
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
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
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
pub fn merge(existing: &str, entries: &[Entry], answers: &Answers) -> Plan {
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
pub fn summary(plan: &Plan, env_path: &Path, values: &BTreeMap<String, String>) -> String {
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
  4. Create your own admin: Directory > Users > Create, add it to the group \"authentik Admins\", sign in as it.
     Give gatehouse a token of its own (Directory > Tokens and App passwords > Create, intent API), put it in
     GATEHOUSE_AUTHENTIK_TOKEN here and run docker compose up -d; then deactivate akadmin.
  5. Label an app container: auth.protect=true, auth.subdomain=<name>, auth.port=<port>;
     with http validation also add <name> to SWAG_SUBDOMAINS. See docs/stack.md.
"
    ));
    s
}

/// Options of the `init` command.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The `.env` file to write (next to compose.yml).
    pub env_file: PathBuf,
    pub answers: Answers,
    /// Ask for what is missing when stdin is a terminal.
    pub interactive: bool,
    /// The Docker socket whose group gatehouse must join.
    pub docker_socket: PathBuf,
}

/// Runs init: reads the file, asks for what is missing, writes, and returns the summary.
pub fn run(opts: &Options) -> Result<String, InitError> {
    let path = &opts.env_file;
    let existing = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(InitError::Read {
                path: path.clone(),
                source,
            })
        }
    };
    let values = parse_env(&existing);
    let mut answers = Answers {
        domain: opts
            .answers
            .domain
            .as_deref()
            .map(valid_domain)
            .transpose()?,
        email: opts.answers.email.as_deref().map(valid_email).transpose()?,
        tz: opts.answers.tz.as_deref().map(valid_tz).transpose()?,
    };
    let has = |k: &str| values.get(k).is_some_and(|v| !v.is_empty());
    if answers.domain.is_none() && !has("DOMAIN") {
        if !opts.interactive {
            return Err(InitError::Missing("--domain"));
        }
        answers.domain = Some(ask(
            "Your domain (apps appear at <app>.<domain>)",
            None,
            valid_domain,
        )?);
    }
    if answers.email.is_none() && !has("EMAIL") && opts.interactive {
        answers.email = Some(ask(
            "E-mail for Let's Encrypt and akadmin",
            None,
            valid_email,
        )?);
    }
    let host = HostFacts {
        docker_gid: socket_gid(&opts.docker_socket),
        tz: host_tz(),
    };
    if answers.tz.is_none() && !has("TZ") && opts.interactive {
        let default = host.tz.clone().unwrap_or_else(|| "Etc/UTC".into());
        answers.tz = Some(ask("Time zone", Some(&default), valid_tz)?);
    }
    let mut fill = os_random()?;
    let entries = desired(&answers, &host, &values, &mut fill);
    let plan = merge(&existing, &entries, &answers);
    if plan.changed() {
        write_env(path, &plan.text)?;
    }
    let after = parse_env(&plan.text);
    Ok(summary(&plan, path, &after))
}

fn ask(
    question: &str,
    default: Option<&str>,
    check: fn(&str) -> Result<String, InitError>,
) -> Result<String, InitError> {
    let stdin = io::stdin();
    loop {
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        let _ = io::stderr().flush();
        let mut line = String::new();
        let n = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|source| InitError::Read {
                path: PathBuf::from("<stdin>"),
                source,
            })?;
        if n == 0 {
            return Err(InitError::Missing("an answer (stdin closed)"));
        }
        let answer = match (line.trim(), default) {
            ("", Some(d)) => d.to_owned(),
            (a, _) => a.to_owned(),
        };
        match check(&answer) {
            Ok(v) => return Ok(v),
            Err(e) => eprintln!("{e}"),
        }
    }
}

/// A byte source reading the OS CSPRNG (`/dev/urandom`).
fn os_random() -> Result<impl FnMut(&mut [u8]), InitError> {
    let mut f = fs::File::open("/dev/urandom").map_err(InitError::Random)?;
    // A failing read of /dev/urandom after it opened is not something to recover from: stop
    // rather than write a weak secret.
    Ok(move |buf: &mut [u8]| {
        if let Err(e) = f.read_exact(buf) {
            eprintln!("gatehouse: cannot read /dev/urandom: {e}");
            std::process::exit(71);
        }
    })
}

fn socket_gid(socket: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(socket).ok().map(|m| m.gid())
}

fn host_tz() -> Option<String> {
    fs::read_to_string("/etc/timezone")
        .ok()
        .and_then(|t| valid_tz(t.trim()).ok())
}

/// Writes the file through a temp file and a rename; a new file is readable by its owner only
/// (it holds secrets), an existing one keeps its mode.
fn write_env(path: &Path, text: &str) -> Result<(), InitError> {
    let werr = |source| InitError::Write {
        path: path.to_owned(),
        source,
    };
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".into());
    let tmp = path.with_file_name(format!(".{name}.gatehouse-init.tmp"));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic byte source for the pure tests.
    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n: u8 = 0;
        move |buf: &mut [u8]| {
            for b in buf {
                *b = n;
                n = n.wrapping_add(37);
            }
        }
    }

    fn answers() -> Answers {
        Answers {
            domain: Some("example.com".into()),
            email: Some("me@example.com".into()),
            tz: Some("Europe/Berlin".into()),
        }
    }

    #[test]
    fn secrets_are_alphanumeric_of_the_asked_length_and_skip_biased_bytes() {
        let mut fill = counter();
        let s = secret(100, &mut fill);
        assert_eq!(s.len(), 100);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
        // Only bytes >= 248 -> nothing usable until other bytes come.
        let mut calls = 0;
        let mut fill = |buf: &mut [u8]| {
            calls += 1;
            buf.fill(if calls < 3 { 250 } else { 0 });
        };
        assert_eq!(secret(4, &mut fill), "AAAA");
    }

    #[test]
    fn validators_reject_what_does_not_belong_in_env() {
        assert_eq!(valid_domain("Example.COM.").unwrap(), "example.com");
        for bad in [
            "https://example.com",
            "example",
            "ex ample.com",
            "-a.com",
            "a.com/x",
            "a.com;rm",
        ] {
            assert!(valid_domain(bad).is_err(), "{bad}");
        }
        assert!(valid_email("me+swag@example.com").is_ok());
        for bad in ["me", "me@host", "me@ex ample.com", "a@b@c.d", "$x@y.z"] {
            assert!(valid_email(bad).is_err(), "{bad}");
        }
        assert!(valid_tz("America/Argentina/Buenos_Aires").is_ok());
        assert!(valid_tz("Etc/GMT+2").is_ok());
        for bad in ["", "/etc/passwd", "Europe/../x", "Europe/Berlin\nX=1"] {
            assert!(valid_tz(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_fresh_file_gets_every_key_and_gatehouse_shares_the_bootstrap_token() {
        let mut fill = counter();
        let entries = desired(
            &answers(),
            &HostFacts::default(),
            &BTreeMap::new(),
            &mut fill,
        );
        let plan = merge("", &entries, &answers());
        let v = parse_env(&plan.text);
        for key in [
            "DOMAIN",
            "EMAIL",
            "TZ",
            "PUID",
            "PGID",
            "DOCKER_GID",
            "AUTHENTIK_TAG",
            "PG_PASS",
            "AUTHENTIK_SECRET_KEY",
            "AUTHENTIK_BOOTSTRAP_PASSWORD",
            "AUTHENTIK_BOOTSTRAP_TOKEN",
            "GATEHOUSE_AUTHENTIK_TOKEN",
        ] {
            assert!(v.get(key).is_some_and(|x| !x.is_empty()), "{key} missing");
        }
        assert_eq!(v["DOMAIN"], "example.com");
        assert_eq!(v["TZ"], "Europe/Berlin");
        assert_eq!(
            v["AUTHENTIK_BOOTSTRAP_TOKEN"],
            v["GATEHOUSE_AUTHENTIK_TOKEN"]
        );
        assert_ne!(v["PG_PASS"], v["AUTHENTIK_SECRET_KEY"]);
        assert!(v["AUTHENTIK_SECRET_KEY"].len() >= 50);
        assert!(plan.text.starts_with("# The gatehouse stack's settings"));
    }

    #[test]
    fn existing_values_are_never_changed_and_the_rest_of_the_file_stays() {
        let existing = "# my notes\nDOMAIN=mine.org\nPG_PASS='keep-me'\nAUTHENTIK_BOOTSTRAP_TOKEN=tok123\nEMAIL=\nOTHER=x\n";
        let mut fill = counter();
        let a = answers();
        let entries = desired(&a, &HostFacts::default(), &parse_env(existing), &mut fill);
        let plan = merge(existing, &entries, &a);
        assert!(plan.text.starts_with("# my notes\nDOMAIN=mine.org\nPG_PASS='keep-me'\nAUTHENTIK_BOOTSTRAP_TOKEN=tok123\nEMAIL=me@example.com\nOTHER=x\n"), "{}", plan.text);
        let v = parse_env(&plan.text);
        assert_eq!(v["PG_PASS"], "keep-me");
        assert_eq!(v["GATEHOUSE_AUTHENTIK_TOKEN"], "tok123");
        assert!(plan.kept.contains(&"DOMAIN") && plan.kept.contains(&"PG_PASS"));
        assert_eq!(plan.ignored, vec![("DOMAIN", "example.com".to_owned())]);
        assert!(plan.added.iter().any(|e| e.key == "EMAIL"));
    }

    #[test]
    fn a_complete_file_is_left_byte_for_byte() {
        let mut fill = counter();
        let a = answers();
        let first = merge(
            "",
            &desired(&a, &HostFacts::default(), &BTreeMap::new(), &mut fill),
            &a,
        );
        let v = parse_env(&first.text);
        let second = merge(
            &first.text,
            &desired(&Answers::default(), &HostFacts::default(), &v, &mut fill),
            &Answers::default(),
        );
        assert!(!second.changed());
        assert_eq!(second.text, first.text);
    }

    #[test]
    fn the_summary_names_secrets_but_never_shows_them() {
        let mut fill = counter();
        let a = answers();
        let plan = merge(
            "",
            &desired(&a, &HostFacts::default(), &BTreeMap::new(), &mut fill),
            &a,
        );
        let v = parse_env(&plan.text);
        let s = summary(&plan, Path::new("/stack/.env"), &v);
        assert!(s.contains("AUTHENTIK_SECRET_KEY (generated secret, 60 characters)"));
        assert!(s.contains("DOMAIN=example.com"));
        assert!(s.contains("deactivate akadmin"));
        assert!(s.contains("https://auth.example.com/"));
        for key in [
            "PG_PASS",
            "AUTHENTIK_SECRET_KEY",
            "AUTHENTIK_BOOTSTRAP_PASSWORD",
            "AUTHENTIK_BOOTSTRAP_TOKEN",
        ] {
            assert!(!s.contains(&v[key]), "{key} leaked into the summary");
        }
    }

    #[test]
    fn running_init_twice_keeps_every_value() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        let opts = Options {
            env_file: env.clone(),
            answers: answers(),
            interactive: false,
            docker_socket: PathBuf::from("/nonexistent.sock"),
        };
        let out1 = run(&opts).unwrap();
        assert!(out1.contains("wrote"));
        let first = fs::read_to_string(&env).unwrap();
        let mode = fs::metadata(&env).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Options {
            answers: Answers {
                domain: Some("other.net".into()),
                ..Answers::default()
            },
            ..opts.clone()
        };
        let out2 = run(&again).unwrap();
        assert_eq!(fs::read_to_string(&env).unwrap(), first);
        assert!(out2.contains("nothing written"), "{out2}");
        assert!(out2.contains("\"other.net\" was not applied"), "{out2}");
        // Real randomness: two fresh files never share a secret.
        let env2 = dir.path().join("second.env");
        run(&Options {
            env_file: env2.clone(),
            ..opts
        })
        .unwrap();
        let (a, b) = (
            parse_env(&first),
            parse_env(&fs::read_to_string(env2).unwrap()),
        );
        assert_ne!(a["AUTHENTIK_SECRET_KEY"], b["AUTHENTIK_SECRET_KEY"]);
        assert_ne!(a["PG_PASS"], b["PG_PASS"]);
    }

    #[test]
    fn without_a_domain_and_no_terminal_init_says_which_flag_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(&Options {
            env_file: dir.path().join(".env"),
            answers: Answers::default(),
            interactive: false,
            docker_socket: PathBuf::from("/nonexistent.sock"),
        })
        .unwrap_err();
        assert!(err.to_string().contains("--domain"));
        assert!(!dir.path().join(".env").exists());
    }
}
