//! The OAuth2/OpenID provider of each app that logs its users in itself (pure): made when
//! missing, patched when the labels changed it, taken over with its application
//! (`auth.adopt=true`, keeping its client secret). Its application and group bindings are
//! planned as for forward auth ([`super::application`], [`super::binding`]); it joins no outpost.

use super::planner::{Draft, Index};
use super::types::{AppProblem, Op, Plan, ProviderRef};
use super::{application, binding, provider};
use crate::labels::oidc::{OidcWant, Redirect, BASE_SCOPES};
use crate::model::authentik::{
    OAuth2Create, OAuth2Patch, OAuth2Provider, RedirectUri, RedirectUris, ScopeMapping,
    ScopeMappingCreate,
};

/// The managed name of authentik's default scope mapping for `scope`.
pub fn managed_scope(scope: &str) -> String {
    format!("goauthentik.io/providers/oauth2/scope-{scope}")
}

/// The name of the certificate authentik makes at first start, that OAuth2 providers sign
/// with (RS256; most apps refuse HS256).
pub const SIGNING_KEY_NAME: &str = "authentik Self-signed Certificate";

/// The name of the scope mapping gatehouse makes for `auth.oidc.email_verified=true` (its mark:
/// found by this name, made once, shared, never removed).
pub const EMAIL_VERIFIED_MAPPING: &str = "gatehouse: email (email_verified true)";

/// Stands for the pk of the email mapping made earlier in the same round (filled in when the
/// request is made).
pub(crate) const NEW_EMAIL_MAPPING: &str = "gatehouse:new-email-verified-mapping";

/// The mapping gatehouse makes for `auth.oidc.email_verified=true`.
pub(crate) fn email_verified_mapping() -> ScopeMappingCreate {
    ScopeMappingCreate {
        name: EMAIL_VERIFIED_MAPPING.into(),
        scope_name: "email".into(),
        expression:
            "return {\n    \"email\": request.user.email,\n    \"email_verified\": True,\n}\n"
                .into(),
        description: "Email address (made by gatehouse for auth.oidc.email_verified=true)".into(),
    }
}

/// The grant types gatehouse asks for (2026.5 on): authorization code, and refresh.
pub(crate) const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// The flow a user authorizes the app in: the configured one. (Kept in one place: a per-app
/// choice, e.g. a flow that asks for a second factor, plugs in here.)
pub(crate) fn authorization_flow(ix: &Index<'_>, _want: &OidcWant) -> Option<String> {
    ix.input.actual.authorization_flow.clone()
}

/// The scope mapping for `scope`: authentik's managed one, else the one mapping with that
/// scope name.
fn scope_mapping<'a>(mappings: &'a [ScopeMapping], scope: &str) -> Option<&'a ScopeMapping> {
    let managed = managed_scope(scope);
    mappings
        .iter()
        .find(|m| m.managed.as_deref() == Some(managed.as_str()))
        .or_else(|| {
            let mut named = mappings.iter().filter(|m| m.scope_name == scope);
            match (named.next(), named.next()) {
                (Some(m), None) => Some(m),
                _ => None,
            }
        })
}

/// The scope mapping pks `want` needs, or the scopes authentik has no mapping for.
fn mappings_of(ix: &Index<'_>, want: &OidcWant) -> Result<Vec<String>, String> {
    let mut pks = Vec::new();
    let mut missing = Vec::new();
    let scopes = BASE_SCOPES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(want.scopes.iter().cloned());
    for s in scopes {
        if s == "email" && want.email_verified {
            let made = ix
                .input
                .actual
                .scope_mappings
                .iter()
                .find(|m| m.name == EMAIL_VERIFIED_MAPPING);
            pks.push(made.map_or_else(|| NEW_EMAIL_MAPPING.to_owned(), |m| m.pk.clone()));
            continue;
        }
        match scope_mapping(&ix.input.actual.scope_mappings, &s) {
            Some(m) => pks.push(m.pk.clone()),
            None => missing.push(s),
        }
    }
    if missing.is_empty() {
        Ok(pks)
    } else {
        Err(format!(
            "authentik has no scope mapping for scope(s) {} (authentik's own are found by their managed name {}; make one in authentik, or remove the scope from auth.oidc.scopes)",
            missing.join(", "),
            managed_scope("<scope>")
        ))
    }
}

fn redirect_uris(ix: &Index<'_>, redirects: &[Redirect]) -> RedirectUris {
    if ix.input.actual.redirect_text {
        RedirectUris::Text(
            redirects
                .iter()
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    } else {
        RedirectUris::List(
            redirects
                .iter()
                .map(|r| RedirectUri {
                    matching_mode: if r.regex { "regex" } else { "strict" }.into(),
                    url: r.url.clone(),
                })
                .collect(),
        )
    }
}

/// The provider gatehouse wants for `want` (without the secret: made when the request is).
fn body(ix: &Index<'_>, want: &OidcWant, mappings: Vec<String>) -> OAuth2Create {
    let actual = ix.input.actual;
    OAuth2Create {
        name: ix.input.rules.instance.provider_name(want.slug()),
        authorization_flow: authorization_flow(ix, want).unwrap_or_default(),
        invalidation_flow: ix
            .with_invalidation
            .then(|| actual.invalidation_flow.clone().unwrap_or_default()),
        property_mappings: mappings,
        client_type: if want.public {
            "public"
        } else {
            "confidential"
        }
        .into(),
        client_id: want.client_id().to_owned(),
        client_secret: None,
        signing_key: actual.signing_key.clone(),
        redirect_uris: redirect_uris(ix, &want.redirects),
        grant_types: actual
            .version
            .is_some_and(|v| v.has_grant_types())
            .then(|| GRANT_TYPES.iter().map(|g| (*g).to_owned()).collect()),
    }
}

/// The provider to patch rather than make: gatehouse's own, or the one of an application
/// taken over (`auth.adopt`), so its client secret stays.
fn existing<'a>(ix: &Index<'a>, want: &OidcWant, adopting: bool) -> Option<&'a OAuth2Provider> {
    if let Some(p) = ix.owned_oauth2.get(want.slug()) {
        return Some(p);
    }
    let app = ix.apps.get(want.slug())?;
    let pk = app.provider.filter(|_| adopting)?;
    ix.input
        .actual
        .oauth2_providers
        .iter()
        .find(|p| p.pk == pk && ix.input.rules.instance.oauth2_slug(p).is_none())
}

/// Plans `want`'s provider into `ops`, and returns it (the one made in this round if new).
fn plan_provider(
    ix: &Index<'_>,
    want: &OidcWant,
    desired: OAuth2Create,
    adopting: bool,
    ops: &mut Vec<Op>,
) -> ProviderRef {
    match existing(ix, want, adopting) {
        Some(p) => {
            let patch = OAuth2Patch::between(p, &desired);
            if !patch.is_empty() {
                ops.push(Op::PatchOAuth2Provider {
                    slug: want.slug().to_owned(),
                    pk: p.pk,
                    body: patch,
                });
            }
            ProviderRef::Existing(p.pk)
        }
        None => {
            ops.push(Op::CreateOAuth2Provider {
                slug: want.slug().to_owned(),
                body: desired,
            });
            ProviderRef::New(want.slug().to_owned())
        }
    }
}

/// Plans every single sign-on app: its provider, application and group bindings, into
/// `draft`; what stops one into `out.problems`.
pub(super) fn plan<'a>(
    ix: &Index<'a>,
    draft: &mut Draft<'a>,
    clears: &mut std::collections::BTreeMap<String, Vec<super::fields::Field>>,
    out: &mut Plan,
) {
    let flows_missing = provider::flows_missing(ix);
    let mut sorted: Vec<&'a OidcWant> = ix.oidc.iter().collect();
    sorted.sort_by(|a, b| {
        a.slug()
            .cmp(b.slug())
            .then(a.app.container.cmp(&b.app.container))
    });
    let mut email_planned = false;
    for want in sorted {
        let problem = |message: String| AppProblem {
            container: want.app.container.clone(),
            message,
        };
        if !draft.wanted.insert(want.slug()) {
            out.problems.push(problem(format!(
                "application slug {} is already used by another container: set a different auth.slug",
                want.slug()
            )));
            continue;
        }
        match check(ix, want, flows_missing.as_deref()) {
            Ok((existing, adopting, groups, mappings)) => {
                if mappings.iter().any(|m| m == NEW_EMAIL_MAPPING) && !email_planned {
                    email_planned = true;
                    draft.providers.push(Op::CreateScopeMapping {
                        slug: want.slug().to_owned(),
                        body: email_verified_mapping(),
                    });
                }
                let desired = body(ix, want, mappings);
                let provider = plan_provider(ix, want, desired, adopting, &mut draft.providers);
                let fields = clears.remove(want.slug()).unwrap_or_default();
                let app = application::plan(
                    application::AppInputs {
                        want: &want.app,
                        existing,
                        adopting,
                        provider,
                        clears: &fields,
                    },
                    ix,
                    &mut draft.applications,
                );
                binding::plan(ix, &want.app, &app, &groups, &mut draft.bindings);
            }
            Err(message) => out.problems.push(problem(message)),
        }
    }
}

type Checked<'a> = (
    Option<&'a crate::model::authentik::Application>,
    bool,
    Vec<(String, String)>,
    Vec<String>,
);

/// Whether a want can be planned: flows, signing key and scope mappings exist, its application
/// is gatehouse's (or taken over), its groups exist. Else why not, for its container.
fn check<'a>(
    ix: &Index<'a>,
    want: &OidcWant,
    flows_missing: Option<&str>,
) -> Result<Checked<'a>, String> {
    if let Some(why) = flows_missing {
        return Err(format!("single sign-on not provisioned: {why}"));
    }
    if ix.input.actual.signing_key.is_none() {
        return Err(format!(
            "single sign-on not provisioned: authentik has no certificate named {SIGNING_KEY_NAME:?} with a key to sign tokens with (authentik makes it at first start; without it tokens would be HS256, which most apps refuse)"
        ));
    }
    let mappings = mappings_of(ix, want)?;
    let existing = ix.apps.get(want.slug()).copied();
    let adopting = application::check_owner(ix, &want.app, existing)?;
    let groups = binding::groups_of(ix, &want.app)?;
    Ok((existing, adopting, groups, mappings))
}

#[cfg(test)]
#[path = "oauth2_tests.rs"]
mod tests;
