//! Apply: the plan's requests, made in order. A request authentik refuses (a 4xx) fails the
//! later requests of its app and is not sent again for a while ([`Refused`]); a transient
//! error stops the round.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::Provisioner;
use crate::edge::authentik::{Api, ApiError};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{BindingCreate, OAuth2Provider, Secret};
use crate::model::problem::{Problem, ProblemKind};
use crate::plan::authentik::fields::FieldMemory;
use crate::plan::authentik::{
    concerned, containers_of, outpost_providers, AppRef, Op, OpFor, Plan, ProviderRef,
    BINDING_ORDER, NEW_EMAIL_MAPPING,
};
use crate::render::wording::{Describe, Tense};

/// How long an identical request authentik refused is not resent while the app's labels stay
/// the same (authentik's side may have been fixed meanwhile).
pub const REFUSED_RETRY: Duration = Duration::from_secs(15 * 60);

/// A write authentik refused with a 4xx. The conf loop hands the worker a desired state on every
/// pass (and the periodic resync), so without this the same refused request would be sent again
/// every minute: it is not, until the wanted state of the apps it concerns changes or
/// [`REFUSED_RETRY`] passes.
#[derive(Debug, Clone)]
pub struct Refused {
    pub(crate) at: Instant,
    /// The wanted state, when refused, of the apps the request concerns.
    pub(crate) wants: Vec<Option<AppWant>>,
    /// What the round reports while it is held back.
    pub(crate) problem: Problem,
    /// The slugs whose later requests are skipped with it.
    pub(crate) slugs: Vec<String>,
}

impl Refused {
    /// Whether the identical request is held back now.
    pub(crate) fn holds(&self, wants_now: &[Option<AppWant>], now: Instant) -> bool {
        self.wants == wants_now && now.saturating_duration_since(self.at) < REFUSED_RETRY
    }
}

/// What an apply pass carries from one request to the next.
struct Applying<'a> {
    wants: &'a [AppWant],
    containers: BTreeMap<String, String>,
    now: Instant,
    /// Providers and applications made in this pass, by slug: their pks.
    new_providers: BTreeMap<String, i64>,
    new_apps: BTreeMap<String, String>,
    /// Apps whose later requests are skipped: one of theirs was refused.
    failed_slugs: BTreeSet<String>,
    failed: usize,
    /// The requests refused (or held back) in this pass, by key.
    seen: BTreeSet<String>,
    /// The pk of the `email_verified` scope mapping made in this pass.
    new_mapping: Option<String>,
}

impl Applying<'_> {
    /// Puts the pk of the scope mapping made in this pass where a request names it.
    fn fill_mapping(&self, mappings: &mut [String]) {
        if let Some(pk) = &self.new_mapping {
            for m in mappings.iter_mut().filter(|m| *m == NEW_EMAIL_MAPPING) {
                *m = pk.clone();
            }
        }
    }

    fn provider(&self, r: &ProviderRef) -> Option<i64> {
        match r {
            ProviderRef::Existing(pk) => Some(*pk),
            ProviderRef::New(slug) => self.new_providers.get(slug).copied(),
        }
    }

    /// The wanted state of the apps `op` concerns.
    fn wants_of(&self, op: &Op) -> Vec<Option<AppWant>> {
        concerned(op)
            .into_iter()
            .map(|s| self.wants.iter().find(|w| w.slug == s).cloned())
            .collect()
    }
}

/// Where a refused request is remembered, and what is reported of it.
pub(crate) struct Outcomes<'a> {
    pub(crate) refused: &'a mut BTreeMap<String, Refused>,
    pub(crate) problems: &'a mut Vec<Problem>,
    /// Each application write authentik accepts is recorded here.
    pub(crate) memory: &'a mut FieldMemory,
    /// gatehouse's OAuth2 providers by slug, as authentik holds them after each request.
    pub(crate) oauth2: &'a mut BTreeMap<String, OAuth2Provider>,
    /// Slugs whose OAuth2 provider was deleted.
    pub(crate) oauth2_removed: &'a mut Vec<String>,
}

impl<A: Api> Provisioner<A> {
    /// Makes the plan's requests in order. A 4xx fails that app's later requests, is reported
    /// and remembered in `refused`: the identical request is not sent again while the apps it
    /// concerns want the same (up to [`REFUSED_RETRY`]). A transient error (or authentik
    /// refusing the token) stops the round. Returns how many requests failed.
    pub(crate) async fn apply(
        &self,
        plan: &Plan,
        wants: &[AppWant],
        out: Outcomes<'_>,
    ) -> Result<usize, ApiError> {
        let mut run = Applying {
            wants,
            containers: containers_of(wants),
            now: Instant::now(),
            new_providers: BTreeMap::new(),
            new_apps: BTreeMap::new(),
            failed_slugs: BTreeSet::new(),
            failed: 0,
            seen: BTreeSet::new(),
            new_mapping: None,
        };
        for op in &plan.ops {
            if op.slug().is_some_and(|s| run.failed_slugs.contains(s)) {
                continue;
            }
            // The request as it would go out: slug, operation and body (a provider made in this
            // round is named by slug, its pk would differ).
            let key = format!("{op:?}");
            let wants_now = run.wants_of(op);
            if let Some(r) = out
                .refused
                .get(&key)
                .filter(|r| r.holds(&wants_now, run.now))
            {
                tracing::debug!(request = %key, "not resending a request authentik refused");
                run.failed += 1;
                out.problems.push(r.problem.clone());
                run.failed_slugs.extend(r.slugs.iter().cloned());
                run.seen.insert(key);
                continue;
            }
            let sent = match op {
                Op::CreateOAuth2Provider { .. }
                | Op::PatchOAuth2Provider { .. }
                | Op::DeleteOAuth2Provider { .. }
                | Op::CreateScopeMapping { .. } => {
                    self.send_oauth2(op, &mut run, out.oauth2, out.oauth2_removed)
                        .await
                }
                _ => self.send(op, &mut run, out.memory).await,
            };
            match sent {
                Ok(()) => {}
                Err(e) if e.is_transient() || matches!(e.status(), Some(401 | 403)) => {
                    return Err(e)
                }
                Err(e) => {
                    let r = refusal(op, &e, run.now, wants_now);
                    run.failed += 1;
                    out.problems.push(r.problem.clone());
                    run.failed_slugs.extend(r.slugs.iter().cloned());
                    out.refused.insert(key.clone(), r);
                    run.seen.insert(key);
                }
            }
        }
        // Forget refusals of requests no longer planned: the world moved on.
        out.refused.retain(|k, _| run.seen.contains(k));
        Ok(run.failed)
    }

    /// `op` as the log says it once done.
    fn said_done(&self, op: &Op, containers: &BTreeMap<String, String>) -> String {
        OpFor {
            op,
            instance: &self.rules.instance,
            containers,
        }
        .said(Tense::Done)
        .to_string()
    }

    /// Logs `op` done, by its app's slug.
    fn log_done(&self, op: &Op, containers: &BTreeMap<String, String>) {
        let said = self.said_done(op, containers);
        tracing::info!(slug = %op.slug().unwrap_or_default(), "{said}");
    }

    /// Makes one request, and logs it done.
    async fn send(
        &self,
        op: &Op,
        run: &mut Applying<'_>,
        memory: &mut FieldMemory,
    ) -> Result<(), ApiError> {
        let c = &self.client;
        match op {
            Op::CreateProvider { slug, body } => {
                let p = c.create_provider(body).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
                run.new_providers.insert(slug.clone(), p.pk);
            }
            Op::PatchProvider { slug, pk, body } => {
                c.patch_provider(*pk, body).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
            }
            Op::CreateApplication {
                slug,
                body,
                provider,
            } => {
                let mut body = body.clone();
                body.provider = run.provider(provider);
                let a = c.create_application(&body).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
                memory.record_body(slug, &a.pk, &body.fields());
                run.new_apps.insert(slug.clone(), a.pk);
            }
            Op::PatchApplication {
                slug,
                body,
                provider,
                ..
            } => {
                let mut body = body.clone();
                if let Some(p) = provider {
                    body.provider = run.provider(p);
                }
                let a = c.patch_application(slug, &body).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
                memory.record_body(slug, &a.pk, &body.fields());
            }
            Op::SetOutpostProviders { .. } => self.send_outpost(op, run).await?,
            Op::CreateBinding { .. } | Op::DeleteBinding { .. } => {
                self.send_binding(op, run).await?
            }
            Op::DeleteApplication { slug } => {
                c.delete_application(slug).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
                memory.forget(slug);
            }
            Op::DeleteProvider { slug, pk } => {
                c.delete_provider(*pk).await?;
                tracing::info!(slug = %slug, "{}", self.said_done(op, &run.containers));
            }
            Op::CreateOAuth2Provider { .. }
            | Op::PatchOAuth2Provider { .. }
            | Op::DeleteOAuth2Provider { .. }
            | Op::CreateScopeMapping { .. } => {}
        }
        Ok(())
    }

    /// An OAuth2 provider made (a confidential client's secret made here, once), patched or
    /// deleted; what authentik holds afterwards goes into `held`.
    async fn send_oauth2(
        &self,
        op: &Op,
        run: &mut Applying<'_>,
        held: &mut BTreeMap<String, OAuth2Provider>,
        removed: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        let c = &self.client;
        match op {
            Op::CreateScopeMapping { body, .. } => {
                let version = self
                    .version
                    .unwrap_or(crate::model::authentik::ServerVersion::new(2026, 1));
                let m = c.create_scope_mapping(version, body).await?;
                run.new_mapping = Some(m.pk);
            }
            Op::CreateOAuth2Provider { slug, body } => {
                let mut body = body.clone();
                run.fill_mapping(&mut body.property_mappings);
                if body.client_type == "confidential" {
                    let secret = crate::edge::sso::new_client_secret().map_err(|e| {
                        ApiError::Unreachable(format!("cannot read /dev/urandom: {e}"))
                    })?;
                    body.client_secret = Some(Secret::new(secret));
                }
                let p = c.create_oauth2_provider(&body).await?;
                run.new_providers.insert(slug.clone(), p.pk);
                held.insert(slug.clone(), p);
            }
            Op::PatchOAuth2Provider { slug, pk, body } => {
                let mut body = body.clone();
                if let Some(m) = body.property_mappings.as_mut() {
                    run.fill_mapping(m);
                }
                let p = c.patch_oauth2_provider(*pk, &body).await?;
                held.insert(slug.clone(), p);
            }
            Op::DeleteOAuth2Provider { slug, pk } => {
                c.delete_oauth2_provider(*pk).await?;
                held.remove(slug);
                removed.push(slug.clone());
            }
            _ => return Ok(()),
        }
        self.log_done(op, &run.containers);
        Ok(())
    }

    /// The outpost's provider list: the providers made in this round and not refused put in,
    /// the removed ones taken out.
    async fn send_outpost(&self, op: &Op, run: &Applying<'_>) -> Result<(), ApiError> {
        let Op::SetOutpostProviders {
            pk,
            name,
            added,
            removed,
        } = op
        else {
            return Ok(());
        };
        let added: Vec<(String, ProviderRef)> = added
            .iter()
            .filter(|(s, _)| !run.failed_slugs.contains(s))
            .filter_map(|(s, r)| {
                run.provider(r)
                    .map(|pk| (s.clone(), ProviderRef::Existing(pk)))
            })
            .collect();
        let add: Vec<i64> = added.iter().filter_map(|(_, r)| run.provider(r)).collect();
        let remove: Vec<i64> = removed.iter().map(|(_, pk)| *pk).collect();
        if !self.set_outpost(pk, name, &add, &remove).await? {
            return Ok(());
        }
        // What was sent: the providers made in this round and not refused.
        let made = Op::SetOutpostProviders {
            pk: pk.clone(),
            name: name.clone(),
            added,
            removed: removed.clone(),
        };
        let said = self.said_done(&made, &run.containers);
        tracing::info!(outpost = %name, "{said}");
        Ok(())
    }

    /// A group binding made (on the application, made in this round or not) or deleted.
    async fn send_binding(&self, op: &Op, run: &Applying<'_>) -> Result<(), ApiError> {
        match op {
            Op::CreateBinding { app, group_pk, .. } => {
                let target = match app {
                    AppRef::Existing(pk) => Some(pk.clone()),
                    AppRef::New(s) => run.new_apps.get(s).cloned(),
                };
                let Some(target) = target else {
                    return Ok(());
                };
                let body = BindingCreate::group(group_pk, &target, BINDING_ORDER);
                self.client.create_binding(&body).await?;
            }
            Op::DeleteBinding { pk, .. } => self.client.delete_binding(pk).await?,
            _ => return Ok(()),
        }
        self.log_done(op, &run.containers);
        Ok(())
    }

    /// Puts `add` into and takes `remove` out of the outpost's provider list as it is now (one
    /// read right before the write), so a provider the user added meanwhile stays. No write when
    /// the list already is as wanted.
    async fn set_outpost(
        &self,
        pk: &str,
        name: &str,
        add: &[i64],
        remove: &[i64],
    ) -> Result<bool, ApiError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(false);
        }
        let current = self.client.outpost(pk).await?.providers;
        let next = outpost_providers(&current, add, remove);
        if next == current {
            tracing::debug!(outpost = %name, "outpost already has the wanted providers");
            return Ok(false);
        }
        self.client
            .set_outpost_providers(pk, &next)
            .await
            .map(|()| true)
    }
}

/// What is remembered and reported of a request authentik refused with `e`.
fn refusal(op: &Op, e: &ApiError, now: Instant, wants: Vec<Option<AppWant>>) -> Refused {
    let later = format!(
        "not sent again until its labels change or for {} min",
        REFUSED_RETRY.as_secs() / 60
    );
    let (problem, slugs) = if let Op::SetOutpostProviders { name, removed, .. } = op {
        // Removal order is out of the outpost first: what could not leave the outpost is not
        // deleted either.
        let slugs: Vec<String> = removed.iter().map(|(s, _)| s.clone()).collect();
        let stays = if slugs.is_empty() {
            String::new()
        } else {
            format!(
                "; not removing {} from authentik until it works",
                slugs.join(", ")
            )
        };
        let message = format!(
            "authentik refused to change the providers of outpost {name}: {e}{stays} ({later})"
        );
        let subject = format!("outpost {name}");
        (Problem::new(ProblemKind::Refused, subject, message), slugs)
    } else {
        let slug = op.slug().unwrap_or_default().to_owned();
        let message = format!("authentik refused a change for application {slug}: {e} ({later})");
        (
            Problem::new(ProblemKind::Refused, &slug, message),
            vec![slug],
        )
    };
    Refused {
        at: now,
        wants,
        problem,
        slugs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(name: &str) -> AppWant {
        AppWant {
            container: "app".into(),
            slug: "app".into(),
            name: name.into(),
            group: None,
            icon: None,
            description: None,
            launch_url: None,
            external_host: "https://app.example.com".into(),
            skip_path_regex: String::new(),
            allow_groups: Vec::new(),
            outpost: None,
            adopt: false,
            mfa: None,
        }
    }

    #[test]
    fn a_refused_request_is_held_back_until_the_want_changes_or_the_retry_time_passes() {
        let t0 = Instant::now();
        let r = Refused {
            at: t0,
            wants: vec![Some(want("One"))],
            problem: Problem::new(ProblemKind::Refused, "app", "refused"),
            slugs: vec!["app".into()],
        };
        assert!(r.holds(&[Some(want("One"))], t0 + Duration::from_secs(60)));
        assert!(!r.holds(&[Some(want("Two"))], t0 + Duration::from_secs(60)));
        assert!(!r.holds(&[None], t0));
        assert!(!r.holds(&[Some(want("One"))], t0 + REFUSED_RETRY));
    }
}
