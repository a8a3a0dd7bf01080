//! A container's labels -> an [`AppSpec`], or the list of what is wrong with them (pure).
//!
//! Two label sets are read: gatehouse's own (`auth.protect`, `auth.subdomain`, ...; the prefix is
//! configurable) and linuxserver's swag-auto-proxy labels (`swag=enable`, `swag_url`, ...), so users
//! of that mod can switch without relabelling. Every value is checked against the grammars in
//! [`crate::model::spec`]; a container with any bad value is rejected as a whole, naming each label.

use std::fmt;

pub mod authentik;

use crate::model::spec::{
    Access, Address, AppSpec, BypassPath, LabelSet, Port, PresetName, Proto, RawDirective,
    ServerName, Template,
};
use crate::model::workload::Workload;

/// What label parsing needs from the settings.
#[derive(Debug, Clone)]
pub struct LabelRules {
    /// `auth` by default: labels are `<prefix>.<key>`.
    pub prefix: String,
    /// Whether raw nginx directives from labels are allowed into confs.
    pub allow_raw_directives: bool,
}

impl Default for LabelRules {
    fn default() -> Self {
        Self {
            prefix: "auth".into(),
            allow_raw_directives: false,
        }
    }
}

/// The keys gatehouse reads under its prefix: the proxy-conf ones here, the others in `networks`
/// and `authentik::spec`. All are listed so that a typo in any of them is reported.
pub const KNOWN_KEYS: &[&str] = &[
    "protect",
    "expose",
    "subdomain",
    "port",
    "proto",
    "address",
    "bypass",
    "preset",
    "server_directive",
    "location_directive",
    // networks
    "network",
    // authentik
    "slug",
    "name",
    "group",
    "icon",
    "description",
    "launch_url",
    "allow_groups",
    "outpost",
    "adopt",
];

/// One bad label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelProblem {
    pub label: String,
    pub value: String,
    pub rule: String,
}

/// Why a container's labels were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelErrors {
    pub container: String,
    pub problems: Vec<LabelProblem>,
    /// Whether the labels ask for authentik (or could: an unreadable `protect` counts). A conf
    /// kept from before for this container must then be a protected one, or it goes.
    pub wants_protection: bool,
}

/// A printable, bounded form of a hostile value for log lines.
pub fn shown(value: &str) -> String {
    let mut s: String = value
        .chars()
        .take(80)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if value.chars().count() > 80 {
        s.push('…');
    }
    format!("\"{s}\"")
}

impl fmt::Display for LabelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "container {}: ", self.container)?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "label {}={} {}", p.label, shown(&p.value), p.rule)?;
        }
        Ok(())
    }
}

/// What reading a container's labels gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The container asks for nothing.
    NotPublished,
    /// A valid app, with warnings about labels that were ignored.
    App {
        spec: Box<AppSpec>,
        warnings: Vec<String>,
    },
    Rejected(LabelErrors),
}

/// Reads one container's labels.
pub fn parse(container: &Workload, rules: &LabelRules) -> Parsed {
    let mut r = Reader::new(container, rules);
    let gatehouse_asks = r.has_own("protect") || r.has_own("expose");
    let swag_asks = r.label("swag").is_some();
    let mut warnings = Vec::new();
    let outcome = if gatehouse_asks {
        if swag_asks {
            warnings.push(format!(
                "has both {p}.* and swag_* labels: the {p}.* labels are used, the swag_* ones ignored",
                p = rules.prefix
            ));
        }
        let spec = r.read_gatehouse();
        // The two sets disagree about authentik: fail closed rather than pick the open one.
        if spec.as_ref().is_some_and(|s| s.access == Access::Exposed)
            && r.label("swag_auth") == Some("authentik")
        {
            let label = r.own("expose");
            r.problem(
                &label,
                "true",
                "contradicts swag_auth=authentik on the same container: remove one of them",
            );
            r.wants_protection = true;
            None
        } else {
            spec
        }
    } else if swag_asks {
        r.read_swag()
    } else {
        None
    };
    warnings.extend(r.unknown_label_warnings());
    match outcome {
        None if r.problems.is_empty() => Parsed::NotPublished,
        Some(spec) if r.problems.is_empty() => {
            if spec.access == Access::Exposed && !spec.bypass.is_empty() {
                warnings.push(
                    "bypass paths have no effect on an app published without authentik".into(),
                );
            }
            Parsed::App {
                spec: Box::new(spec),
                warnings: warnings.into_iter().chain(r.warnings).collect(),
            }
        }
        _ => Parsed::Rejected(LabelErrors {
            container: container.name.clone(),
            problems: r.problems,
            wants_protection: r.wants_protection,
        }),
    }
}

struct Reader<'a> {
    c: &'a Workload,
    rules: &'a LabelRules,
    problems: Vec<LabelProblem>,
    warnings: Vec<String>,
    wants_protection: bool,
}

impl<'a> Reader<'a> {
    fn new(c: &'a Workload, rules: &'a LabelRules) -> Self {
        Self {
            c,
            rules,
            problems: Vec::new(),
            warnings: Vec::new(),
            wants_protection: false,
        }
    }

    fn own(&self, key: &str) -> String {
        format!("{}.{key}", self.rules.prefix)
    }

    fn has_own(&self, key: &str) -> bool {
        self.c.labels.contains_key(&self.own(key))
    }

    fn label(&self, name: &str) -> Option<&'a str> {
        self.c.labels.get(name).map(String::as_str)
    }

    fn problem(&mut self, label: &str, value: &str, rule: impl Into<String>) {
        self.problems.push(LabelProblem {
            label: label.to_owned(),
            value: value.to_owned(),
            rule: rule.into(),
        });
    }

    /// Parses a label with `parse`, recording a problem when it fails.
    fn get<T>(
        &mut self,
        label: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        let value = self.label(label)?;
        match parse(value) {
            Ok(v) => Some(v),
            Err(rule) => {
                self.problem(label, value, rule);
                None
            }
        }
    }

    fn get_list<T: Ord>(
        &mut self,
        label: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Vec<T> {
        let Some(value) = self.label(label) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in value.split(',').map(|s| s.trim_matches(' ')) {
            match parse(item) {
                // Compared once parsed: `app` and `APP` or `app.*` are one name, and nginx warns
                // about a name given twice.
                Ok(v) => {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Err(rule) => {
                    let rule = format!("item {}: {rule}", shown(item));
                    self.problem(label, value, rule);
                }
            }
        }
        out
    }

    fn get_bool(&mut self, label: &str) -> Option<bool> {
        self.get(label, parse_bool)
    }

    fn read_gatehouse(&mut self) -> Option<AppSpec> {
        let protect_label = self.own("protect");
        let expose_label = self.own("expose");
        let protect = self.get_bool(&protect_label);
        if self.has_own("protect") && protect != Some(false) {
            // An unreadable value counts as asking for protection: fail closed.
            self.wants_protection = true;
        }
        let expose = self.get_bool(&expose_label);
        let access = match (protect, expose) {
            (Some(true), Some(true)) => {
                self.problem(
                    &expose_label,
                    "true",
                    format!("cannot be true together with {protect_label}=true: choose one"),
                );
                None
            }
            (Some(true), _) => Some(Access::Protected),
            (_, Some(true)) if !self.wants_protection => Some(Access::Exposed),
            _ => None,
        };
        if access.is_none() && self.problems.is_empty() {
            return None; // both false: not published
        }

        let sub_label = self.own("subdomain");
        let server_names = if self.label(&sub_label).is_some() {
            self.get_list(&sub_label, |s| ServerName::parse(s, false))
        } else {
            self.default_server_names(&sub_label)
        };
        let spec_common = self.read_upstream_and_extras(
            &self.own("address"),
            &self.own("port"),
            &self.own("proto"),
            &self.own("bypass"),
            &[self.own("server_directive")],
            &[self.own("location_directive")],
        );
        let preset_label = self.own("preset");
        let template = match self.get(&preset_label, PresetName::parse) {
            Some(p) => Template::Preset(p),
            None => Template::BuiltIn,
        };
        let access = access?;
        let common = spec_common?;
        if server_names.is_empty() {
            return None;
        }
        Some(common.into_spec(self.c, access, server_names, template, LabelSet::Gatehouse))
    }

    fn read_swag(&mut self) -> Option<AppSpec> {
        let enabled = self.label("swag") == Some("enable");
        let access = match self.label("swag_auth") {
            None => Access::Exposed,
            Some("authentik") => {
                self.wants_protection = true;
                Access::Protected
            }
            Some(other) => {
                self.wants_protection = true;
                let rule = match other {
                    "authelia" | "ldap" | "tinyauth" | "http" => {
                        "names an auth method gatehouse does not provide: gatehouse only puts authentik in front of apps (use swag_auth=authentik or auth.protect=true)"
                    }
                    _ => "must be authentik (the only auth method gatehouse provides)",
                };
                self.problem("swag_auth", other, rule);
                return None;
            }
        };
        if !enabled {
            if let Some(v) = self.label("swag") {
                if v != "disable" {
                    self.problem("swag", v, "must be enable (or disable)");
                }
            }
            return None;
        }
        let server_names = if self.label("swag_url").is_some() {
            self.get("swag_url", |s| ServerName::parse(s, true))
                .into_iter()
                .collect()
        } else {
            self.default_server_names("swag_url")
        };
        let common = self.read_upstream_and_extras(
            "swag_address",
            "swag_port",
            "swag_proto",
            "swag_auth_bypass",
            &["swag_server_custom_directive".into()],
            &["swag_location_custom_directive".into()],
        );
        let template = match self.get("swag_preset_conf", PresetName::parse) {
            Some(p) => Template::Preset(p),
            None => match PresetName::parse(&self.c.name) {
                Ok(p) => Template::PresetByName(p),
                Err(_) => Template::BuiltIn,
            },
        };
        let common = common?;
        if server_names.is_empty() {
            return None;
        }
        Some(common.into_spec(
            self.c,
            access,
            server_names,
            template,
            LabelSet::SwagAutoProxy,
        ))
    }

    fn default_server_names(&mut self, label: &str) -> Vec<ServerName> {
        let name = self.c.default_subdomain();
        match ServerName::parse(name, false) {
            Ok(s) => vec![s],
            Err(rule) => {
                let rule = format!(
                    "is not set, and the default, the container's name {}, {rule}: set {label}",
                    shown(name)
                );
                self.problem(label, "", rule);
                Vec::new()
            }
        }
    }

    fn read_upstream_and_extras(
        &mut self,
        address_label: &str,
        port_label: &str,
        proto_label: &str,
        bypass_label: &str,
        server_directive_labels: &[String],
        location_directive_labels: &[String],
    ) -> Option<Common> {
        let address = if self.label(address_label).is_some() {
            self.get(address_label, Address::parse)
        } else {
            match Address::parse(&self.c.name) {
                Ok(a) => Some(a),
                Err(rule) => {
                    let rule = format!("is not set, and the container's name {rule}");
                    self.problem(address_label, "", rule);
                    None
                }
            }
        };
        let port = self.get(port_label, Port::parse);
        let proto = self.get(proto_label, Proto::parse);
        let bypass = self.get_list(bypass_label, BypassPath::parse);
        let server_directives = self.raw_directives(server_directive_labels);
        let location_directives = self.raw_directives(location_directive_labels);
        Some(Common {
            address: address?,
            port,
            proto,
            bypass,
            server_directives,
            location_directives,
        })
    }

    fn raw_directives(&mut self, labels: &[String]) -> Vec<RawDirective> {
        let mut out = Vec::new();
        for label in labels {
            let Some(value) = self.label(label) else {
                continue;
            };
            if !self.rules.allow_raw_directives {
                self.problem(
                    label,
                    value,
                    "is refused: raw nginx directives from labels are off (anyone who can label a container could write into SWAG's config); set GATEHOUSE_ALLOW_RAW_DIRECTIVES=true to allow them",
                );
                continue;
            }
            if let Some(d) = self.get(label, RawDirective::parse) {
                out.push(d);
            }
        }
        out
    }

    fn unknown_label_warnings(&self) -> Vec<String> {
        let prefix = format!("{}.", self.rules.prefix);
        self.c
            .labels
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(|key| (k, key)))
            .filter(|(_, key)| !KNOWN_KEYS.contains(key))
            .map(|(label, key)| match closest_known_key(key) {
                Some(known) => format!(
                    "ignores unknown label {label} (did you mean {}.{known}?)",
                    self.rules.prefix
                ),
                None => format!("ignores unknown label {label}"),
            })
            .collect()
    }
}

struct Common {
    address: Address,
    port: Option<Port>,
    proto: Option<Proto>,
    bypass: Vec<BypassPath>,
    server_directives: Vec<RawDirective>,
    location_directives: Vec<RawDirective>,
}

impl Common {
    fn into_spec(
        self,
        c: &Workload,
        access: Access,
        server_names: Vec<ServerName>,
        template: Template,
        label_set: LabelSet,
    ) -> AppSpec {
        AppSpec {
            container: c.name.clone(),
            access,
            server_names,
            address: self.address,
            port: self.port,
            proto: self.proto,
            bypass: self.bypass,
            template,
            server_directives: self.server_directives,
            location_directives: self.location_directives,
            label_set,
        }
    }
}

fn parse_bool(raw: &str) -> Result<bool, &'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("must be true or false"),
    }
}

/// The known key a typo most likely meant: within two edits.
fn closest_known_key(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::Proto;

    fn c(name: &str, labels: &[(&str, &str)]) -> Workload {
        Workload {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..Workload::default()
        }
    }

    fn app(p: Parsed) -> (AppSpec, Vec<String>) {
        match p {
            Parsed::App { spec, warnings } => (*spec, warnings),
            other => panic!("expected an app, got {other:?}"),
        }
    }

    #[test]
    fn compose_generated_names_default_to_the_service() {
        let labels = [
            ("auth.protect", "true"),
            ("com.docker.compose.project", "media"),
            ("com.docker.compose.service", "jellyfin"),
            ("com.docker.compose.container-number", "1"),
        ];
        let (spec, _) = app(parse(
            &c("media-jellyfin-1", &labels),
            &LabelRules::default(),
        ));
        assert_eq!(spec.server_names[0].nginx_token(), "jellyfin.*");
        assert_eq!(spec.address.as_str(), "media-jellyfin-1");
        // A name the user chose stays the subdomain.
        let (spec, _) = app(parse(&c("films", &labels), &LabelRules::default()));
        assert_eq!(spec.server_names[0].nginx_token(), "films.*");
    }

    #[test]
    fn swag_auto_proxy_labels_map_onto_the_same_spec() {
        let labels = [
            ("swag", "enable"),
            ("swag_url", "media.example.com"),
            ("swag_port", "8096"),
            ("swag_proto", "https"),
            ("swag_address", "jf"),
            ("swag_auth", "authentik"),
            ("swag_auth_bypass", "/api,/socket"),
        ];
        let (spec, _) = app(parse(&c("jellyfin", &labels), &LabelRules::default()));
        assert_eq!(spec.access, Access::Protected);
        assert_eq!(spec.server_names[0].nginx_token(), "media.example.com");
        assert_eq!(spec.port.map(|p| p.get()), Some(8096));
        assert_eq!(spec.proto, Some(Proto::Https));
        assert_eq!(spec.address.as_str(), "jf");
        assert_eq!(spec.bypass.len(), 2);
        assert_eq!(
            spec.template,
            Template::PresetByName(PresetName::parse("jellyfin").unwrap())
        );
        assert_eq!(spec.label_set, LabelSet::SwagAutoProxy);
    }

    #[test]
    fn other_swag_auth_methods_are_refused_fail_closed() {
        match parse(
            &c("app", &[("swag", "enable"), ("swag_auth", "authelia")]),
            &LabelRules::default(),
        ) {
            Parsed::Rejected(e) => {
                assert!(e.wants_protection);
                assert!(e.to_string().contains(
                    "label swag_auth=\"authelia\" names an auth method gatehouse does not provide"
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_directives_are_refused_unless_allowed() {
        let labels = [
            ("auth.expose", "true"),
            ("auth.server_directive", "client_max_body_size 1m;"),
        ];
        match parse(&c("app", &labels), &LabelRules::default()) {
            Parsed::Rejected(e) => assert!(e
                .to_string()
                .contains("GATEHOUSE_ALLOW_RAW_DIRECTIVES=true")),
            other => panic!("{other:?}"),
        }
        let rules = LabelRules {
            allow_raw_directives: true,
            ..LabelRules::default()
        };
        let (spec, _) = app(parse(&c("app", &labels), &rules));
        assert_eq!(
            spec.server_directives[0].as_str(),
            "client_max_body_size 1m;"
        );
    }

    #[test]
    fn exposing_with_auth_labels_while_swag_labels_ask_for_authentik_is_refused() {
        let labels = [
            ("auth.expose", "true"),
            ("swag", "enable"),
            ("swag_auth", "authentik"),
        ];
        match parse(&c("app", &labels), &LabelRules::default()) {
            Parsed::Rejected(e) => {
                assert!(e.wants_protection);
                assert!(
                    e.to_string().contains("contradicts swag_auth=authentik"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn protect_and_expose_together_is_an_error_that_wants_protection() {
        match parse(
            &c("app", &[("auth.protect", "true"), ("auth.expose", "true")]),
            &LabelRules::default(),
        ) {
            Parsed::Rejected(e) => {
                assert!(e.wants_protection);
                assert_eq!(e.problems[0].label, "auth.expose");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let labels = [
            ("auth.protect", "true"),
            ("auth.port", "0"),
            ("auth.proto", "ftp"),
            ("auth.bypass", "/ok,no-slash"),
        ];
        match parse(&c("app", &labels), &LabelRules::default()) {
            Parsed::Rejected(e) => {
                let names: Vec<&str> = e.problems.iter().map(|p| p.label.as_str()).collect();
                assert_eq!(names, ["auth.port", "auth.proto", "auth.bypass"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typos_in_label_names_are_pointed_out() {
        let (_, warnings) = app(parse(
            &c("app", &[("auth.protect", "true"), ("auth.subdomian", "x")]),
            &LabelRules::default(),
        ));
        assert_eq!(
            warnings,
            ["ignores unknown label auth.subdomian (did you mean auth.subdomain?)"]
        );
    }

    #[test]
    fn a_custom_prefix_is_honoured_and_false_means_not_published() {
        let rules = LabelRules {
            prefix: "sso".into(),
            ..LabelRules::default()
        };
        assert_eq!(
            parse(&c("app", &[("auth.protect", "true")]), &rules),
            Parsed::NotPublished
        );
        assert!(matches!(
            parse(&c("app", &[("sso.protect", "true")]), &rules),
            Parsed::App { .. }
        ));
        assert_eq!(
            parse(&c("app", &[("sso.protect", "false")]), &rules),
            Parsed::NotPublished
        );
    }
}
