//! One parser per kind of value a variable holds; each returns the rule broken, in words a user
//! can act on.

use std::path::PathBuf;

use super::LogFormat;
use crate::plan::networks::{self, NetworkMode};

/// The rule a bad value broke, as shown after `VAR=value`.
pub(crate) type Checked<T> = Result<T, String>;

pub(crate) fn bool_value(raw: &str) -> Checked<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" | "" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

pub(crate) fn number_in(min: u64, max: u64) -> impl Fn(&str) -> Checked<u64> {
    move |raw| match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

pub(crate) fn id(raw: &str) -> Checked<u32> {
    raw.parse::<u32>()
        .map_err(|_| "must be a numeric user or group id".to_owned())
}

pub(crate) fn swag_config(raw: &str) -> Checked<PathBuf> {
    if raw.starts_with('/') {
        Ok(PathBuf::from(raw))
    } else {
        Err("must be an absolute path (SWAG's /config folder as mounted into gatehouse)".into())
    }
}

pub(crate) fn absolute_path(raw: &str) -> Checked<PathBuf> {
    if raw.starts_with('/') {
        Ok(PathBuf::from(raw))
    } else {
        Err("must be an absolute path".into())
    }
}

/// `host:port` to listen on (`0.0.0.0:8080`, `127.0.0.1:9100`, `[::]:8080`), or `off`.
pub(crate) fn listen(raw: &str) -> Checked<Option<std::net::SocketAddr>> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| {
        "must be an address and port to listen on (0.0.0.0:8080, 127.0.0.1:9100, [::]:8080) or off"
            .into()
    })
}

pub(crate) fn label_prefix(raw: &str) -> Checked<String> {
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

/// The level words `GATEHOUSE_LOG_LEVEL` takes, alone or after `target=`.
const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];

const LOG_LEVEL_RULE: &str = "must be error, warn, info, debug or trace, or tracing filter directives such as gatehouse=debug,info (target=level, comma-separated)";

/// A level word, or comma-separated directives each a level word or `target=level`. tracing
/// itself takes any word as a target name (`verbose` would enable only a target nobody logs to,
/// printing nothing at all, not even errors), so a bare word must be a level.
pub(crate) fn log_level(raw: &str) -> Checked<String> {
    let is_level = |s: &str| LEVELS.contains(&s.to_ascii_lowercase().as_str());
    let directive_ok = |d: &str| match d.rsplit_once('=') {
        Some((target, level)) => !target.trim().is_empty() && is_level(level.trim()),
        None => is_level(d.trim()),
    };
    let ok = !raw.is_empty()
        && raw.split(',').all(directive_ok)
        && tracing_subscriber::EnvFilter::try_new(raw).is_ok();
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(LOG_LEVEL_RULE.into())
    }
}

pub(crate) fn log_format(raw: &str) -> Checked<LogFormat> {
    match raw {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("must be text or json".into()),
    }
}

pub(crate) fn scope_label(raw: &str) -> Checked<(String, String)> {
    let (k, v) = raw.split_once('=').unwrap_or((raw, ""));
    let ok = |t: &str| {
        !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/'))
    };
    if ok(k) && ok(v) {
        Ok((k.to_owned(), v.to_owned()))
    } else {
        Err("must be key=value (letters, digits, '.', '-', '_', '/')".into())
    }
}

pub(crate) fn container_name(raw: &str) -> Checked<String> {
    if networks::valid_network_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err("must be a container name or id (letters, digits, '_', '.', '-')".to_owned())
    }
}

pub(crate) fn network_name(raw: &str) -> Checked<String> {
    if networks::valid_network_name(raw) {
        Ok(raw.to_owned())
    } else {
        Err("must be a Docker network name (letters, digits, '_', '.', '-')".into())
    }
}

/// The mode; a shared network's name is filled in from `GATEHOUSE_SHARED_NETWORK` afterwards.
pub(crate) fn network_mode(raw: &str) -> Checked<Option<NetworkMode>> {
    match raw {
        "per-app" | "" => Ok(Some(NetworkMode::PerApp)),
        "shared" => Ok(Some(NetworkMode::Shared(String::new()))),
        "off" => Ok(None),
        _ => Err("must be per-app, shared or off".into()),
    }
}

pub(crate) fn swarm(raw: &str) -> Checked<super::SwarmSetting> {
    match raw {
        "auto" => Ok(super::SwarmSetting::Auto),
        "on" => Ok(super::SwarmSetting::On),
        "off" => Ok(super::SwarmSetting::Off),
        _ => Err("must be auto, on or off".into()),
    }
}

pub(crate) fn authentik_url(raw: &str) -> Checked<String> {
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && host.bytes().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, b'.' | b'-' | b'_' | b':' | b'/' | b'[' | b']')
                }) =>
        {
            Ok(raw.trim_end_matches('/').trim_end_matches("/api/v3").to_owned())
        }
        _ => Err("must be authentik's base URL, http://host:port or https://host (e.g. http://authentik-server:9000)".into()),
    }
}

/// A token is sent as an HTTP header: refuse anything that could break out of it.
pub(crate) fn token(raw: &str) -> Checked<String> {
    if !raw.is_empty() && raw.bytes().all(|c| c.is_ascii_graphic()) {
        Ok(raw.to_owned())
    } else {
        Err(
            "must be one word of printable ASCII (the token from authentik's Directory > Tokens)"
                .into(),
        )
    }
}

pub(crate) fn domain(raw: &str) -> Checked<String> {
    crate::model::spec::Subdomain::parse(raw)
        .ok()
        .filter(|d| d.as_str().contains('.'))
        .map(|d| d.as_str().to_owned())
        .ok_or_else(|| "must be a domain name such as example.com".to_owned())
}

pub(crate) fn scheme(raw: &str) -> Checked<String> {
    match raw {
        "http" | "https" => Ok(raw.to_owned()),
        _ => Err("must be https or http".into()),
    }
}

pub(crate) fn outpost(raw: &str) -> Checked<String> {
    crate::labels::authentik::outpost_name(raw).map_err(str::to_owned)
}

pub(crate) fn slug(raw: &str) -> Checked<String> {
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
