//! A protected app's authentik labels -> what authentik should hold for it (pure).
//!
//! Reads `auth.slug`, `auth.name`, `auth.group`, `auth.icon`, `auth.description`,
//! `auth.launch_url`, `auth.allow_groups`, `auth.outpost`, `auth.adopt`, `auth.mfa` and
//! `auth.mfa.max_age` (prefix configurable)
//! with strict grammars. The values travel as JSON, never into a config file, but they are
//! hostile all the same: a value outside its grammar rejects the app's authentik part with a
//! message naming container and label, and the conf (with the authentik includes) stays.

use crate::config::AuthentikSettings;
use crate::labels::{shown, LabelErrors, LabelProblem, LabelRules};
use crate::model::spec::{AppSpec, ServerName};
use crate::model::workload::Workload;

/// What authentik should hold for one protected app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppWant {
    pub(crate) container: String,
    /// The application's slug: its identity in authentik.
    pub(crate) slug: String,
    pub(crate) name: String,
    /// Dashboard group, icon, description and launch URL: set when a label sets them (an empty
    /// label counts as unset); when unset, cleared only if authentik still holds what gatehouse
    /// last set (see `fields`).
    pub(crate) group: Option<String>,
    pub(crate) icon: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) launch_url: Option<String>,
    /// `https://<first subdomain>.<domain>`.
    pub(crate) external_host: String,
    /// The bypass paths' regexes, one per line.
    pub(crate) skip_path_regex: String,
    /// Only members of these groups get in (policy bindings); empty: everyone authentik lets in.
    pub(crate) allow_groups: Vec<String>,
    /// The outpost to serve it; `None`: the configured default.
    pub(crate) outpost: Option<String>,
    /// Take over an application with this slug that gatehouse did not make.
    pub(crate) adopt: bool,
    /// `auth.mfa=true`: a second factor at most this old to open the app (`auth.mfa.max_age`).
    pub(crate) mfa: Option<crate::model::authentik::MaxAge>,
}

const SLUG_RULE: &str = "must be 1 to 50 of a-z, 0-9, '-' and '_' (authentik's application slug)";
const NAME_RULE: &str =
    "must be 1 to 100 characters without control, invisible or text-direction characters, and without leading/trailing spaces";
const GROUP_RULE: &str =
    "must be 1 to 64 of letters, digits, spaces, '.', '_' and '-' (the dashboard group)";
const URL_RULE: &str = "must be an http:// or https:// URL with a host name (letters, digits, '-' and '.'), an IPv4 address or a bracketed IPv6 one, an optional port, and a path without spaces, quotes or angle brackets (512 characters at most)";
const ICON_RULE: &str =
    "must be an http:// or https:// URL of an image, or fa://fa-<name> (a Font Awesome icon)";
const TEXT_RULE: &str =
    "must be at most 256 characters without control, invisible or text-direction characters, and without leading/trailing spaces";
const GROUP_NAME_RULE: &str =
    "must be authentik group names: 1 to 80 of letters, digits, spaces, '.', '_', '@' and '-', comma-separated";
const OUTPOST_RULE: &str =
    "must be an outpost name: 1 to 100 of letters, digits, spaces, '.', '_', '-', '(' and ')'";

pub(crate) fn slug(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 50
        && raw
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'));
    ok.then(|| raw.to_owned()).ok_or(SLUG_RULE)
}

/// Characters that do not show as themselves: controls, and Unicode's format characters and
/// line/paragraph separators (zero-width ones, bidirectional overrides that make a log line or
/// the dashboard read otherwise than it is).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{FEFF}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}')
}

fn display_name(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.chars().count() <= 100
        && !raw.chars().any(is_hidden)
        && raw.trim() == raw;
    ok.then(|| raw.to_owned()).ok_or(NAME_RULE)
}

fn dashboard_group(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.trim() == raw
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'-'));
    ok.then(|| raw.to_owned()).ok_or(GROUP_RULE)
}

/// An http(s) URL authentik's validator accepts (Django's URLValidator without the top-level
/// domain rule): a host of DNS labels, an IPv4 address or a bracketed IPv6 one, an optional
/// port, then a path, query or fragment of URL characters. Stricter than authentik where it is
/// cheap: no user info, ASCII only, no quotes or angle brackets anywhere.
fn is_url(raw: &str) -> bool {
    let Some(rest) = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    raw.len() <= 512 && is_authority(authority) && tail.bytes().all(is_url_byte)
}

fn is_authority(a: &str) -> bool {
    let (host_ok, port) = match a.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((v6, after)) => (v6.parse::<std::net::Ipv6Addr>().is_ok(), after),
            None => return false,
        },
        None => {
            let (host, port) = a.split_at(a.find(':').unwrap_or(a.len()));
            let ok = host.parse::<std::net::Ipv4Addr>().is_ok()
                || (host.len() <= 253 && host.split('.').all(is_dns_label));
            (ok, port)
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            (1..=5).contains(&p.len())
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
        });
    host_ok && port_ok
}

fn is_dns_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

fn is_url_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

pub(crate) fn url(raw: &str) -> Result<String, &'static str> {
    is_url(raw).then(|| raw.to_owned()).ok_or(URL_RULE)
}

fn icon(raw: &str) -> Result<String, &'static str> {
    let fa = raw.strip_prefix("fa://").is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 64
            && n.trim() == n
            && n.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b' '))
    });
    (fa || is_url(raw)).then(|| raw.to_owned()).ok_or(ICON_RULE)
}

fn text(raw: &str) -> Result<String, &'static str> {
    // authentik trims text fields: a value with outer spaces would never read back as sent,
    // and be sent again on every resync.
    let ok = raw.chars().count() <= 256 && !raw.chars().any(is_hidden) && raw.trim() == raw;
    ok.then(|| raw.to_owned()).ok_or(TEXT_RULE)
}

/// An optional field's value: empty is allowed (and means unset), anything else must pass
/// `parse`.
fn optional(
    raw: &str,
    parse: fn(&str) -> Result<String, &'static str>,
) -> Result<String, &'static str> {
    if raw.is_empty() {
        Ok(String::new())
    } else {
        parse(raw)
    }
}

fn group_name(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 80
        && raw.trim() == raw
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'-' | b'@'));
    ok.then(|| raw.to_owned()).ok_or(GROUP_NAME_RULE)
}

/// The grammar of an outpost name (label `auth.outpost`, `GATEHOUSE_AUTHENTIK_OUTPOST`).
pub(crate) fn outpost_name(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw.trim() == raw
        && raw.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'-' | b'(' | b')')
        });
    ok.then(|| raw.to_owned()).ok_or(OUTPOST_RULE)
}

/// The slug an app gets without `auth.slug`: its first subdomain, dots turned into dashes.
pub(crate) fn default_slug(first: &ServerName) -> String {
    let s: String = first
        .key()
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .take(50)
        .collect();
    s
}

/// The slug a container claims even when its labels are rejected, so gatehouse does not remove
/// the authentik objects of an app whose labels are merely broken for now.
pub(crate) fn claimed_slug(c: &Workload, rules: &LabelRules) -> Option<String> {
    if let Some(raw) = c.labels.get(&format!("{}.slug", rules.prefix)) {
        return slug(raw).ok();
    }
    let sub = c
        .labels
        .get(&format!("{}.subdomain", rules.prefix))
        .and_then(|s| s.split(',').next())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| c.default_subdomain().to_owned());
    ServerName::parse(&sub, false)
        .ok()
        .map(|n| default_slug(&n))
}

/// `auth.allow_groups`: group names, each once; a bad item is a problem naming it.
fn allow_groups(c: &Workload, key: &str, problems: &mut Vec<LabelProblem>) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    let Some(raw) = c.labels.get(key) else {
        return groups;
    };
    for item in raw.split(',').map(|s| s.trim_matches(' ')) {
        match group_name(item) {
            Ok(g) if !groups.contains(&g) => groups.push(g),
            Ok(_) => {}
            Err(rule) => problems.push(LabelProblem {
                label: key.to_owned(),
                value: raw.clone(),
                rule: format!("item {}: {rule}", shown(item)),
            }),
        }
    }
    groups
}

/// The address users reach the app at, from its first server name.
pub(crate) fn external_host(name: &ServerName, settings: &AuthentikSettings) -> String {
    match name {
        ServerName::Subdomain(s) => format!(
            "{}://{}.{}",
            settings.external_scheme,
            s.as_str(),
            settings.domain
        ),
        ServerName::Host(h) => format!("{}://{}", settings.external_scheme, h.as_str()),
    }
}

/// Reads a protected app's authentik labels.
pub(crate) fn read(
    c: &Workload,
    app: &AppSpec,
    rules: &LabelRules,
    settings: &AuthentikSettings,
) -> Result<AppWant, LabelErrors> {
    let skip_path_regex = app
        .bypass
        .iter()
        .map(|b| b.regex())
        .collect::<Vec<_>>()
        .join("\n");
    read_for(
        c,
        app.server_names.first(),
        skip_path_regex,
        rules,
        settings,
    )
}

/// Reads the authentik labels of an app whose first server name is `first` (`None`: not
/// published through SWAG; the slug then defaults to the container's subdomain).
pub(crate) fn read_for(
    c: &Workload,
    first: Option<&ServerName>,
    skip_path_regex: String,
    rules: &LabelRules,
    settings: &AuthentikSettings,
) -> Result<AppWant, LabelErrors> {
    let own = ServerName::parse(c.default_subdomain(), false).ok();
    let slug_from = first.or(own.as_ref());
    let mut problems = Vec::new();
    let label = |key: &str| format!("{}.{key}", rules.prefix);
    let mut get = |key: &str, parse: fn(&str) -> Result<String, &'static str>| {
        let name = label(key);
        let raw = c.labels.get(&name)?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(rule) => {
                problems.push(LabelProblem {
                    label: name,
                    value: raw.clone(),
                    rule: rule.into(),
                });
                None
            }
        }
    };
    let slug_v = get("slug", slug).or_else(|| slug_from.map(default_slug));
    let name = get("name", display_name);
    // An emptied optional label is one removed: the field is cleared if it is still what
    // gatehouse set (see `fields`).
    let group = get("group", |raw| optional(raw, dashboard_group)).filter(|v| !v.is_empty());
    let icon_v = get("icon", |raw| optional(raw, icon)).filter(|v| !v.is_empty());
    let description = get("description", text).filter(|v| !v.is_empty());
    let launch_url = get("launch_url", |raw| optional(raw, url)).filter(|v| !v.is_empty());
    let outpost = get("outpost", outpost_name);
    let adopt = get("adopt", |raw| match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok("true".into()),
        "false" | "no" | "off" | "0" => Ok("false".into()),
        _ => Err("must be true or false"),
    });
    let mfa = get("mfa", |raw| {
        crate::labels::reader::parse_bool(raw).map(|b| b.to_string())
    });
    let max_age = get("mfa.max_age", |raw| {
        crate::model::authentik::MaxAge::parse(raw).map(crate::model::authentik::MaxAge::key)
    });
    let mfa = (mfa.as_deref() == Some("true")).then(|| {
        max_age
            .as_deref()
            .and_then(crate::model::authentik::MaxAge::from_key)
            .unwrap_or(crate::model::authentik::MaxAge::DEFAULT)
    });
    let allow_groups = allow_groups(c, &label("allow_groups"), &mut problems);
    let external_host = slug_from.map(|n| external_host(n, settings));
    match (slug_v, external_host) {
        (Some(slug), Some(external_host)) if problems.is_empty() => Ok(AppWant {
            container: c.name.clone(),
            name: name.unwrap_or_else(|| c.default_subdomain().to_owned()),
            slug,
            group,
            icon: icon_v,
            description,
            launch_url,
            external_host,
            skip_path_regex,
            allow_groups,
            outpost,
            adopt: adopt.as_deref() == Some("true"),
            mfa,
        }),
        _ => Err(LabelErrors {
            container: c.name.clone(),
            problems,
            wants_protection: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{self, Parsed};
    use std::collections::BTreeMap;

    fn settings() -> AuthentikSettings {
        AuthentikSettings::for_tests()
    }

    fn container(labels: &[(&str, &str)]) -> Workload {
        Workload {
            name: "jellyfin".into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect::<BTreeMap<_, _>>(),
            exposed_tcp_ports: vec![8096],
            ..Workload::default()
        }
    }

    fn want(labels: &[(&str, &str)]) -> Result<AppWant, LabelErrors> {
        let c = container(labels);
        let rules = LabelRules::default();
        let Parsed::App { spec, .. } = labels::parse(&c, &rules) else {
            panic!("not an app");
        };
        read(&c, &spec, &rules, &settings())
    }

    #[test]
    fn defaults_come_from_the_subdomain_and_container() {
        let w = want(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "media.home,tv"),
            ("auth.bypass", "/api,/hooks"),
        ])
        .unwrap();
        assert_eq!(w.slug, "media-home");
        assert_eq!(w.name, "jellyfin");
        assert_eq!(w.external_host, "https://media.home.example.com");
        assert_eq!(w.skip_path_regex, "^/api(/|$)\n^/hooks(/|$)");
        assert_eq!(w.group, None);
        assert!(!w.adopt);
    }

    #[test]
    fn every_label_is_read() {
        let w = want(&[
            ("auth.protect", "true"),
            ("auth.slug", "jf"),
            ("auth.name", "Jellyfin Media"),
            ("auth.group", "Media"),
            ("auth.icon", "https://cdn.example.com/jf.png"),
            ("auth.description", "Films & series"),
            ("auth.launch_url", "https://jf.example.com/web"),
            ("auth.allow_groups", "admins, family,admins"),
            ("auth.outpost", "LAN outpost"),
            ("auth.adopt", "true"),
        ])
        .unwrap();
        assert_eq!(w.slug, "jf");
        assert_eq!(w.name, "Jellyfin Media");
        assert_eq!(w.allow_groups, ["admins", "family"]);
        assert_eq!(w.outpost.as_deref(), Some("LAN outpost"));
        assert!(w.adopt);
    }

    #[test]
    fn an_emptied_optional_label_counts_as_unset() {
        let w = want(&[
            ("auth.protect", "true"),
            ("auth.group", ""),
            ("auth.icon", ""),
            ("auth.description", ""),
            ("auth.launch_url", ""),
        ])
        .unwrap();
        assert_eq!(
            (w.group, w.icon, w.description, w.launch_url),
            (None, None, None, None)
        );
        // a value that is only blank is not empty: still checked
        assert!(want(&[("auth.protect", "true"), ("auth.group", " ")]).is_err());
    }

    #[test]
    fn hostile_values_are_rejected_naming_the_label() {
        let table: &[(&str, &str)] = &[
            ("auth.slug", "Jelly"),
            ("auth.slug", "a/b"),
            ("auth.slug", "x\ny"),
            ("auth.name", " padded"),
            ("auth.name", "a\u{7}b"),
            ("auth.name", "admin\u{202E}nimda"),
            ("auth.name", "zero\u{200B}width"),
            ("auth.description", "one\u{2028}two"),
            ("auth.description", "tag\u{E0041}"),
            ("auth.description", " Films "),
            ("auth.description", "Films "),
            ("auth.icon", "fa://fa-film "),
            ("auth.group", "a;b"),
            ("auth.icon", "javascript:alert(1)"),
            ("auth.icon", "https://x/\"onload"),
            ("auth.description", "line\nbreak"),
            ("auth.launch_url", "ftp://x"),
            ("auth.launch_url", "https://"),
            ("auth.launch_url", "https://a_b.example.com"),
            ("auth.launch_url", "https://a!b.example.com/"),
            ("auth.launch_url", "https://a*b.example.com"),
            ("auth.launch_url", "https://user@example.com/"),
            ("auth.launch_url", "https://[example.com]/"),
            ("auth.launch_url", "https://ex(ample).com"),
            ("auth.launch_url", "https://-x.example.com"),
            ("auth.launch_url", "https://x..example.com"),
            ("auth.launch_url", "https://x.example.com:70000"),
            ("auth.launch_url", "https://x.example.com:"),
            ("auth.icon", "https://a_b.example.com/i.png"),
            ("auth.allow_groups", "admins,<script>"),
            ("auth.outpost", "x;y"),
            ("auth.adopt", "maybe"),
        ];
        for (label, value) in table {
            let err = want(&[("auth.protect", "true"), (label, value)])
                .expect_err(&format!("{label}={value:?} should be rejected"));
            assert_eq!(err.problems.len(), 1, "{label}={value:?}");
            assert_eq!(err.problems[0].label, *label);
            assert!(err.to_string().contains("container jellyfin"));
        }
    }

    #[test]
    fn urls_authentik_takes_are_accepted() {
        for ok in [
            "https://jf.example.com",
            "http://jellyfin:8096/web",
            "https://192.168.1.10:8443/web?x=1&y=(2)#top",
            "https://[2001:db8::1]:9000/a",
            "http://localhost",
            "https://x.example.com/a_b!*()@[]",
        ] {
            assert_eq!(url(ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn a_rejected_container_still_claims_its_slug() {
        let rules = LabelRules::default();
        let c = container(&[("auth.protect", "true"), ("auth.port", "x")]);
        assert_eq!(claimed_slug(&c, &rules).as_deref(), Some("jellyfin"));
        let c = container(&[("auth.slug", "jf"), ("auth.port", "x")]);
        assert_eq!(claimed_slug(&c, &rules).as_deref(), Some("jf"));
    }
}
