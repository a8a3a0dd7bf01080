//! Each request of a plan in words (pure): one sentence for "would" (the dry run) and "did"
//! (the log), naming the container that wants the application.

use std::collections::BTreeMap;
use std::fmt;

/// How many providers an outpost change names before it counts the rest.
const SHOWN: usize = 10;

use serde_json::{Map, Value};

use super::fields::Field;
use super::marker::Instance;
use super::types::{Op, ProviderRef};
use crate::model::authentik::{AppCreate, AppPatch, OAuth2Create, ProviderCreate};
use crate::render::wording::{self, Describe, Tense};

/// Why gatehouse removes an object.
const GONE: &str = "no container publishes it any more";

/// A request with the containers of the applications it concerns, to put it in words.
#[derive(Debug, Clone, Copy)]
pub struct OpFor<'a> {
    pub(crate) op: &'a Op,
    /// The instance whose marks name the providers.
    pub(crate) instance: &'a Instance,
    /// The container that wants each application, by slug (see [`super::containers_of`]).
    pub(crate) containers: &'a BTreeMap<String, String>,
}

impl OpFor<'_> {
    /// ` for container <name>`, or nothing when no container wants `slug`.
    fn whose(&self, slug: &str) -> String {
        self.containers
            .get(slug)
            .map(|c| format!(" for container {c}"))
            .unwrap_or_default()
    }

    fn provider(&self, slug: &str) -> String {
        self.instance.provider_name(slug)
    }

    fn create_provider(
        &self,
        tense: Tense,
        slug: &str,
        body: &ProviderCreate,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let host = &body.external_host;
        write!(
            f,
            "{} authentik provider {} (forward auth for {host}",
            tense.verb("create", "created"),
            self.provider(slug)
        )?;
        let open: Vec<&str> = body
            .skip_path_regex
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        if !open.is_empty() {
            write!(f, ", no sign-in for paths matching {}", open.join(" "))?;
        }
        write!(f, "){}", self.whose(slug))
    }

    fn create_application(
        &self,
        tense: Tense,
        slug: &str,
        body: &AppCreate,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        write!(
            f,
            "{} authentik application {slug} with provider {}{} ({})",
            tense.verb("create", "created"),
            self.provider(slug),
            self.whose(slug),
            fields(&body.fields(), &["slug", "meta_publisher", "provider"])
        )
    }

    fn patch_application(
        &self,
        tense: Tense,
        slug: &str,
        body: &AppPatch,
        provider: bool,
        adopt: bool,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let body = body.fields();
        let mut changed = vec![fields(&body, &[])];
        if provider {
            changed.push(format!("provider: {}", self.provider(slug)));
        }
        changed.retain(|c| !c.is_empty());
        let cleared = cleared_labels(&body);
        if !cleared.is_empty() {
            let (is, them) = if cleared.len() == 1 {
                ("is", "it")
            } else {
                ("are", "them")
            };
            changed = vec![format!(
                "{}; cleared: {} {is} no longer set, and authentik still held what gatehouse had set from {them}",
                changed.join(", "),
                wording::list(&cleared)
            )];
        }
        if adopt {
            write!(
                f,
                "{} authentik application {slug}{} (auth.adopt=true; {})",
                tense.verb("adopt", "adopted"),
                self.whose(slug),
                changed.join(", ")
            )
        } else {
            write!(
                f,
                "{} authentik application {slug}{} ({})",
                tense.verb("update", "updated"),
                self.whose(slug),
                changed.join(", ")
            )
        }
    }

    fn create_oauth2(
        &self,
        tense: Tense,
        slug: &str,
        body: &OAuth2Create,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let uris: Vec<String> = body
            .redirect_uris
            .entries()
            .into_iter()
            .map(|(regex, u)| if regex { format!("regex:{u}") } else { u })
            .collect();
        write!(
            f,
            "{} authentik OAuth2/OpenID provider {} ({} client {:?}, redirect URIs {}, client secret: (hidden)){}",
            tense.verb("create", "created"),
            self.provider(slug),
            body.client_type,
            body.client_id,
            uris.join(" "),
            self.whose(slug)
        )
    }

    fn set_outpost(
        &self,
        tense: Tense,
        name: &str,
        added: &[(String, ProviderRef)],
        removed: &[(String, i64)],
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let named = |slug: &str| match self.containers.get(slug) {
            Some(c) => format!("{} (container {c})", self.provider(slug)),
            None => self.provider(slug),
        };
        if !added.is_empty() {
            let list: Vec<String> = added.iter().map(|(s, _)| named(s)).collect();
            write!(
                f,
                "{} provider {} to authentik outpost {name:?}",
                tense.verb("add", "added"),
                wording::list_at_most(&list, SHOWN)
            )?;
            if !removed.is_empty() {
                f.write_str("; ")?;
            }
        }
        if !removed.is_empty() {
            let list: Vec<String> = removed
                .iter()
                .map(|(s, _)| {
                    if self.containers.contains_key(s) {
                        format!("{} (it moves to another outpost)", self.provider(s))
                    } else {
                        format!("{} ({GONE})", self.provider(s))
                    }
                })
                .collect();
            write!(
                f,
                "{} provider {} out of authentik outpost {name:?}",
                tense.verb("take", "took"),
                wording::list_at_most(&list, SHOWN)
            )?;
        }
        Ok(())
    }
}

/// `name: "Jelly Fin", group: "Media"`: the fields a request sets, values as JSON (quoted and
/// escaped: label values are hostile), leaving out the ones named in `skip`.
fn fields(body: &Map<String, Value>, skip: &[&str]) -> String {
    body.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `auth.group`, …: the labels whose field a request clears (sets to `""`).
fn cleared_labels(body: &Map<String, Value>) -> Vec<String> {
    body.iter()
        .filter(|(_, v)| v.as_str() == Some(""))
        .filter_map(|(k, _)| Field::from_api(k))
        .map(|f| format!("auth.{}", f.label()))
        .collect()
}

impl Describe for OpFor<'_> {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Op::CreateProvider { slug, body } => self.create_provider(tense, slug, body, f),
            Op::PatchProvider { slug, body, .. } => write!(
                f,
                "{} authentik provider {}{} ({})",
                tense.verb("update", "updated"),
                self.provider(slug),
                self.whose(slug),
                fields(&body.fields(), &[])
            ),
            Op::CreateApplication { slug, body, .. } => {
                self.create_application(tense, slug, body, f)
            }
            Op::PatchApplication {
                slug,
                body,
                provider,
                adopt,
            } => self.patch_application(tense, slug, body, provider.is_some(), *adopt, f),
            Op::SetOutpostProviders {
                name,
                added,
                removed,
                ..
            } => self.set_outpost(tense, name, added, removed, f),
            Op::CreateBinding {
                slug, group_name, ..
            } => write!(
                f,
                "{} group {group_name} on authentik application {slug}{} (auth.allow_groups)",
                tense.verb("allow", "allowed"),
                self.whose(slug)
            ),
            Op::DeleteBinding { slug, .. } => write!(
                f,
                "{} a group binding gatehouse made from authentik application {slug}{}: its group is no longer in auth.allow_groups",
                tense.verb("remove", "removed"),
                self.whose(slug)
            ),
            Op::DeleteApplication { slug } => write!(
                f,
                "{} authentik application {slug}: {GONE}",
                tense.verb("delete", "deleted")
            ),
            Op::CreateOAuth2Provider { slug, body } => self.create_oauth2(tense, slug, body, f),
            Op::PatchOAuth2Provider { slug, body, .. } => write!(
                f,
                "{} authentik OAuth2/OpenID provider {}{} ({})",
                tense.verb("update", "updated"),
                self.provider(slug),
                self.whose(slug),
                fields(&body.fields(), &[])
            ),
            Op::DeleteOAuth2Provider { slug, .. } => write!(
                f,
                "{} authentik OAuth2/OpenID provider {} and the app's credential files: {GONE}",
                tense.verb("delete", "deleted"),
                self.provider(slug)
            ),
            Op::CreateScopeMapping { body, .. } => write!(
                f,
                "{} authentik scope mapping {:?} (scope email, email_verified true; for auth.oidc.email_verified=true)",
                tense.verb("create", "created"),
                body.name
            ),
            Op::DeleteProvider { slug, .. } => write!(
                f,
                "{} authentik provider {}: {GONE}",
                tense.verb("delete", "deleted"),
                self.provider(slug)
            ),
        }
    }
}
