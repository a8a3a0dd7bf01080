//! What `gatehouse render` shows: every change a pass would make, in three sections (proxy-confs,
//! networks, authentik), in a fixed order, each change in the words its log line would use
//! (pure; `reconcile` fills in the previews without applying anything).

use std::fmt::Write as _;

use crate::plan::authentik;
use crate::plan::networks::{Forget, NetAction, NetPlan, NetworkMode, NewNetwork};
use crate::plan::{Change, ChangeSet, Desired};
use crate::render::wording::{list_at_most, Describe, Tense};

/// At most this many names in one line of the printout; the rest are counted.
const SHOWN: usize = 10;

/// What the dry run found besides the conf changes.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub networks: NetPreview,
    pub authentik: AuthentikPreview,
}

impl DryRun {
    /// Whether part of what a pass would do could not be shown (authentik did not answer): the
    /// dry run then exits non-zero, as `run --once` does when it cannot reach authentik.
    pub fn incomplete(&self) -> bool {
        matches!(self.authentik, AuthentikPreview::Unreachable { .. })
    }
}

/// What the network step would do.
#[derive(Debug, Clone)]
pub enum NetPreview {
    /// `GATEHOUSE_NETWORK_MODE=off`.
    Off,
    /// Networks are left alone (SWAG not found, or without a network of its own), and why.
    LeftAlone(String),
    Planned {
        mode: NetworkMode,
        /// SWAG's container name.
        swag: String,
        /// The shared network, when it does not exist yet.
        create: Vec<NewNetwork>,
        plan: NetPlan,
        /// Things to know that change nothing.
        notes: Vec<String>,
    },
}

/// What authentik provisioning would do.
#[derive(Debug, Clone)]
pub enum AuthentikPreview {
    /// `GATEHOUSE_AUTHENTIK_URL` or the token is unset.
    Off,
    /// The settings are given but no client can be made from them.
    NoClient(String),
    /// authentik did not answer, or refused the token: what is wanted is known, not what to do.
    Unreachable {
        url: String,
        error: String,
        desired: authentik::Desired,
    },
    Planned {
        url: String,
        preview: authentik::Preview,
    },
}

/// The dry run's text: a heading line, then the sections.
pub fn print(desired: &Desired, changes: &ChangeSet, dry: &DryRun) -> String {
    let mut out = String::from(
        "# gatehouse render: a dry run. Nothing below is done: no file is written, no network is changed, nothing is sent to authentik.\n",
    );
    confs(&mut out, desired, changes, dry);
    networks(&mut out, &dry.networks);
    authentik_section(&mut out, &dry.authentik);
    out
}

fn confs(out: &mut String, desired: &Desired, changes: &ChangeSet, dry: &DryRun) {
    let _ = writeln!(
        out,
        "\n== proxy-confs: {} app(s) published, {} rejected, {} change(s)",
        desired.apps.len(),
        desired.rejected.len(),
        changes.changes.len()
    );
    // Writes before removals, each by file name: the engine's listing order is no order.
    let mut sorted: Vec<&Change> = changes.changes.iter().collect();
    sorted.sort_by_key(|c| match c {
        Change::Write { file, .. } => (0, file.as_str()),
        Change::Remove { file, .. } => (1, file.as_str()),
    });
    for change in sorted {
        match change {
            Change::Write { content, .. } => {
                let _ = writeln!(out, "\n# {}:", change.said(Tense::Planned));
                out.push_str(content);
            }
            Change::Remove { .. } => {
                let _ = writeln!(out, "\n# {}", change.said(Tense::Planned));
            }
        }
    }
    let mut rejected: Vec<&str> = desired.rejected.iter().map(|r| r.reason.as_str()).collect();
    rejected.sort_unstable();
    if !rejected.is_empty() {
        out.push('\n');
    }
    for r in rejected {
        let _ = writeln!(out, "# rejected {r}");
    }
    // Network warnings are shown with the networks.
    let net_warnings: &[(String, String)] = match &dry.networks {
        NetPreview::Planned { plan, .. } => &plan.warnings,
        _ => &[],
    };
    let mut notes: Vec<String> = desired
        .warnings
        .iter()
        .filter(|w| !net_warnings.contains(w))
        .map(|(c, w)| format!("container {c} {w}"))
        .chain(
            changes
                .kept
                .iter()
                .map(|(file, why)| format!("{file} {why}")),
        )
        .collect();
    notes.sort();
    if !notes.is_empty() {
        out.push('\n');
    }
    for n in notes {
        let _ = writeln!(out, "# {n}");
    }
}

fn networks(out: &mut String, preview: &NetPreview) {
    let (mode, swag, create, plan, notes) = match preview {
        NetPreview::Off => {
            out.push_str("\n== networks: GATEHOUSE_NETWORK_MODE=off, networks are left alone\n");
            return;
        }
        NetPreview::LeftAlone(why) => {
            let _ = writeln!(out, "\n== networks: {why}");
            return;
        }
        NetPreview::Planned {
            mode,
            swag,
            create,
            plan,
            notes,
        } => (mode, swag, create, plan, notes),
    };
    let mode = match mode {
        NetworkMode::PerApp => "per-app mode".to_owned(),
        NetworkMode::Shared(n) => format!("shared mode (network {n})"),
    };
    let _ = writeln!(out, "\n== networks: {mode}, SWAG is container {swag}");
    let mut lines: Vec<String> = create
        .iter()
        .map(|n| n.said(Tense::Planned).to_string())
        .chain(
            plan.actions
                .iter()
                .map(|a| capped(a).said(Tense::Planned).to_string()),
        )
        .chain(
            plan.forget
                .iter()
                .map(|j| Forget(j).said(Tense::Planned).to_string()),
        )
        .collect();
    if lines.is_empty() {
        lines.push("nothing to change: SWAG already reaches every published app".into());
    }
    let mut warnings: Vec<String> = plan
        .warnings
        .iter()
        .map(|(c, w)| format!("container {c} {w}"))
        .collect();
    warnings.sort();
    for line in lines.iter().chain(&warnings).chain(notes) {
        let _ = writeln!(out, "# {line}");
    }
}

/// The action with at most [`SHOWN`] of the containers that need a network named, the rest
/// counted: in shared mode one network serves every app.
fn capped(action: &NetAction) -> std::borrow::Cow<'_, NetAction> {
    match action {
        NetAction::Connect { join, needed_by } if needed_by.len() > SHOWN => {
            let mut named = needed_by[..SHOWN].to_vec();
            named.push(format!("{} more", needed_by.len() - SHOWN));
            std::borrow::Cow::Owned(NetAction::Connect {
                join: join.clone(),
                needed_by: named,
            })
        }
        _ => std::borrow::Cow::Borrowed(action),
    }
}

fn authentik_section(out: &mut String, preview: &AuthentikPreview) {
    match preview {
        AuthentikPreview::Off => out.push_str(
            "\n== authentik: provisioning is off (GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN are not set)\n",
        ),
        AuthentikPreview::NoClient(e) => {
            let _ = writeln!(
                out,
                "\n== authentik: provisioning is off: cannot set up the client ({e})"
            );
        }
        AuthentikPreview::Unreachable {
            url,
            error,
            desired,
        } => {
            let _ = writeln!(
                out,
                "\n== authentik: {url}: {error}; what would change there cannot be shown"
            );
            let mut wanted: Vec<String> = desired
                .wants
                .iter()
                .map(|w| format!("{} (container {})", w.slug, w.container))
                .collect();
            wanted.sort();
            if !wanted.is_empty() {
                let _ = writeln!(
                    out,
                    "# wanted in authentik: application {}",
                    list_at_most(&wanted, SHOWN)
                );
            }
            let mut rejected: Vec<String> = desired
                .rejected
                .iter()
                .map(|r| format!("authentik not provisioned: {r}"))
                .collect();
            rejected.sort();
            for r in rejected {
                let _ = writeln!(out, "# {r}");
            }
        }
        AuthentikPreview::Planned { url, preview } => {
            let version = preview
                .version
                .map(|v| format!(", authentik {v}"))
                .unwrap_or_default();
            let _ = writeln!(out, "\n== authentik: {url}{version}");
            let mut lines = preview.actions(Tense::Planned);
            if lines.is_empty() {
                lines.push("nothing to change".into());
            }
            lines.extend(preview.outpost.iter().cloned());
            for line in lines.iter().chain(&preview.problems) {
                let _ = writeln!(out, "# {line}");
            }
        }
    }
}

#[cfg(test)]
#[path = "dryrun_tests.rs"]
mod tests;
