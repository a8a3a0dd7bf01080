//! The group bindings of each wanted app (pure): one per group of `auth.allow_groups`, marked
//! with [`BINDING_ORDER`]; a binding gatehouse made whose group left the label goes.

use super::planner::Index;
use super::types::{is_owned_binding, AppRef, Op};
use crate::labels::authentik::AppWant;
use crate::model::authentik::PolicyBinding;

#[cfg(doc)]
use super::types::BINDING_ORDER;

/// The groups `want` allows, as (pk, name); or which ones authentik does not have.
pub(super) fn groups_of(ix: &Index<'_>, want: &AppWant) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for g in &want.allow_groups {
        match ix.groups.get(g.as_str()) {
            Some(group) => found.push((group.pk.clone(), g.to_string())),
            None => unknown.push(g.as_str()),
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(format!(
            "label auth.allow_groups names group(s) authentik does not have: {}",
            unknown.join(", ")
        ))
    }
}

/// Plans the bindings of `want`'s application `app` into `ops`: the missing groups bound, the
/// bindings gatehouse made for groups no longer wanted deleted.
pub(super) fn plan(
    ix: &Index<'_>,
    want: &AppWant,
    app: &AppRef,
    groups: &[(String, String)],
    ops: &mut Vec<Op>,
) {
    let ours: Vec<&PolicyBinding> = match app {
        AppRef::Existing(pk) => ix
            .input
            .actual
            .bindings
            .iter()
            .filter(|b| &b.target == pk && is_owned_binding(b))
            .collect(),
        AppRef::New(_) => Vec::new(),
    };
    for (gpk, gname) in groups {
        if !ours.iter().any(|b| b.group.as_deref() == Some(gpk)) {
            ops.push(Op::CreateBinding {
                slug: want.slug.clone(),
                app: app.clone(),
                group_pk: gpk.clone(),
                group_name: gname.clone(),
            });
        }
    }
    for b in ours {
        if !groups.iter().any(|(g, _)| b.group.as_deref() == Some(g)) {
            ops.push(Op::DeleteBinding {
                slug: want.slug.clone(),
                pk: b.pk.clone(),
            });
        }
    }
}
