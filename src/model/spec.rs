//! What a published app is, as validated data.
//!
//! Every value that comes from a label is parsed into one of the newtypes here before anything else
//! sees it. Each type's grammar is strict and excludes everything nginx treats specially (`;`, `{`,
//! `}`, quotes, `$`, `#`, white space, non-ASCII), so the renderer can paste `as_str()` into a config
//! file without further escaping. The constructors return the rule that was broken, in words a user
//! can act on.

use std::fmt;

/// The rule a label value broke, phrased for the user ("must be ...").
pub(crate) type Rule = &'static str;

/// Whether `raw` is 1 to `max` bytes, its first accepted by `first` and all accepted by `rest`.
pub(crate) fn is_word(
    raw: &str,
    max: usize,
    first: impl Fn(u8) -> bool,
    rest: impl Fn(u8) -> bool,
) -> bool {
    let b = raw.as_bytes();
    !b.is_empty() && b.len() <= max && first(b[0]) && b.iter().all(|c| rest(*c))
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A Docker network (or container) name as a label or setting may give it.
pub(crate) fn is_network_name(s: &str) -> bool {
    is_word(
        s,
        128,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
    )
}

const SUBDOMAIN_RULE: Rule = "must be DNS labels (a-z, 0-9, '-', not starting or ending with '-', at most 63 each) joined by '.', 253 characters at most";

/// One or more DNS labels, lower case, e.g. `jellyfin` or `media.home`. Rendered as `<subdomain>.*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subdomain(String);

impl Subdomain {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        let s = raw.to_ascii_lowercase();
        if raw.is_ascii() && s.len() <= 253 && s.split('.').all(is_dns_label) {
            Ok(Self(s))
        } else {
            Err(SUBDOMAIN_RULE)
        }
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest file name Linux file systems take (`NAME_MAX`), in bytes.
pub(crate) const FILE_NAME_MAX: usize = 255;
/// The most bytes a writer may add to a file's name for its temp file (`.<name>.<pid>.<n>.tmp`
/// is at most 37). Shared with the atomic writer: a temp name longer than the final name by more
/// than this could exceed [`FILE_NAME_MAX`] for a name the labels accepted.
pub(crate) const TEMP_NAME_EXTRA: usize = 40;
/// What gatehouse puts before an app's first server name to name its conf file.
pub(crate) const CONF_FILE_PREFIX: &str = "gatehouse.";
/// What gatehouse puts after it: SWAG loads `*.subdomain.conf`.
pub(crate) const CONF_FILE_SUFFIX: &str = ".subdomain.conf";
/// The longest server name: `gatehouse.<name>.subdomain.conf` and its temp file must fit a file
/// name (190 bytes).
pub(crate) const SERVER_NAME_MAX: usize =
    FILE_NAME_MAX - TEMP_NAME_EXTRA - CONF_FILE_PREFIX.len() - CONF_FILE_SUFFIX.len();

const SERVER_NAME_LENGTH_RULE: Rule = "must be at most 190 characters in all: gatehouse names the conf file gatehouse.<name>.subdomain.conf, and it (with its temp file) must fit the file system's 255-byte file names";

/// A name nginx matches in `server_name`: a subdomain on any domain (`app.*`) or a full host name
/// (`app.example.com`, from swag-auto-proxy's `swag_url`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerName {
    /// `<subdomain>.*`: the app on every domain SWAG serves.
    Subdomain(Subdomain),
    /// A fully qualified host name, matched exactly.
    Host(Subdomain),
}

impl ServerName {
    /// Parses `app`, `app.*` (subdomain on any domain) or `app.example.com` (a full host, when
    /// `full_hosts` is true: swag_url gives whole names, auth.subdomain gives subdomains).
    pub(crate) fn parse(raw: &str, full_hosts: bool) -> Result<Self, Rule> {
        let name = match raw.strip_suffix(".*") {
            Some(sub) => Self::Subdomain(Subdomain::parse(sub)?),
            None => {
                let name = Subdomain::parse(raw)?;
                if full_hosts && name.as_str().contains('.') {
                    Self::Host(name)
                } else {
                    Self::Subdomain(name)
                }
            }
        };
        name.fits_nginx_hash()?;
        if name.key().len() > SERVER_NAME_MAX {
            return Err(SERVER_NAME_LENGTH_RULE);
        }
        Ok(name)
    }

    /// nginx keeps each `server_name` in one bucket of `server_names_hash_bucket_size` bytes (64
    /// by default; SWAG does not raise it): an exact host whole, a wildcard name label by label.
    /// A longer name fails `nginx -t` for SWAG's whole config, so every other app stops reloading
    /// too. 46 characters is what a 64-byte bucket holds (measured with Debian's nginx 1.22).
    fn fits_nginx_hash(&self) -> Result<(), Rule> {
        const MAX: usize = 46;
        match self {
            Self::Subdomain(s) if s.as_str().split('.').any(|l| l.len() > MAX) => Err(
                "must have labels of at most 46 characters: nginx's default server_names_hash_bucket_size (64, as SWAG ships it) cannot hold longer ones and would refuse SWAG's whole config",
            ),
            Self::Host(h) if h.as_str().len() > MAX => Err(
                "must be at most 46 characters as a full host name: nginx's default server_names_hash_bucket_size (64, as SWAG ships it) cannot hold a longer one and would refuse SWAG's whole config (a subdomain such as <name>.* may be longer)",
            ),
            _ => Ok(()),
        }
    }

    /// The token written after `server_name`.
    pub fn nginx_token(&self) -> String {
        match self {
            Self::Subdomain(s) => format!("{}.*", s.as_str()),
            Self::Host(h) => h.as_str().to_owned(),
        }
    }

    /// The name part without any wildcard, used for file names and conflict checks.
    pub(crate) fn key(&self) -> &str {
        match self {
            Self::Subdomain(s) | Self::Host(s) => s.as_str(),
        }
    }

    /// Whether a `server_name` token from somebody else's conf serves the same requests as this one.
    /// `app.*` collides with `app.*` and with any full name `app.<domain>`; a full host collides
    /// with the same host and with a wildcard of any of its leading labels.
    pub fn collides_with_token(&self, token: &str) -> bool {
        let token = token.to_ascii_lowercase();
        let ours = self.key();
        match self {
            Self::Subdomain(_) => {
                token == format!("{ours}.*")
                    || token
                        .strip_prefix(ours)
                        .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
            }
            Self::Host(_) => {
                token == ours
                    || token.strip_suffix(".*").is_some_and(|sub| {
                        ours.strip_prefix(sub).is_some_and(|r| r.starts_with('.'))
                    })
            }
        }
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.nginx_token())
    }
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        const RULE: Rule = "must be a whole number from 1 to 65535";
        if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RULE);
        }
        match raw.parse::<u16>() {
            Ok(0) | Err(_) => Err(RULE),
            Ok(p) => Ok(Self(p)),
        }
    }
    pub(crate) fn new(port: u16) -> Option<Self> {
        (port != 0).then_some(Self(port))
    }
    #[cfg(test)]
    pub(crate) fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How SWAG talks to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Proto {
    #[default]
    Http,
    Https,
}

impl Proto {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        match raw {
            "http" => Ok(Self::Http),
            "https" => Ok(Self::Https),
            _ => Err("must be http or https"),
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// The upstream host SWAG connects to: a container or host name, or an IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Address(String);

impl Address {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        const RULE: Rule = "must be a container or host name (letters, digits, '_', '.', '-', starting with a letter or digit, 253 characters at most) or an IPv4 address";
        let ok = is_word(
            raw,
            253,
            |c| c.is_ascii_alphanumeric(),
            |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
        );
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RULE)
        }
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A path served without authentik, e.g. `/api` (that path and everything below it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct BypassPath(String);

impl BypassPath {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        const RULE: Rule = "must start with '/' and hold only letters, digits and . _ ~ - / (no '//', no '.' or '..' segments, 256 characters at most); '/' alone is refused: use auth.expose to publish without authentik";
        let ok = raw.len() > 1
            && raw.len() <= 256
            && raw.starts_with('/')
            && raw.bytes().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'-' | b'/')
            })
            && !raw.contains("//")
            && !raw.split('/').any(|seg| seg == "." || seg == "..");
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RULE)
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// An anchored regular expression matching this path and everything below it, but not
    /// siblings that merely share the prefix (`/api` matches `/api` and `/api/x`, not `/apis`).
    /// nginx uses it for the bypass `location`; authentik's `skip_path_regex` uses it too.
    pub(crate) fn regex(&self) -> String {
        let mut out = String::from("^");
        for c in self.0.trim_end_matches('/').chars() {
            if matches!(c, '.' | '~' | '-') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("(/|$)");
        out
    }
}

/// The name of a SWAG sample, `<name>.subdomain.conf.sample`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PresetName(String);

impl PresetName {
    pub fn parse(raw: &str) -> Result<Self, Rule> {
        const RULE: Rule = "must name a SWAG sample: lower-case letters, digits, '_' and '-', starting with a letter or digit (the part before .subdomain.conf.sample)";
        let lower_or_digit = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let ok = is_word(raw, 100, lower_or_digit, |c| {
            lower_or_digit(c) || matches!(c, b'_' | b'-')
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RULE)
        }
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
    pub(crate) fn sample_file_name(&self) -> String {
        format!("{}.subdomain.conf.sample", self.0)
    }
}

/// An nginx directive copied from a label, allowed only with `GATEHOUSE_ALLOW_RAW_DIRECTIVES=true`.
/// Even then it must be one printable ASCII line ending in `;` or `}`, with balanced braces and
/// quotes, so it cannot close the block it is placed in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RawDirective(String);

impl RawDirective {
    pub(crate) fn parse(raw: &str) -> Result<Self, Rule> {
        const RULE: Rule = "must be one line of printable ASCII ending in ';' or '}', with balanced braces and quotes and no '#'";
        let s = raw.trim();
        if s.is_empty()
            || s.len() > 1024
            || !s.bytes().all(|c| (b' '..=b'~').contains(&c))
            || s.contains('#')
            || !(s.ends_with(';') || s.ends_with('}'))
        {
            return Err(RULE);
        }
        let mut depth: i32 = 0;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in s.chars() {
            if escaped {
                escaped = false;
                continue;
            }
            match (quote, c) {
                (_, '\\') => escaped = true,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '{') => depth += 1,
                (None, '}') => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(RULE);
                    }
                }
                (None, _) => {}
            }
        }
        if depth != 0 || quote.is_some() || escaped {
            return Err(RULE);
        }
        Ok(Self(s.to_owned()))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether SWAG puts authentik in front of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Published with the authentik includes switched on.
    Protected,
    /// Published without authentik (the app has its own login, or it is authentik).
    Exposed,
}

impl Access {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Protected => "protected",
            Self::Exposed => "exposed",
        }
    }
}

/// Which label set the app was described with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LabelSet {
    /// gatehouse's own `auth.*` labels (prefix configurable).
    Gatehouse,
    /// linuxserver's swag-auto-proxy labels (`swag=enable`, `swag_*`).
    SwagAutoProxy,
}

/// Where the conf's text comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Template {
    /// gatehouse's built-in template, equivalent to SWAG's `_template.subdomain.conf.sample`.
    BuiltIn,
    /// A sample SWAG ships, named by a label.
    Preset(PresetName),
    /// A sample whose name matches the container (swag-auto-proxy's behaviour); if it cannot be
    /// protected, the built-in template is used instead.
    PresetByName(PresetName),
}

/// A published app as the labels describe it, every value validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// Container name, for logs and the conf header.
    pub container: String,
    pub access: Access,
    /// At least one; the first names the conf file.
    pub server_names: Vec<ServerName>,
    pub(crate) address: Address,
    /// From a label; otherwise resolved from the container's exposed ports or the preset.
    pub(crate) port: Option<Port>,
    /// From a label; otherwise the preset's, else http.
    pub(crate) proto: Option<Proto>,
    pub(crate) bypass: Vec<BypassPath>,
    pub(crate) template: Template,
    pub(crate) server_directives: Vec<RawDirective>,
    pub(crate) location_directives: Vec<RawDirective>,
    pub(crate) label_set: LabelSet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypass_regex_matches_path_and_children_only() {
        let p = BypassPath::parse("/api.v1").unwrap();
        assert_eq!(p.regex(), r"^/api\.v1(/|$)");
        let p = BypassPath::parse("/hooks/").unwrap();
        assert_eq!(p.regex(), "^/hooks(/|$)");
    }

    #[test]
    fn server_names_collide_like_nginx_would_serve_them() {
        let sub = ServerName::parse("app", false).unwrap();
        assert!(sub.collides_with_token("app.*"));
        assert!(sub.collides_with_token("APP.example.com"));
        assert!(!sub.collides_with_token("apps.*"));
        assert!(!sub.collides_with_token("app"));
        let host = ServerName::parse("app.example.com", true).unwrap();
        assert_eq!(host.nginx_token(), "app.example.com");
        assert!(host.collides_with_token("app.*"));
        assert!(host.collides_with_token("app.example.com"));
        assert!(!host.collides_with_token("app.example.org"));
        // What nginx's default server_names_hash_bucket_size holds: 46 characters per wildcard
        // label, 46 for a full host.
        let label46 = "a".repeat(46);
        assert!(ServerName::parse(&format!("{label46}.{label46}"), false).is_ok());
        assert!(ServerName::parse(&format!("{label46}b"), false).is_err());
        assert!(ServerName::parse(&format!("{label46}b.*"), true).is_err());
        assert!(ServerName::parse(&format!("{}.example.com", "a".repeat(34)), true).is_ok());
        assert!(ServerName::parse(&format!("{}.example.com", "a".repeat(35)), true).is_err());
        // auth.subdomain never yields a full host: dotted values are subdomains.
        let dotted = ServerName::parse("media.home", false).unwrap();
        assert_eq!(dotted.nginx_token(), "media.home.*");
    }

    #[test]
    fn a_server_name_fits_the_conf_file_name() {
        // issue 8 item 6: 253 characters passed, but over ~215 the temp name exceeded 255 bytes
        // (ENAMETOOLONG on every retry). 46-character labels also fit nginx's hash bucket.
        let label46 = "a".repeat(46);
        let longest = format!("{label46}.{label46}.{label46}.{label46}.ab");
        assert_eq!(longest.len(), SERVER_NAME_MAX);
        let name = ServerName::parse(&longest, false).expect("190 fits");
        let file = format!("{CONF_FILE_PREFIX}{}{CONF_FILE_SUFFIX}", name.key());
        assert!(file.len() + TEMP_NAME_EXTRA <= FILE_NAME_MAX);
        for too_long in [format!("{longest}c"), format!("{label46}.{longest}")] {
            assert_eq!(
                ServerName::parse(&too_long, false),
                Err(SERVER_NAME_LENGTH_RULE)
            );
            let wildcard = format!("{too_long}.*");
            assert_eq!(
                ServerName::parse(&wildcard, true),
                Err(SERVER_NAME_LENGTH_RULE)
            );
        }
        assert_eq!(SERVER_NAME_MAX, 190);
        assert!(SERVER_NAME_LENGTH_RULE.contains(&SERVER_NAME_MAX.to_string()));
        assert!(SERVER_NAME_LENGTH_RULE.contains(&FILE_NAME_MAX.to_string()));
        // The setting's domain keeps DNS's 253.
        assert!(Subdomain::parse(&format!("{longest}.{label46}")).is_ok());
    }

    #[test]
    fn raw_directive_must_be_balanced() {
        assert!(RawDirective::parse("client_max_body_size 10m;").is_ok());
        assert!(RawDirective::parse("if ($x) { return 403; }").is_ok());
        assert!(RawDirective::parse("} server { listen 80;").is_err());
        assert!(RawDirective::parse("add_header X \"a;").is_err());
        assert!(RawDirective::parse("a; # comment").is_err());
        assert!(RawDirective::parse("a;\nb;").is_err());
    }
}
