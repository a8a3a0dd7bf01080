//! Which outpost serves each app, and the outposts' provider lists (pure): gatehouse's
//! providers go where they are wanted and leave where they are not; every other provider
//! stays.

use std::collections::{BTreeMap, BTreeSet};

use super::planner::Index;
use super::types::{Op, ProviderRef, EMBEDDED_OUTPOST};
use crate::labels::authentik::AppWant;
use crate::model::authentik::Outpost;

/// The outpost `want` goes to (`auth.outpost`, else `GATEHOUSE_AUTHENTIK_OUTPOST`, else the
/// embedded one), or why there is none.
pub(super) fn chosen<'a>(ix: &Index<'a>, want: &AppWant) -> Result<&'a Outpost, String> {
    let outposts = &ix.input.actual.outposts;
    if ix.input.rules.own_outpost.is_some() {
        return own_outpost(ix, want);
    }
    let name = want
        .outpost
        .as_ref()
        .or(ix.input.rules.default_outpost.as_ref());
    let found = match name {
        Some(name) => outposts.iter().find(|o| &o.name == name),
        None => outposts
            .iter()
            .find(|o| o.managed.as_deref() == Some(EMBEDDED_OUTPOST)),
    };
    found.ok_or_else(|| match name {
        Some(n) => format!("authentik has no outpost named {n:?}"),
        None => "authentik has no embedded outpost (managed goauthentik.io/outposts/embedded); set GATEHOUSE_AUTHENTIK_OUTPOST or auth.outpost".to_owned(),
    })
}

/// In remote mode, this host's own outpost (or, in a dry run before it exists, its stand-in).
fn own_outpost<'a>(ix: &Index<'a>, want: &AppWant) -> Result<&'a Outpost, String> {
    let instance = &ix.input.rules.instance;
    let name = super::remote::outpost_name(instance).unwrap_or_default();
    if let Some(asked) = want.outpost.as_ref().filter(|o| **o != name) {
        return Err(format!(
            "auth.outpost={asked} cannot be used with GATEHOUSE_OUTPOST=remote: this host's apps are served by its own outpost {name:?}; remove the label"
        ));
    }
    Ok(super::remote::own(&ix.input.actual.outposts, instance).unwrap_or(&super::remote::PENDING))
}

/// The outpost writes: each outpost gets the providers of `membership` it lacks, and loses
/// gatehouse's providers not wanted there, except those in `stay`.
pub(super) fn plan(
    ix: &Index<'_>,
    membership: &BTreeMap<&str, Vec<(ProviderRef, String)>>,
    stay: &BTreeSet<i64>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for o in &ix.input.actual.outposts {
        let wanted_here = membership.get(o.pk.as_str());
        let wanted_existing: BTreeSet<i64> = wanted_here
            .into_iter()
            .flatten()
            .filter_map(|(r, _)| match r {
                ProviderRef::Existing(pk) => Some(*pk),
                ProviderRef::New(_) => None,
            })
            .collect();
        let removed: Vec<(String, i64)> = o
            .providers
            .iter()
            .filter_map(|pk| ix.owned_pks.get(pk).map(|slug| (*slug, *pk)))
            .filter(|(_, pk)| !wanted_existing.contains(pk) && !stay.contains(pk))
            .map(|(slug, pk)| (slug.to_owned(), pk))
            .collect();
        let added: Vec<(String, ProviderRef)> = wanted_here
            .into_iter()
            .flatten()
            .filter(|(r, _)| !matches!(r, ProviderRef::Existing(pk) if o.providers.contains(pk)))
            .map(|(r, slug)| (slug.clone(), r.clone()))
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            ops.push(Op::SetOutpostProviders {
                pk: o.pk.clone(),
                name: o.name.clone(),
                added,
                removed,
            });
        }
    }
    ops
}

/// An outpost's provider list after gatehouse's change: `current` as read right before the
/// write, `removed` taken out, `added` appended where missing. Everything else stays in its
/// place, so a provider the user added since the round began is not dropped.
pub fn outpost_providers(current: &[i64], added: &[i64], removed: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = current
        .iter()
        .copied()
        .filter(|pk| !removed.contains(pk))
        .collect();
    for pk in added {
        if !out.contains(pk) {
            out.push(*pk);
        }
    }
    out
}
