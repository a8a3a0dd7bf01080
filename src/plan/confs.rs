//! Observed world -> desired proxy-confs -> the changes to make (pure).
//!
//! [`desired`] turns the running containers and the proxy-confs folder into the confs that should
//! exist and the containers that were rejected, with reasons. [`changes`] compares that with the
//! files gatehouse owns and says what to write and what to remove, holding removals of confs whose
//! container went away for a grace period so a `docker compose up -d` recreate does not flap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use crate::labels::{self, LabelRules, Parsed};
use crate::model::spec::{
    Access, AppSpec, LabelSet, Port, PresetName, Proto, ServerName, Template,
};
use crate::model::workload::{ConfDirState, Workload};
use crate::render::wording::{Describe, Tense};
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
    pub keep_last_good: bool,
}

/// What the world should look like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub apps: Vec<PlannedApp>,
    pub rejected: Vec<Rejection>,
    /// Warnings about valid apps (ignored labels, fallbacks), by container.
    pub warnings: Vec<(String, String)>,
    /// Names of the running containers, to tell a gone container from a relabelled one.
    pub running: BTreeSet<String>,
}

/// The presets the containers' labels refer to, so the caller can read just those samples.
pub fn presets_needed(containers: &[Workload], rules: &LabelRules) -> BTreeSet<PresetName> {
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
    resolve_name_conflicts(candidates, confdir, &mut out);
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
    let (port_label, preset_label) = match spec.label_set {
        LabelSet::Gatehouse => (
            format!("{}.port", rules.prefix),
            format!("{}.preset", rules.prefix),
        ),
        LabelSet::SwagAutoProxy => ("swag_port".to_owned(), "swag_preset_conf".to_owned()),
    };
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
    let content = rendered.map_err(|e| reject(format!("container {}: {e}", c.name)))?;
    Ok(PlannedApp {
        spec,
        upstream,
        file,
        content,
    })
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

/// Two apps may not serve the same name, and no app may take a name that a conf gatehouse does
/// not own already serves. An app that holds a name in a conf on disk keeps it; otherwise the
/// container whose name sorts first wins.
fn resolve_name_conflicts(
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
    // Names and files already spoken for: first those of confs kept for containers whose labels are
    // rejected (a typo must not let another container take over a working, maybe protected, name),
    // then those of the apps accepted so far.
    let kept: BTreeSet<&str> = out
        .rejected
        .iter()
        .filter(|r| r.keep_last_good)
        .map(|r| r.container.as_str())
        .collect();
    let mut taken_files: BTreeMap<String, String> = BTreeMap::new();
    let mut taken_names: Vec<(String, String)> = Vec::new();
    for (file, owned) in &confdir.owned {
        if let Some(c) = owned.container.as_deref().filter(|c| kept.contains(c)) {
            taken_files.insert(file.clone(), c.to_owned());
            for token in render::server_name_tokens(&owned.content) {
                taken_names.push((token, c.to_owned()));
            }
        }
    }
    for app in candidates {
        if let Some((token, file)) = foreign_collision(&app.spec.server_names, confdir) {
            out.rejected.push(Rejection {
                container: app.spec.container.clone(),
                reason: format!(
                    "container {}: {} is already served by {file}, which gatehouse does not own; leaving it alone and skipping this app (remove that file to let gatehouse publish it)",
                    app.spec.container, token
                ),
                wants_protection: app.spec.access == Access::Protected,
                keep_last_good: false,
            });
            continue;
        }
        // Two names collide when nginx would send the same request to either: `app.*` and
        // `app.example.com` do (nginx prefers the exact name, whatever its protection).
        let clash = app
            .spec
            .server_names
            .iter()
            .find_map(|n| {
                taken_names
                    .iter()
                    .find(|(token, _)| n.collides_with_token(token))
                    .map(|(token, owner)| (format!("server_name {token}"), owner.clone()))
            })
            .or_else(|| {
                taken_files
                    .get(&app.file)
                    .map(|owner| (app.file.clone(), owner.clone()))
            });
        if let Some((name, owner)) = clash {
            out.rejected.push(Rejection {
                container: app.spec.container.clone(),
                reason: format!(
                    "container {}: {name} is already published for container {owner}; give one of them another subdomain",
                    app.spec.container
                ),
                wants_protection: app.spec.access == Access::Protected,
                keep_last_good: false,
            });
            continue;
        }
        taken_files.insert(app.file.clone(), app.spec.container.clone());
        for n in &app.spec.server_names {
            taken_names.push((n.nginx_token(), app.spec.container.clone()));
        }
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

/// Why a conf is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteReason {
    New,
    Changed,
}

/// Why a conf is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveReason {
    /// Its container has been gone for the whole grace period.
    ContainerGone,
    /// Its container runs but no longer publishes under this file (labels removed or renamed,
    /// or another file now serves the name).
    NoLongerPublished,
    /// Its container now asks for authentik but its labels are rejected, and the conf is an
    /// unprotected one: fail closed.
    FailClosed,
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
                }
            }
        }
    }
}

/// Confs whose container is gone, with when that was first seen, so removal waits out the grace
/// period across passes.
#[derive(Debug, Clone, Default)]
pub struct GraceClock {
    orphaned_since: BTreeMap<String, Instant>,
}

impl GraceClock {
    pub fn pending(&self) -> usize {
        self.orphaned_since.len()
    }
}

/// What to do now, and how long until a held removal falls due (if any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    /// Confs kept although their app is not desired now: (file, why).
    pub kept: Vec<(String, String)>,
    pub next_due: Option<Duration>,
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
    clock
        .orphaned_since
        .retain(|file, _| confdir.owned.contains_key(file) && !wanted.contains(file.as_str()));
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
            clock.orphaned_since.remove(file);
            continue;
        }
        if desired.running.contains(name) {
            set.changes.push(remove(RemoveReason::NoLongerPublished));
            clock.orphaned_since.remove(file);
            continue;
        }
        let since = *clock.orphaned_since.entry(file.clone()).or_insert(now);
        let waited = now.saturating_duration_since(since);
        if waited >= grace {
            set.changes.push(remove(RemoveReason::ContainerGone));
            clock.orphaned_since.remove(file);
        } else {
            let left = grace - waited;
            set.kept.push((
                file.clone(),
                format!(
                    "container {name} is gone; removing in {}s unless it comes back",
                    left.as_secs_f32().ceil()
                ),
            ));
            set.next_due = Some(set.next_due.map_or(left, |d| d.min(left)));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::workload::OwnedConf;

    fn container(name: &str, labels: &[(&str, &str)], ports: &[u16]) -> Workload {
        Workload {
            id: format!("id-{name}"),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            exposed_tcp_ports: ports.to_vec(),
            ..Workload::default()
        }
    }

    fn plan(containers: &[Workload], dir: &ConfDirState) -> Desired {
        desired(containers, dir, &BTreeMap::new(), &LabelRules::default())
    }

    fn owned(content: &str, container: &str, protected: bool) -> OwnedConf {
        OwnedConf {
            content: content.into(),
            container: Some(container.into()),
            protected,
        }
    }

    fn run_changes(d: &Desired, dir: &ConfDirState, grace: Duration) -> ChangeSet {
        changes(d, dir, &mut GraceClock::default(), Instant::now(), grace)
    }

    #[test]
    fn several_exposed_ports_without_a_label_are_refused_naming_them() {
        let d = plan(
            &[container("app", &[("auth.protect", "true")], &[80, 443])],
            &ConfDirState::default(),
        );
        assert!(d.apps.is_empty());
        assert_eq!(
            d.rejected[0].reason,
            "container app: label auth.port is not set and the container exposes several TCP ports (80, 443): set it to the one to publish"
        );
        assert!(d.rejected[0].wants_protection);
    }

    #[test]
    fn preset_port_and_proto_are_defaults_and_labels_override() {
        let sample = "server {\n    server_name nextcloud.*;\n    #include /config/nginx/authentik-server.conf;\n    location / {\n        #include /config/nginx/authentik-location.conf;\n        set $upstream_app nextcloud;\n        set $upstream_port 443;\n        set $upstream_proto https;\n    }\n}\n";
        let samples = BTreeMap::from([("nextcloud".to_owned(), sample.to_owned())]);
        let c = container(
            "cloud",
            &[("auth.protect", "true"), ("auth.preset", "nextcloud")],
            &[],
        );
        let d = desired(
            &[c],
            &ConfDirState::default(),
            &samples,
            &LabelRules::default(),
        );
        let app = &d.apps[0];
        assert_eq!(
            (app.upstream.port.get(), app.upstream.proto),
            (443, Proto::Https)
        );
        assert!(app.content.contains("set $upstream_app cloud;"));
        assert!(app
            .content
            .contains("\n    include /config/nginx/authentik-server.conf;"));
        let c = container(
            "cloud",
            &[
                ("auth.protect", "true"),
                ("auth.preset", "nextcloud"),
                ("auth.port", "8443"),
            ],
            &[80],
        );
        let d = desired(
            &[c],
            &ConfDirState::default(),
            &samples,
            &LabelRules::default(),
        );
        assert_eq!(d.apps[0].upstream.port.get(), 8443);
    }

    #[test]
    fn a_raw_directive_cannot_open_a_location_of_a_protected_app() {
        let rules = LabelRules {
            allow_raw_directives: true,
            ..LabelRules::default()
        };
        let c = container(
            "app",
            &[
                ("auth.protect", "true"),
                (
                    "auth.server_directive",
                    "location /open { proxy_pass http://app:80; }",
                ),
            ],
            &[80],
        );
        let d = desired(&[c], &ConfDirState::default(), &BTreeMap::new(), &rules);
        assert!(d.apps.is_empty(), "{:?}", d.apps);
        assert!(
            d.rejected[0].reason.contains("location /open {"),
            "{}",
            d.rejected[0].reason
        );
    }

    #[test]
    fn a_missing_preset_is_an_error_for_that_app() {
        let d = plan(
            &[
                container(
                    "a",
                    &[("auth.protect", "true"), ("auth.preset", "nosuch")],
                    &[80],
                ),
                container("b", &[("auth.protect", "true")], &[80]),
            ],
            &ConfDirState::default(),
        );
        assert_eq!(d.apps.len(), 1);
        assert!(d.rejected[0]
            .reason
            .contains("nosuch.subdomain.conf.sample is not in proxy-confs"));
    }

    #[test]
    fn two_apps_on_one_name_the_holder_keeps_it() {
        let both = [
            container(
                "aaa",
                &[("auth.protect", "true"), ("auth.subdomain", "web")],
                &[80],
            ),
            container(
                "zzz",
                &[("auth.protect", "true"), ("auth.subdomain", "web")],
                &[80],
            ),
        ];
        let d = plan(&both, &ConfDirState::default());
        assert_eq!(d.apps[0].spec.container, "aaa");
        assert!(d.rejected[0]
            .reason
            .contains("already published for container aaa"));
        // zzz wrote the conf first: it keeps the name even though aaa sorts first.
        let mut dir = ConfDirState::default();
        dir.owned.insert(
            "gatehouse.web.subdomain.conf".into(),
            owned("x", "zzz", true),
        );
        let d = plan(&both, &dir);
        assert_eq!(d.apps[0].spec.container, "zzz");
    }

    #[test]
    fn a_rejected_apps_kept_conf_keeps_its_name_from_other_containers() {
        let a = container(
            "a",
            &[("auth.protect", "true"), ("auth.subdomain", "app")],
            &[80],
        );
        let mut dir = ConfDirState::default();
        let good = plan(&[a], &dir);
        dir.owned.insert(
            good.apps[0].file.clone(),
            owned(&good.apps[0].content, "a", true),
        );
        let a_typo = container(
            "a",
            &[
                ("auth.protect", "true"),
                ("auth.subdomain", "app"),
                ("auth.port", "bad"),
            ],
            &[80],
        );
        let b = container(
            "b",
            &[("auth.expose", "true"), ("auth.subdomain", "app")],
            &[80],
        );
        let d = plan(&[a_typo, b], &dir);
        assert!(d.apps.is_empty(), "{:?}", d.apps);
        assert!(d
            .rejected
            .iter()
            .any(|r| r.container == "b" && r.reason.contains("already published for container a")));
        let set = run_changes(&d, &dir, Duration::ZERO);
        assert!(set.changes.is_empty(), "{set:?}");
    }

    #[test]
    fn a_wildcard_and_a_full_host_of_the_same_name_collide() {
        let a = container(
            "a",
            &[("auth.protect", "true"), ("auth.subdomain", "app")],
            &[80],
        );
        let b = container(
            "b",
            &[("swag", "enable"), ("swag_url", "app.example.com")],
            &[80],
        );
        let d = plan(&[a, b], &ConfDirState::default());
        assert_eq!(d.apps.len(), 1);
        assert_eq!(d.apps[0].spec.container, "a");
        assert!(
            d.rejected[0]
                .reason
                .contains("server_name app.* is already published for container a"),
            "{}",
            d.rejected[0].reason
        );
    }

    #[test]
    fn a_name_served_by_a_users_conf_is_left_to_it() {
        let mut dir = ConfDirState::default();
        dir.foreign_server_names.insert(
            "web.example.com".into(),
            "proxy-confs/web.subdomain.conf".into(),
        );
        let d = plan(
            &[container("web", &[("auth.protect", "true")], &[80])],
            &dir,
        );
        assert!(d.apps.is_empty());
        assert!(!d.rejected[0].keep_last_good);
        assert!(d.rejected[0]
            .reason
            .contains("proxy-confs/web.subdomain.conf, which gatehouse does not own"));
    }

    #[test]
    fn unchanged_confs_give_no_change_and_changed_ones_a_write() {
        let cs = [container("web", &[("auth.protect", "true")], &[80])];
        let d = plan(&cs, &ConfDirState::default());
        let mut dir = ConfDirState::default();
        dir.owned.insert(
            d.apps[0].file.clone(),
            owned(&d.apps[0].content, "web", true),
        );
        assert!(run_changes(&d, &dir, Duration::ZERO).changes.is_empty());
        dir.owned
            .insert(d.apps[0].file.clone(), owned("old", "web", true));
        let set = run_changes(&d, &dir, Duration::ZERO);
        assert!(matches!(
            set.changes[..],
            [Change::Write {
                reason: WriteReason::Changed,
                ..
            }]
        ));
    }

    #[test]
    fn bad_labels_keep_the_last_good_conf_unless_it_is_unprotected_and_protection_is_asked() {
        let mut dir = ConfDirState::default();
        dir.owned.insert(
            "gatehouse.web.subdomain.conf".into(),
            owned("x", "web", true),
        );
        let bad = [container(
            "web",
            &[("auth.protect", "true"), ("auth.port", "eighty")],
            &[80],
        )];
        let set = run_changes(&plan(&bad, &dir), &dir, Duration::ZERO);
        assert!(set.changes.is_empty(), "{set:?}");
        assert!(set.kept[0].1.contains("labels are rejected"));

        // The kept conf was an exposed one and the labels now ask for authentik: it goes at once.
        dir.owned.insert(
            "gatehouse.web.subdomain.conf".into(),
            owned("x", "web", false),
        );
        let set = run_changes(&plan(&bad, &dir), &dir, Duration::from_secs(3600));
        assert!(
            matches!(
                set.changes[..],
                [Change::Remove {
                    reason: RemoveReason::FailClosed,
                    ..
                }]
            ),
            "{set:?}"
        );

        // An unreadable protect value counts as asking for protection.
        let garbled = [container(
            "web",
            &[("auth.protect", "ture"), ("auth.expose", "true")],
            &[80],
        )];
        let set = run_changes(&plan(&garbled, &dir), &dir, Duration::from_secs(3600));
        assert!(
            matches!(
                set.changes[..],
                [Change::Remove {
                    reason: RemoveReason::FailClosed,
                    ..
                }]
            ),
            "{set:?}"
        );
    }

    #[test]
    fn gone_containers_wait_out_the_grace_period_running_ones_do_not() {
        let mut dir = ConfDirState::default();
        dir.owned.insert(
            "gatehouse.old.subdomain.conf".into(),
            owned("x", "gone", true),
        );
        dir.owned.insert(
            "gatehouse.renamed.subdomain.conf".into(),
            owned("x", "web", true),
        );
        let d = plan(
            &[container("web", &[("auth.protect", "true")], &[80])],
            &dir,
        );
        let mut clock = GraceClock::default();
        let t0 = Instant::now();
        let grace = Duration::from_secs(30);
        let set = changes(&d, &dir, &mut clock, t0, grace);
        let removed: Vec<_> = set
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Remove { file, reason, .. } => Some((file.as_str(), *reason)),
                _ => None,
            })
            .collect();
        assert_eq!(
            removed,
            [(
                "gatehouse.renamed.subdomain.conf",
                RemoveReason::NoLongerPublished
            )]
        );
        assert_eq!(set.next_due, Some(grace));
        let later = changes(&d, &dir, &mut clock, t0 + Duration::from_secs(10), grace);
        assert_eq!(later.next_due, Some(Duration::from_secs(20)));
        let due = changes(&d, &dir, &mut clock, t0 + grace, grace);
        assert!(due.changes.iter().any(|c| matches!(c, Change::Remove { file, reason: RemoveReason::ContainerGone, .. } if file == "gatehouse.old.subdomain.conf")));
    }

    #[test]
    fn a_container_back_within_grace_resets_its_clock() {
        let mut dir = ConfDirState::default();
        dir.owned.insert(
            "gatehouse.web.subdomain.conf".into(),
            owned("x", "web", true),
        );
        let mut clock = GraceClock::default();
        let t0 = Instant::now();
        let grace = Duration::from_secs(30);
        changes(&plan(&[], &dir), &dir, &mut clock, t0, grace);
        assert_eq!(clock.pending(), 1);
        let back = plan(
            &[container("web", &[("auth.protect", "true")], &[80])],
            &dir,
        );
        changes(&back, &dir, &mut clock, t0 + Duration::from_secs(20), grace);
        assert_eq!(clock.pending(), 0);
        let set = changes(
            &plan(&[], &dir),
            &dir,
            &mut clock,
            t0 + Duration::from_secs(40),
            grace,
        );
        assert!(set.changes.is_empty(), "clock was not reset: {set:?}");
    }

    #[test]
    fn changes_read_the_same_planned_and_done() {
        use crate::render::wording::{Describe, Tense};
        let write = Change::Write {
            file: "gatehouse.a.subdomain.conf".into(),
            content: String::new(),
            container: "a".into(),
            access: Access::Protected,
            reason: WriteReason::New,
        };
        assert_eq!(
            write.said(Tense::Planned).to_string(),
            "would write gatehouse.a.subdomain.conf for container a (protected by authentik)"
        );
        assert_eq!(
            write.said(Tense::Done).to_string(),
            "wrote gatehouse.a.subdomain.conf for container a (protected by authentik)"
        );
        let update = Change::Write {
            file: "gatehouse.a.subdomain.conf".into(),
            content: String::new(),
            container: "a".into(),
            access: Access::Exposed,
            reason: WriteReason::Changed,
        };
        assert_eq!(
            update.said(Tense::Planned).to_string(),
            "would update gatehouse.a.subdomain.conf for container a (exposed without authentik)"
        );
        for (reason, why) in [
            (RemoveReason::ContainerGone, "container b is gone"),
            (
                RemoveReason::NoLongerPublished,
                "container b no longer publishes it",
            ),
            (
                RemoveReason::FailClosed,
                "container b asks for authentik but its labels are rejected, and this conf is unprotected (fail closed)",
            ),
        ] {
            let remove = Change::Remove {
                file: "gatehouse.b.subdomain.conf".into(),
                container: Some("b".into()),
                reason,
            };
            assert_eq!(
                remove.said(Tense::Planned).to_string(),
                format!("would remove gatehouse.b.subdomain.conf: {why}")
            );
            assert_eq!(
                remove.said(Tense::Done).to_string(),
                format!("removed gatehouse.b.subdomain.conf: {why}")
            );
        }
    }
}
