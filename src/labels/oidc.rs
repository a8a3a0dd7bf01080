//! An app's native single sign-on labels (`auth.oidc`, `auth.oidc.*`) -> the OAuth2/OpenID
//! provider and application authentik should hold for it, and where its credentials go (pure).
//!
//! The application part (`auth.slug`, `auth.name`, `auth.allow_groups`, `auth.adopt`, ...) is
//! read as for forward auth ([`super::authentik`]). An app behind forward auth too
//! (`auth.protect=true`) gets a second application for its own login, slug `<slug>-oidc`.

use crate::config::AuthentikSettings;
use crate::labels::authentik::{self, AppWant};
use crate::labels::{shown, LabelErrors, LabelProblem, LabelRules};
use crate::model::spec::ServerName;
use crate::model::workload::Workload;

/// The scopes every app gets.
pub const BASE_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// One allowed redirect URI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Redirect {
    /// Matched as a regular expression (`regex:` prefix), else strictly.
    pub(crate) regex: bool,
    pub(crate) url: String,
}

/// What authentik should hold for one app that logs its users in with OpenID Connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcWant {
    /// The application (slug, name, dashboard fields, groups, adopt).
    pub(crate) app: AppWant,
    /// The container's id, to restart it (`auth.oidc.restart`).
    pub(crate) container_id: String,
    pub(crate) redirects: Vec<Redirect>,
    /// `None`: the application slug.
    pub(crate) client_id: Option<String>,
    pub(crate) public: bool,
    /// Scopes beyond [`BASE_SCOPES`], each once.
    pub(crate) scopes: Vec<String>,
    /// `uid:gid` of the credential files; `None`: `PUID:PGID`.
    pub(crate) owner: Option<(u32, u32)>,
    pub(crate) restart: bool,
    /// A scope mapping that says `email_verified: true` instead of authentik's default email one.
    pub(crate) email_verified: bool,
}

impl OidcWant {
    pub(crate) fn slug(&self) -> &str {
        &self.app.slug
    }

    /// The client id: the label's, or the application slug.
    pub(crate) fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.app.slug)
    }
}

const REDIRECT_RULE: &str = "must be comma-separated redirect URIs: a path starting with '/' (joined to each of the app's hosts) without '..', spaces, quotes or angle brackets; a full https:// URL (http:// only for localhost or 127.0.0.1); or regex:<regular expression>";
const REDIRECT_HOSTLESS: &str = "is a path, but the app is not published through SWAG (no auth.expose or auth.protect), so there is no host to join it to: give full https:// URLs";
const REGEX_RULE: &str = "must be a regular expression that compiles (after regex:)";
const CLIENT_ID_RULE: &str = "must be 1 to 255 of letters, digits, '-', '_', '.' and '~'";
const SCOPES_RULE: &str =
    "must be scope names: 1 to 64 of a-z, 0-9, '_', '-', ':' and '.', comma-separated";
const OWNER_RULE: &str = "must be uid:gid, two numbers (e.g. 1000:1000)";
const SECRET_RULE: &str = "is not read: a client secret never goes into a label (docker inspect shows labels); gatehouse makes one and writes it into the app's credentials folder (remove the label)";
const SECRET_PUBLIC_RULE: &str =
    "cannot be set with auth.oidc.public=true: a public client has no secret (remove one of them)";
/// Slugs authentik's OpenID endpoints take: an application with one cannot be reached by its
/// issuer (`/application/o/<slug>/`), and authentik 2025.8 on refuses them outright.
pub const RESERVED_SLUGS: [&str; 6] = [
    "authorize",
    "token",
    "device",
    "userinfo",
    "introspect",
    "revoke",
];

/// Whether a container asks for native single sign-on (`auth.oidc` present, whatever its value:
/// a bad value is reported by [`read`]).
pub(crate) fn asks(c: &Workload, rules: &LabelRules) -> bool {
    c.labels.contains_key(&format!("{}.oidc", rules.prefix))
}

fn path_ok(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 512
        && !p.split('/').any(|seg| seg == ".." || seg == ".")
        && p.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.' | b'_' | b'~' | b'/' | b'?' | b'&' | b'=' | b'%' | b':' | b'+'
                )
        })
}

fn full_url_ok(u: &str) -> bool {
    let Ok(u) = authentik::url(u) else {
        return false;
    };
    if u.starts_with("https://") {
        return true;
    }
    let rest = &u["http://".len()..];
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
    matches!(host, "localhost" | "127.0.0.1")
}

/// One item of `auth.oidc.redirect`, against the app's hosts.
fn redirect_item(item: &str, hosts: &[String]) -> Result<Vec<Redirect>, &'static str> {
    if let Some(re) = item.strip_prefix("regex:") {
        let ok = !re.is_empty()
            && re.len() <= 512
            && !re.chars().any(char::is_control)
            && regex_syntax::Parser::new().parse(re).is_ok();
        return if ok {
            Ok(vec![Redirect {
                regex: true,
                url: re.to_owned(),
            }])
        } else {
            Err(REGEX_RULE)
        };
    }
    if item.starts_with('/') {
        if !path_ok(item) {
            return Err(REDIRECT_RULE);
        }
        if hosts.is_empty() {
            return Err(REDIRECT_HOSTLESS);
        }
        return Ok(hosts
            .iter()
            .map(|h| Redirect {
                regex: false,
                url: format!("{h}{item}"),
            })
            .collect());
    }
    if full_url_ok(item) {
        Ok(vec![Redirect {
            regex: false,
            url: item.to_owned(),
        }])
    } else {
        Err(REDIRECT_RULE)
    }
}

fn client_id(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 255
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~'));
    ok.then(|| raw.to_owned()).ok_or(CLIENT_ID_RULE)
}

fn scope(raw: &str) -> Result<String, &'static str> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b':' | b'.')
        });
    ok.then(|| raw.to_owned()).ok_or(SCOPES_RULE)
}

/// `uid:gid`.
pub(crate) fn owner(raw: &str) -> Result<(u32, u32), &'static str> {
    let (u, g) = raw.split_once(':').ok_or(OWNER_RULE)?;
    let num = |s: &str| {
        (!s.is_empty() && s.len() <= 10 && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .ok_or(OWNER_RULE)
    };
    Ok((num(u)?, num(g)?))
}

/// The collected problems of one container's `auth.oidc.*` labels.
struct Problems<'a> {
    c: &'a Workload,
    prefix: &'a str,
    list: Vec<LabelProblem>,
}

impl Problems<'_> {
    fn label(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.c.labels.get(&self.label(key)).map(String::as_str)
    }

    fn push(&mut self, key: &str, rule: impl Into<String>) {
        let label = self.label(key);
        let value = self.raw(key).unwrap_or_default().to_owned();
        self.list.push(LabelProblem {
            label,
            value,
            rule: rule.into(),
        });
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.raw(key).map(super::reader::parse_bool) {
            None => false,
            Some(Ok(b)) => b,
            Some(Err(rule)) => {
                self.push(key, rule);
                false
            }
        }
    }

    fn one<T>(&mut self, key: &str, parse: fn(&str) -> Result<T, &'static str>) -> Option<T> {
        match parse(self.raw(key)?) {
            Ok(v) => Some(v),
            Err(rule) => {
                self.push(key, rule);
                None
            }
        }
    }

    fn redirects(&mut self, hosts: &[String]) -> Vec<Redirect> {
        let Some(raw) = self.raw("oidc.redirect").map(str::to_owned) else {
            self.push("oidc.redirect", "is required with auth.oidc=true: the app's callback path (e.g. /login/generic_oauth) or full URLs");
            return Vec::new();
        };
        let mut out: Vec<Redirect> = Vec::new();
        for item in raw.split(',').map(|s| s.trim_matches(' ')) {
            match redirect_item(item, hosts) {
                Ok(rs) => {
                    for r in rs {
                        if !out.contains(&r) {
                            out.push(r);
                        }
                    }
                }
                Err(rule) => self.push("oidc.redirect", format!("item {}: {rule}", shown(item))),
            }
        }
        out
    }

    fn scopes(&mut self) -> Vec<String> {
        let Some(raw) = self.raw("oidc.scopes").map(str::to_owned) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for item in raw.split(',').map(|s| s.trim_matches(' ')) {
            match scope(item) {
                Ok(s) if BASE_SCOPES.contains(&s.as_str()) || out.contains(&s) => {}
                Ok(s) => out.push(s),
                Err(rule) => self.push("oidc.scopes", format!("item {}: {rule}", shown(item))),
            }
        }
        out
    }
}

/// Reads a container's single sign-on labels. `published`: its first server name and all its
/// hosts (`https://<sub>.<domain>`) when SWAG publishes it; `protected`: forward auth is in
/// front too. `Ok(None)`: `auth.oidc` is false.
pub(crate) fn read(
    c: &Workload,
    published: Option<(&ServerName, Vec<String>)>,
    protected: bool,
    rules: &LabelRules,
    settings: &AuthentikSettings,
) -> Result<Option<OidcWant>, LabelErrors> {
    let mut p = Problems {
        c,
        prefix: &rules.prefix,
        list: Vec::new(),
    };
    if !p.bool("oidc") && p.list.is_empty() {
        return Ok(None);
    }
    let (first, hosts) = match &published {
        Some((first, hosts)) => (Some(*first), hosts.clone()),
        None => (None, Vec::new()),
    };
    let redirects = p.redirects(&hosts);
    let client_id = p.one("oidc.client_id", client_id);
    let public = p.bool("oidc.public");
    let scopes = p.scopes();
    let owner = p.one("oidc.owner", owner);
    let restart = p.bool("oidc.restart");
    let email_verified = p.bool("oidc.email_verified");
    for key in ["oidc.client_secret", "oidc.secret"] {
        if p.raw(key).is_some() {
            // The value may be a real secret: it is not repeated.
            p.list.push(LabelProblem {
                label: p.label(key),
                value: "(hidden)".into(),
                rule: if public {
                    SECRET_PUBLIC_RULE
                } else {
                    SECRET_RULE
                }
                .into(),
            });
        }
    }
    let app = authentik::read_for(c, first, String::new(), rules, settings);
    let mut app = match app {
        Ok(a) => Some(a),
        Err(e) => {
            p.list.extend(e.problems);
            None
        }
    };
    if let Some(a) = app.as_mut() {
        if protected {
            a.slug = format!("{}-oidc", a.slug.chars().take(45).collect::<String>());
        }
        if RESERVED_SLUGS.contains(&a.slug.as_str()) {
            p.push("slug", format!("{} is reserved by authentik's OpenID endpoints (/application/o/{}/; authentik 2025.8 and later refuse it): set another auth.slug", shown(&a.slug), a.slug));
        }
    }
    match app {
        Some(app) if p.list.is_empty() => Ok(Some(OidcWant {
            app,
            container_id: c.id.clone(),
            redirects,
            client_id,
            public,
            scopes,
            owner,
            restart,
            email_verified,
        })),
        _ => Err(LabelErrors {
            container: c.name.clone(),
            problems: p.list,
            wants_protection: false,
        }),
    }
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;
