//! Who gets a name: two apps may not serve the same name, no app may take a name that a conf
//! gatehouse does not own already serves, and a name held by a conf gatehouse owns stays with the
//! workload it was written for until that conf is removed.

use std::collections::{BTreeMap, BTreeSet};

use super::{Desired, PlannedApp, Rejection};
use crate::model::spec::{Access, ServerName};
use crate::model::workload::{ConfDirState, Workload};
use crate::render;

/// The compose project and service of each running container that has both labels, by name.
pub(super) type ComposeIds = BTreeMap<String, (String, String)>;

pub(super) fn compose_ids(containers: &[Workload]) -> ComposeIds {
    containers
        .iter()
        .filter_map(|c| {
            let project = c.labels.get("com.docker.compose.project")?;
            let service = c.labels.get("com.docker.compose.service")?;
            Some((c.name.clone(), (project.clone(), service.clone())))
        })
        .collect()
}

/// Whether `candidate` is the workload a conf was written for (`holder`, the container name in
/// its header): the same container, or a container of the same compose service, which compose
/// names `<project>-<service>-<n>` (or with `_` in older versions). The header records only the
/// container, so the service is recognised by that pattern.
pub(super) fn same_workload(holder: &str, candidate: &str, compose: &ComposeIds) -> bool {
    if holder == candidate {
        return true;
    }
    let Some((project, service)) = compose.get(candidate) else {
        return false;
    };
    ['-', '_'].iter().any(|sep| {
        holder
            .strip_prefix(&format!("{project}{sep}{service}{sep}"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Why a name is spoken for.
#[derive(Clone)]
enum Hold {
    /// Published this pass for a running container, or kept for one whose labels are rejected.
    Published,
    /// Held by `file`, a conf written for a container that is gone: reserved for that workload
    /// until the conf is removed.
    Reserved { file: String, protected: bool },
}

/// One name or file spoken for, and by whom.
#[derive(Clone)]
struct Holder {
    container: String,
    hold: Hold,
}

/// Names and files already spoken for, with the container holding each.
#[derive(Default)]
struct Taken {
    files: BTreeMap<String, Holder>,
    /// (`server_name` token, holder).
    names: Vec<(String, Holder)>,
}

/// What an app collides with.
struct Clash {
    /// `server_name app.*`, or the file name.
    what: String,
    holder: Holder,
}

impl Taken {
    /// First those of confs kept for containers whose labels are rejected (a typo must not let
    /// another container take over a working, maybe protected, name), and those of confs whose
    /// container is gone (within the grace period a stranger must not take the name, least of
    /// all without the protection it had).
    fn by_confs_on_disk(confdir: &ConfDirState, out: &Desired) -> Self {
        let kept: BTreeSet<&str> = out
            .rejected
            .iter()
            .filter(|r| r.keep_last_good)
            .map(|r| r.container.as_str())
            .collect();
        let mut taken = Self::default();
        for (file, owned) in &confdir.owned {
            let Some(c) = owned.container.as_deref() else {
                continue;
            };
            let hold = if kept.contains(c) {
                Hold::Published
            } else if !out.running.contains(c) {
                Hold::Reserved {
                    file: file.clone(),
                    protected: owned.protected,
                }
            } else {
                continue;
            };
            let holder = Holder {
                container: c.to_owned(),
                hold,
            };
            taken.files.insert(file.clone(), holder.clone());
            for token in render::server_name_tokens(&owned.content) {
                taken.names.push((token, holder.clone()));
            }
        }
        taken
    }

    /// What `app` would collide with, and who holds it. Two names collide when nginx would send
    /// the same request to either: `app.*` and `app.example.com` do (nginx prefers the exact
    /// name, whatever its protection). A reservation does not bind its own workload.
    fn clash(&self, app: &PlannedApp, compose: &ComposeIds) -> Option<Clash> {
        let binds = |h: &Holder| match h.hold {
            Hold::Published => true,
            Hold::Reserved { .. } => !same_workload(&h.container, &app.spec.container, compose),
        };
        app.spec
            .server_names
            .iter()
            .find_map(|n| {
                self.names
                    .iter()
                    .find(|(token, h)| n.collides_with_token(token) && binds(h))
                    .map(|(token, h)| Clash {
                        what: format!("server_name {token}"),
                        holder: h.clone(),
                    })
            })
            .or_else(|| {
                self.files
                    .get(&app.file)
                    .filter(|h| binds(h))
                    .map(|h| Clash {
                        what: app.file.clone(),
                        holder: h.clone(),
                    })
            })
    }

    fn take(&mut self, app: &PlannedApp) {
        let holder = Holder {
            container: app.spec.container.clone(),
            hold: Hold::Published,
        };
        self.files.insert(app.file.clone(), holder.clone());
        for n in &app.spec.server_names {
            self.names.push((n.nginx_token(), holder.clone()));
        }
    }
}

impl Clash {
    fn reason(&self, container: &str) -> String {
        let holder = &self.holder.container;
        match &self.holder.hold {
            Hold::Published => format!(
                "container {container}: {} is already published for container {holder}; give one of them another subdomain",
                self.what
            ),
            Hold::Reserved { file, protected } => {
                let access = if *protected {
                    "protected by authentik"
                } else {
                    "exposed without authentik"
                };
                format!(
                    "container {container}: {} is held by {file} ({access}), written for container {holder}, which is gone; the name stays reserved for that container (or another container of its compose service) until gatehouse removes the conf at the end of the grace period (GATEHOUSE_REMOVE_GRACE_SECS) after it stopped; this app is published then, unless {holder} comes back",
                    self.what
                )
            }
        }
    }
}

/// An app that holds a name in a conf on disk keeps it; otherwise the container whose name sorts
/// first wins.
pub(super) fn resolve_name_conflicts(
    mut candidates: Vec<PlannedApp>,
    confdir: &ConfDirState,
    compose: &ComposeIds,
    out: &mut Desired,
) {
    let holder = |app: &PlannedApp| {
        confdir.owned.get(&app.file).is_some_and(|o| {
            o.container
                .as_deref()
                .is_some_and(|c| same_workload(c, &app.spec.container, compose))
        })
    };
    candidates.sort_by(|a, b| {
        holder(b)
            .cmp(&holder(a))
            .then(a.spec.container.cmp(&b.spec.container))
    });
    let mut taken = Taken::by_confs_on_disk(confdir, out);
    for app in candidates {
        let reject = |reason: String| Rejection {
            container: app.spec.container.clone(),
            reason,
            wants_protection: app.spec.access == Access::Protected,
            keep_last_good: false,
        };
        if let Some((token, file)) = foreign_collision(&app.spec.server_names, confdir) {
            out.rejected.push(reject(format!(
                "container {}: {} is already served by {file}, which gatehouse does not own; leaving it alone and skipping this app (remove that file to let gatehouse publish it)",
                app.spec.container, token
            )));
            continue;
        }
        if let Some(clash) = taken.clash(&app, compose) {
            if let Hold::Reserved { file, .. } = &clash.holder.hold {
                out.waiting_for.insert(file.clone());
            }
            out.rejected.push(reject(clash.reason(&app.spec.container)));
            continue;
        }
        taken.take(&app);
        out.apps.push(app);
    }
    out.apps.sort_by(|a, b| a.file.cmp(&b.file));
}

fn foreign_collision(names: &[ServerName], confdir: &ConfDirState) -> Option<(String, String)> {
    names.iter().find_map(|n| {
        confdir
            .foreign_server_names
            .iter()
            .find(|(token, _)| n.collides_with_token(token))
            .map(|(token, file)| (format!("server_name {token}"), file.clone()))
    })
}
