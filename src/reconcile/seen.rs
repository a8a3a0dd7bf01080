//! What a pass hands the status board ([`crate::status::board`]): its plan in the page's terms.

use std::collections::BTreeMap;

use super::pass::PassPlan;
use crate::config::Settings;
use crate::model::spec::ServerName;
use crate::plan::Change;
use crate::render::wording::{Describe, Tense};
use crate::status::snapshot::{
    AppStatus, AuthentikObjects, RejectedStatus, Seen, AUTHENTIK_LABEL_FIX, LABEL_FIX, OTHER_FIX,
};

/// The name authentik gives its embedded outpost (the default one).
const EMBEDDED: &str = "authentik Embedded Outpost";

/// The apps, rejected containers and changes of `plan`.
pub(super) fn seen(plan: &PassPlan, settings: &Settings) -> Seen {
    let networks: BTreeMap<&str, Vec<String>> = plan
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), w.networks.keys().cloned().collect()))
        .collect();
    let ak = settings.authentik.as_ref();
    let (objects, oidc) = authentik_objects(plan, settings);
    let mut apps: Vec<AppStatus> = plan
        .desired
        .apps
        .iter()
        .map(|app| {
            let links = match ak {
                Some(a) => app
                    .spec
                    .server_names
                    .iter()
                    .map(|n| link(n, &a.external_scheme, &a.domain))
                    .collect(),
                None => Vec::new(),
            };
            let u = &app.upstream;
            AppStatus {
                container: app.spec.container.clone(),
                hosts: app
                    .spec
                    .server_names
                    .iter()
                    .map(|n| n.nginx_token())
                    .collect(),
                links,
                access: app.spec.access.as_str(),
                oidc: oidc.contains(app.spec.container.as_str()),
                upstream: format!("{}://{}:{}", u.proto.as_str(), u.address.as_str(), u.port),
                conf_file: app.file.clone(),
                networks: networks
                    .get(app.spec.container.as_str())
                    .cloned()
                    .unwrap_or_default(),
                authentik: objects.get(app.spec.container.as_str()).cloned(),
                last_change: None,
            }
        })
        .collect();
    apps.sort_by(|a, b| a.container.cmp(&b.container));
    let mut rejected = rejected(plan);
    rejected.sort_by(|a, b| a.container.cmp(&b.container));
    Seen {
        apps,
        rejected,
        changes: plan.changes.changes.iter().filter_map(said).collect(),
        containers: plan.workloads.len(),
    }
}

/// The authentik objects of each protected or single sign-on app, by container, and the
/// containers that sign in with OIDC.
fn authentik_objects<'a>(
    plan: &'a PassPlan,
    settings: &Settings,
) -> (
    BTreeMap<&'a str, AuthentikObjects>,
    std::collections::BTreeSet<&'a str>,
) {
    let ak = settings.authentik.as_ref();
    let objects: BTreeMap<&str, AuthentikObjects> = plan
        .authentik
        .iter()
        .flat_map(|d| d.wants.iter())
        .map(|w| {
            let outpost = w
                .outpost
                .clone()
                .or_else(|| ak.and_then(|a| a.outpost.clone()))
                .unwrap_or_else(|| EMBEDDED.to_owned());
            let objects = AuthentikObjects {
                application: w.slug.clone(),
                outpost: Some(outpost),
            };
            (w.container.as_str(), objects)
        })
        .chain(plan.authentik.iter().flat_map(|d| d.oidc.iter()).map(|o| {
            let objects = AuthentikObjects {
                application: o.app.slug.clone(),
                outpost: None,
            };
            (o.app.container.as_str(), objects)
        }))
        .collect();
    let oidc: std::collections::BTreeSet<&str> = plan
        .authentik
        .iter()
        .flat_map(|d| d.oidc.iter())
        .map(|o| o.app.container.as_str())
        .collect();
    (objects, oidc)
}

/// Containers rejected for the conf, then protected apps whose authentik labels are rejected.
fn rejected(plan: &PassPlan) -> Vec<RejectedStatus> {
    let confs = plan.desired.rejected.iter().map(|r| RejectedStatus {
        container: r.container.clone(),
        reason: r.reason.clone(),
        fix: fix_for(&r.reason),
        still_served: false,
    });
    let authentik = plan
        .authentik
        .iter()
        .flat_map(|d| d.rejected.iter())
        .map(|e| RejectedStatus {
            container: e.container.clone(),
            reason: e.to_string(),
            fix: AUTHENTIK_LABEL_FIX.to_owned(),
            still_served: true,
        });
    confs.chain(authentik).collect()
}

/// A label broken: fix the label. Anything else (a network SWAG cannot reach, a name another
/// app serves) says its fix in the reason itself.
fn fix_for(reason: &str) -> String {
    if reason.contains(": label ") {
        LABEL_FIX.to_owned()
    } else {
        OTHER_FIX.to_owned()
    }
}

/// `https://web.example.com` for `web.*`; `https://app.example.org` for a full host name.
fn link(name: &ServerName, scheme: &str, domain: &str) -> String {
    match name {
        ServerName::Subdomain(s) => format!("{scheme}://{}.{domain}", s.as_str()),
        ServerName::Host(h) => format!("{scheme}://{}", h.as_str()),
    }
}

/// The container a change is about, and the change in the log's words.
fn said(change: &Change) -> Option<(String, String)> {
    let container = match change {
        Change::Write { container, .. } => container.clone(),
        Change::Remove { container, .. } => container.clone()?,
    };
    Some((container, change.said(Tense::Done).to_string()))
}
