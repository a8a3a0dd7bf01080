//! A workload's labels -> typed wants, or the list of what is wrong with them (pure). One parser
//! per label family, each in its own file:
//!
//! - [`conf`](self): gatehouse's own conf labels (`auth.protect`, `auth.subdomain`, ...; the prefix
//!   is configurable) → [`AppSpec`];
//! - `swag`: linuxserver's swag-auto-proxy labels (`swag=enable`, `swag_url`, ...), so users of
//!   that mod can switch without relabelling → the same [`AppSpec`];
//! - [`network`]: `auth.network`, read by the network planner;
//! - [`authentik`]: the authentik labels → `AppWant`;
//!
//! with the shared reader (`reader`) and the escaping of hostile text for logs ([`shown`],
//! [`shown_key`]). Every value is checked against the grammars in [`crate::model::spec`]; a
//! container with any bad value is rejected as a whole, naming each label.

use std::fmt;

pub mod authentik;
mod conf;
mod escape;
pub mod network;
pub mod oidc;
mod reader;
mod swag;

pub use escape::{shown, shown_key};

use crate::model::spec::{Access, AppSpec};
use crate::model::workload::Workload;
use reader::Reader;

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
    // single sign-on
    "oidc",
    "oidc.redirect",
    "oidc.client_id",
    "oidc.public",
    "oidc.scopes",
    "oidc.owner",
    "oidc.restart",
    "oidc.email_verified",
];

/// One bad label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelProblem {
    pub label: String,
    pub value: String,
    pub(crate) rule: String,
}

/// Why a container's labels were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelErrors {
    pub(crate) container: String,
    pub problems: Vec<LabelProblem>,
    /// Whether the labels ask for authentik (or could: an unreadable `protect` counts). A conf
    /// kept from before for this container must then be a protected one, or it goes.
    pub(crate) wants_protection: bool,
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

#[cfg(test)]
mod tests;
