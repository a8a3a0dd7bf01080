//! Desired confs against the owned ones on disk: what to write and what to remove, holding the
//! removal of a conf whose container went away for a grace period (a recreate must not flap).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use super::{Desired, Rejection};
use crate::model::spec::Access;
use crate::model::workload::ConfDirState;
use crate::plan::grace::{sooner, Grace, GraceClock};
use crate::render;
use crate::render::wording::{Describe, Tense};

/// Why a conf is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteReason {
    New,
    Changed,
}

/// Why a conf is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveReason {
    /// Its container has been gone for the whole grace period.
    ContainerGone,
    /// Its container runs but no longer publishes under this file (labels removed or renamed,
    /// or another file now serves the name).
    NoLongerPublished,
    /// Its container now asks for authentik but its labels are rejected, and the conf is an
    /// unprotected one: fail closed.
    FailClosed,
    /// Its container runs and still asks for the name, but a conf the user wrote (`user_file`,
    /// which gatehouse does not own) now serves it: the user's file wins.
    NameTakenByUserConf { user_file: String },
}

/// One change to the proxy-confs folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Write {
        file: String,
        content: String,
        container: String,
        access: Access,
        reason: WriteReason,
    },
    Remove {
        file: String,
        container: Option<String>,
        reason: RemoveReason,
    },
}

impl Describe for Change {
    /// `wrote gatehouse.a.subdomain.conf for container a (protected by authentik)`, `removed
    /// gatehouse.b.subdomain.conf: container b is gone`.
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Write {
                file,
                container,
                access,
                reason,
                ..
            } => {
                let verb = match reason {
                    WriteReason::New => tense.verb("write", "wrote"),
                    WriteReason::Changed => tense.verb("update", "updated"),
                };
                let access = match access {
                    Access::Protected => "protected by authentik",
                    Access::Exposed => "exposed without authentik",
                };
                write!(f, "{verb} {file} for container {container} ({access})")
            }
            Self::Remove {
                file,
                container,
                reason,
            } => {
                let container = container.as_deref().unwrap_or("?");
                write!(f, "{} {file}: ", tense.verb("remove", "removed"))?;
                match reason {
                    RemoveReason::ContainerGone => write!(f, "container {container} is gone"),
                    RemoveReason::NoLongerPublished => {
                        write!(f, "container {container} no longer publishes it")
                    }
                    RemoveReason::FailClosed => write!(
                        f,
                        "container {container} asks for authentik but its labels are rejected, and this conf is unprotected (fail closed)"
                    ),
                    RemoveReason::NameTakenByUserConf { user_file } => write!(
                        f,
                        "{user_file}, which gatehouse does not own, now serves its name; container {container} stays unpublished while that file is there"
                    ),
                }
            }
        }
    }
}

/// What to do now, and how long until a held removal falls due (if any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    /// Confs kept although their app is not desired now: (file, why).
    pub(crate) kept: Vec<(String, String)>,
    pub(crate) next_due: Option<Duration>,
}

/// Compares desired confs with the owned ones on disk.
pub fn changes(
    desired: &Desired,
    confdir: &ConfDirState,
    clock: &mut GraceClock,
    now: Instant,
    grace: Duration,
) -> ChangeSet {
    let mut set = ChangeSet::default();
    let wanted: BTreeSet<&str> = desired.apps.iter().map(|a| a.file.as_str()).collect();
    for app in &desired.apps {
        let reason = match confdir.owned.get(&app.file) {
            Some(existing) if existing.content == app.content => continue,
            Some(_) => WriteReason::Changed,
            None => WriteReason::New,
        };
        set.changes.push(Change::Write {
            file: app.file.clone(),
            content: app.content.clone(),
            container: app.spec.container.clone(),
            access: app.spec.access,
            reason,
        });
    }
    let rejected: BTreeMap<&str, &Rejection> = desired
        .rejected
        .iter()
        .map(|r| (r.container.as_str(), r))
        .collect();
    clock.retain(|file| confdir.owned.contains_key(file) && !wanted.contains(file));
    for (file, owned) in &confdir.owned {
        if wanted.contains(file.as_str()) {
            continue;
        }
        let container = owned.container.clone();
        let remove = |reason| Change::Remove {
            file: file.clone(),
            container: container.clone(),
            reason,
        };
        let name = owned.container.as_deref().unwrap_or("");
        if let Some(r) = rejected.get(name).filter(|r| r.keep_last_good) {
            if r.wants_protection && !owned.protected {
                set.changes.push(remove(RemoveReason::FailClosed));
            } else {
                set.kept.push((
                    file.clone(),
                    format!("kept as it was while container {name}'s labels are rejected"),
                ));
            }
            clock.forget(file);
            continue;
        }
        if desired.running.contains(name) {
            let reason = match taken_by_user_conf(&owned.content, confdir) {
                Some(user_file) => RemoveReason::NameTakenByUserConf { user_file },
                None => RemoveReason::NoLongerPublished,
            };
            set.changes.push(remove(reason));
            clock.forget(file);
            continue;
        }
        match clock.tick(file, now, grace) {
            Grace::Due => {
                set.changes.push(remove(RemoveReason::ContainerGone));
                clock.forget(file);
                if desired.waiting_for.contains(file) {
                    // The name is free now: the app waiting for it is published by the next pass.
                    set.next_due = Some(Duration::ZERO);
                }
            }
            Grace::Waiting { left } => {
                set.kept.push((
                    file.clone(),
                    format!(
                        "container {name} is gone; removing in {}s unless it comes back",
                        left.as_secs_f32().ceil()
                    ),
                ));
                set.next_due = sooner(set.next_due, left);
            }
        }
    }
    set
}

/// The conf the user wrote that now serves one of `content`'s names, if any.
fn taken_by_user_conf(content: &str, confdir: &ConfDirState) -> Option<String> {
    render::server_name_tokens(content).iter().find_map(|ours| {
        confdir
            .foreign_server_names
            .iter()
            .find(|(theirs, _)| tokens_collide(ours, theirs))
            .map(|(_, file)| file.clone())
    })
}

/// Whether nginx could send one request to either `server_name` token: the same token, or
/// `app.*` and `app.example.com`.
fn tokens_collide(a: &str, b: &str) -> bool {
    let wild = |w: &str, host: &str| {
        w.strip_suffix(".*").is_some_and(|sub| {
            host.strip_prefix(sub)
                .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
        })
    };
    a.eq_ignore_ascii_case(b) || wild(a, b) || wild(b, a)
}
