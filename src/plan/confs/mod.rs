//! Observed world -> desired proxy-confs -> the changes to make (pure).
//!
//! [`desired`] turns the running containers and the proxy-confs folder into the confs that should
//! exist and the containers that were rejected, with reasons. [`changes`] compares that with the
//! files gatehouse owns and says what to write and what to remove, holding removals of confs whose
//! container went away for a grace period so a `docker compose up -d` recreate does not flap.

use std::collections::{BTreeMap, BTreeSet};

mod changes;
mod names;

pub use changes::*;
use names::{compose_ids, resolve_name_conflicts};

use crate::labels::{self, LabelRules, Parsed};
use crate::model::spec::{Access, AppSpec, LabelSet, Port, PresetName, Proto, Template};
use crate::model::workload::{ConfDirState, Workload};
use crate::render::{self, RenderError, Upstream};

/// A conf that should exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedApp {
    pub spec: AppSpec,
    pub upstream: Upstream,
    pub file: String,
    pub content: String,
}

/// A container whose labels asked for publishing but that gets no new conf this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub container: String,
    pub reason: String,
    /// The app asked (or may have asked) for authentik: a conf kept from before must be protected.
    pub wants_protection: bool,
    /// Whether a conf written earlier for this container stays while the problem lasts (bad input
    /// must not take down what works), or goes (another file now serves the name).
    pub(crate) keep_last_good: bool,
}

/// What the world should look like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub apps: Vec<PlannedApp>,
    pub rejected: Vec<Rejection>,
    /// Warnings about valid apps (ignored labels, fallbacks), by container.
    pub warnings: Vec<(String, String)>,
    /// Names of the running containers, to tell a gone container from a relabelled one.
    pub(crate) running: BTreeSet<String>,
    /// Owned confs of gone containers whose name another app waits for: once such a conf is
    /// removed, a pass should follow at once to publish that app.
    pub(crate) waiting_for: BTreeSet<String>,
}

/// The presets the containers' labels refer to, so the caller can read just those samples.
pub(crate) fn presets_needed(containers: &[Workload], rules: &LabelRules) -> BTreeSet<PresetName> {
    containers
        .iter()
        .filter_map(|c| match labels::parse(c, rules) {
            Parsed::App { spec, .. } => match spec.template {
                Template::Preset(p) | Template::PresetByName(p) => Some(p),
                Template::BuiltIn => None,
            },
            _ => None,
        })
        .collect()
}

/// Computes the desired confs. `samples` holds the text of the presets that exist, by name.
pub fn desired(
    containers: &[Workload],
    confdir: &ConfDirState,
    samples: &BTreeMap<String, String>,
    rules: &LabelRules,
) -> Desired {
    let mut out = Desired {
        running: containers.iter().map(|c| c.name.clone()).collect(),
        ..Desired::default()
    };
    let mut candidates = Vec::new();
    let mut sorted: Vec<&Workload> = containers.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for c in sorted {
        match labels::parse(c, rules) {
            Parsed::NotPublished => {}
            Parsed::Rejected(errors) => out.rejected.push(Rejection {
                container: c.name.clone(),
                reason: errors.to_string(),
                wants_protection: errors.wants_protection,
                keep_last_good: true,
            }),
            Parsed::App { spec, warnings } => {
                for w in warnings {
                    out.warnings.push((c.name.clone(), w));
                }
                match plan_app(*spec, c, samples, rules, &mut out.warnings) {
                    Ok(app) => candidates.push(app),
                    Err(r) => out.rejected.push(r),
                }
            }
        }
    }
    resolve_name_conflicts(candidates, confdir, &compose_ids(containers), &mut out);
    out
}

fn plan_app(
    spec: AppSpec,
    c: &Workload,
    samples: &BTreeMap<String, String>,
    rules: &LabelRules,
    warnings: &mut Vec<(String, String)>,
) -> Result<PlannedApp, Rejection> {
    let protected = spec.access == Access::Protected;
    let reject = |reason: String| Rejection {
        container: c.name.clone(),
        reason,
        wants_protection: protected,
        keep_last_good: true,
    };
    let [port_label, preset_label, _, _] = label_names(spec.label_set, rules);
    let sample = match &spec.template {
        Template::BuiltIn => None,
        Template::Preset(p) => match samples.get(p.as_str()) {
            Some(text) => Some((p.clone(), text.as_str())),
            None => {
                return Err(reject(format!(
                    "container {}: label {preset_label}={} names no SWAG sample: {} is not in proxy-confs",
                    c.name,
                    p.as_str(),
                    p.sample_file_name()
                )))
            }
        },
        Template::PresetByName(p) => samples.get(p.as_str()).map(|t| (p.clone(), t.as_str())),
    };
    let port = resolve_port(&spec, c, sample.as_ref().map(|(_, t)| *t))
        .map_err(|why| reject(format!("container {}: label {port_label} {why}", c.name)))?;
    let proto = spec
        .proto
        .or_else(|| sample.as_ref().and_then(|(_, t)| render::sample_proto(t)))
        .unwrap_or(Proto::Http);
    let upstream = Upstream {
        address: spec.address.clone(),
        port,
        proto,
    };
    let file = render::conf_file_name(&spec);
    let rendered = match (&spec.template, sample) {
        (Template::PresetByName(p), Some((_, text))) => {
            match render::render(&spec, &upstream, Some((p, text))) {
                Err(RenderError::PresetCannotBeProtected { .. }) => {
                    warnings.push((
                        c.name.clone(),
                        format!("SWAG's sample {} cannot be protected by authentik; using the built-in template", p.sample_file_name()),
                    ));
                    render::render(&spec, &upstream, None)
                }
                other => other,
            }
        }
        (_, Some((p, text))) => render::render(&spec, &upstream, Some((&p, text))),
        (_, None) => render::render(&spec, &upstream, None),
    };
    let content = rendered.map_err(|e| reject(render_rejection(&e, &spec, c, rules)))?;
    Ok(PlannedApp {
        spec,
        upstream,
        file,
        content,
    })
}

/// The port, preset, server and location directive labels of a label set.
fn label_names(set: LabelSet, rules: &LabelRules) -> [String; 4] {
    match set {
        LabelSet::Gatehouse => ["port", "preset", "server_directive", "location_directive"]
            .map(|k| format!("{}.{k}", rules.prefix)),
        LabelSet::SwagAutoProxy => [
            "swag_port",
            "swag_preset_conf",
            "swag_server_custom_directive",
            "swag_location_custom_directive",
        ]
        .map(str::to_owned),
    }
}

/// A rendering refusal in words that name the label to change: the preset's, or the raw
/// directives' when they are what opened a location without authentik.
fn render_rejection(e: &RenderError, spec: &AppSpec, c: &Workload, rules: &LabelRules) -> String {
    let [_, preset_label, server_label, location_label] = label_names(spec.label_set, rules);
    let preset = match &spec.template {
        Template::Preset(p) => format!("label {preset_label}={}", p.as_str()),
        Template::PresetByName(p) => format!(
            "label {preset_label} is not set, so the container's name picks SWAG's sample {}",
            p.sample_file_name()
        ),
        Template::BuiltIn => String::new(),
    };
    let mut directives = Vec::new();
    if !spec.server_directives.is_empty() {
        directives.push(server_label);
    }
    if !spec.location_directives.is_empty() {
        directives.push(location_label);
    }
    let culprit = match e {
        RenderError::NotProtected(_) if !directives.is_empty() => {
            format!("label {}", directives.join(" or label "))
        }
        _ => preset,
    };
    if culprit.is_empty() {
        format!("container {}: {e}", c.name)
    } else {
        format!("container {}: {culprit}: {e}", c.name)
    }
}

/// The label's port; else the container's only exposed port; else the preset's port, when the
/// container exposes none or exposes that one. Never a guess among several.
fn resolve_port(spec: &AppSpec, c: &Workload, sample: Option<&str>) -> Result<Port, String> {
    if let Some(p) = spec.port {
        return Ok(p);
    }
    let exposed: Vec<Port> = c
        .exposed_tcp_ports
        .iter()
        .filter_map(|p| Port::new(*p))
        .collect();
    if let [only] = exposed.as_slice() {
        return Ok(*only);
    }
    if let Some(p) = sample.and_then(render::sample_port) {
        if exposed.is_empty() || exposed.contains(&p) {
            return Ok(p);
        }
    }
    if exposed.is_empty() {
        Err("is not set and the container exposes no TCP port: set it to the port the app listens on".into())
    } else {
        let list: Vec<String> = exposed.iter().map(|p| p.to_string()).collect();
        Err(format!(
            "is not set and the container exposes several TCP ports ({}): set it to the one to publish",
            list.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reserve_tests;
