//! Who gets a name: two apps may not serve the same name, and no app may take a name that a
//! conf gatehouse does not own already serves.

use std::collections::{BTreeMap, BTreeSet};

use super::{Desired, PlannedApp, Rejection};
use crate::model::spec::{Access, ServerName};
use crate::model::workload::ConfDirState;
use crate::render;

/// Names and files already spoken for, with the container holding each.
#[derive(Default)]
struct Taken {
    files: BTreeMap<String, String>,
    /// (`server_name` token, container).
    names: Vec<(String, String)>,
}

impl Taken {
    /// First those of confs kept for containers whose labels are rejected: a typo must not let
    /// another container take over a working, maybe protected, name.
    fn by_kept_confs(confdir: &ConfDirState, rejected: &[Rejection]) -> Self {
        let kept: BTreeSet<&str> = rejected
            .iter()
            .filter(|r| r.keep_last_good)
            .map(|r| r.container.as_str())
            .collect();
        let mut taken = Self::default();
        for (file, owned) in &confdir.owned {
            if let Some(c) = owned.container.as_deref().filter(|c| kept.contains(c)) {
                taken.files.insert(file.clone(), c.to_owned());
                for token in render::server_name_tokens(&owned.content) {
                    taken.names.push((token, c.to_owned()));
                }
            }
        }
        taken
    }

    /// What `app` would collide with, and who holds it. Two names collide when nginx would send
    /// the same request to either: `app.*` and `app.example.com` do (nginx prefers the exact
    /// name, whatever its protection).
    fn clash(&self, app: &PlannedApp) -> Option<(String, String)> {
        app.spec
            .server_names
            .iter()
            .find_map(|n| {
                self.names
                    .iter()
                    .find(|(token, _)| n.collides_with_token(token))
                    .map(|(token, owner)| (format!("server_name {token}"), owner.clone()))
            })
            .or_else(|| {
                self.files
                    .get(&app.file)
                    .map(|owner| (app.file.clone(), owner.clone()))
            })
    }

    fn take(&mut self, app: &PlannedApp) {
        self.files
            .insert(app.file.clone(), app.spec.container.clone());
        for n in &app.spec.server_names {
            self.names
                .push((n.nginx_token(), app.spec.container.clone()));
        }
    }
}

/// An app that holds a name in a conf on disk keeps it; otherwise the container whose name sorts
/// first wins.
pub(super) fn resolve_name_conflicts(
    mut candidates: Vec<PlannedApp>,
    confdir: &ConfDirState,
    out: &mut Desired,
) {
    let holder = |app: &PlannedApp| {
        confdir
            .owned
            .get(&app.file)
            .is_some_and(|o| o.container.as_deref() == Some(app.spec.container.as_str()))
    };
    candidates.sort_by(|a, b| {
        holder(b)
            .cmp(&holder(a))
            .then(a.spec.container.cmp(&b.spec.container))
    });
    let mut taken = Taken::by_kept_confs(confdir, &out.rejected);
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
        if let Some((name, owner)) = taken.clash(&app) {
            out.rejected.push(reject(format!(
                "container {}: {name} is already published for container {owner}; give one of them another subdomain",
                app.spec.container
            )));
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
