//! The application of each wanted app (pure): made, patched to the labels, adopted when the
//! user lets gatehouse, and its optional fields cleared only while they hold what gatehouse
//! set (see [`super::fields`]).

use std::collections::BTreeMap;

use super::fields::{self, Decision, Field};
use super::marker;
use super::planner::Index;
use super::types::{AppRef, Op, Plan, ProviderRef, UserChanged, ICON_WRITABLE_SINCE};
use crate::labels::authentik::AppWant;
use crate::model::authentik::{AppCreate, AppPatch, Application};

/// What one application is planned from.
pub(super) struct AppInputs<'a> {
    pub(crate) want: &'a AppWant,
    /// The application with the want's slug in authentik.
    pub(crate) existing: Option<&'a Application>,
    /// `existing` is not this instance's and is taken over.
    pub(crate) adopting: bool,
    /// The want's provider.
    pub(crate) provider: ProviderRef,
    /// Optional fields to clear: their label is gone, authentik still holds what gatehouse set.
    pub(crate) clears: &'a [Field],
}

/// Whether the application with `want`'s slug is taken over (`Ok(true)`), is this instance's
/// or missing (`Ok(false)`), or is someone else's and stays so (why, for the container).
pub(super) fn check_owner(
    ix: &Index<'_>,
    want: &AppWant,
    existing: Option<&Application>,
) -> Result<bool, String> {
    let me = &ix.input.rules.instance;
    let adopting = existing.is_some_and(|a| !me.owns_app(a));
    let owner = existing.and_then(marker::app_owner);
    // Taking over moves an application only from the user, or from the unnamed instance to
    // a named one (an install given a name), never back nor between named instances: two
    // gatehouses both set to adopt would otherwise take it from each other every round.
    let adoptable = match &owner {
        None => true,
        Some(other) => other.is_unnamed() && !me.is_unnamed(),
    };
    if !adopting || (want.adopt && adoptable) {
        return Ok(adopting);
    }
    Err(match owner {
        Some(other) if adoptable => format!(
            "application {} in authentik is managed by {other} (meta_publisher {:?}); leaving it alone: two gatehouses cannot publish one slug, so set a different auth.slug here (or, if it is this install's own from before GATEHOUSE_INSTANCE was set, auth.adopt=true to take the application over)",
            want.slug,
            other.publisher()
        ),
        Some(other) => format!(
            "application {} in authentik is managed by {other} (meta_publisher {:?}); leaving it alone: two gatehouses cannot publish one slug, so set a different auth.slug here (auth.adopt does not take applications from another gatehouse instance{})",
            want.slug,
            other.publisher(),
            if want.adopt { "; clear the application's publisher in authentik first to hand it over" } else { "" }
        ),
        None => format!(
            "application {} already exists in authentik and was not made by gatehouse; leaving it alone (set auth.adopt=true to let gatehouse manage it, or choose another auth.slug)",
            want.slug
        ),
    })
}

/// Why `auth.icon` is not applied on this server, if it is set.
pub(super) fn icon_warning(ix: &Index<'_>, want: &AppWant) -> Option<String> {
    (want.icon.is_some() && !ix.icons).then(|| {
        format!(
            "label auth.icon is not applied: authentik before {ICON_WRITABLE_SINCE} takes icons only as uploads"
        )
    })
}

/// Plans the application into `ops`, and returns it (the one made in this round if new).
pub(super) fn plan(app: AppInputs<'_>, ix: &Index<'_>, ops: &mut Vec<Op>) -> AppRef {
    let want = app.want;
    let desired = body(ix, want);
    let Some(a) = app.existing else {
        ops.push(Op::CreateApplication {
            slug: want.slug.clone(),
            body: desired,
            provider: app.provider,
        });
        return AppRef::New(want.slug.clone());
    };
    let mut patch = AppPatch::between(a, &desired);
    for field in app.clears {
        *app_field(&mut patch, *field) = Some(String::new());
    }
    let provider = match app.provider {
        ProviderRef::Existing(pk) if a.provider == Some(pk) => None,
        other => Some(other),
    };
    if !patch.is_empty() || provider.is_some() {
        ops.push(Op::PatchApplication {
            slug: want.slug.clone(),
            body: patch,
            provider,
            adopt: app.adopting,
        });
    }
    AppRef::Existing(a.pk.clone())
}

fn body(ix: &Index<'_>, want: &AppWant) -> AppCreate {
    AppCreate {
        name: want.name.clone(),
        slug: want.slug.clone(),
        meta_publisher: ix.input.rules.instance.publisher().to_owned(),
        group: want.group.clone(),
        meta_icon: want.icon.clone().filter(|_| ix.icons),
        meta_description: want.description.clone(),
        meta_launch_url: want.launch_url.clone(),
        provider: None,
    }
}

/// The slot of an optional field in an application patch.
fn app_field(patch: &mut AppPatch, field: Field) -> &mut Option<String> {
    match field {
        Field::Group => &mut patch.group,
        Field::Icon => &mut patch.meta_icon,
        Field::Description => &mut patch.meta_description,
        Field::LaunchUrl => &mut patch.meta_launch_url,
    }
}

/// The optional fields of this instance's applications (see [`fields`]): into `out`, what to
/// remember and the values the user changed; returned, by slug, the fields to clear because
/// their label is gone and authentik still holds what gatehouse set.
pub(super) fn owned_fields(
    ix: &Index<'_>,
    winners: &BTreeMap<&str, &AppWant>,
    out: &mut Plan,
) -> BTreeMap<String, Vec<Field>> {
    let instance = &ix.input.rules.instance;
    let mut clears: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    for a in ix
        .input
        .actual
        .applications
        .iter()
        .filter(|a| instance.owns_app(a))
    {
        let want = winners.get(a.slug.as_str()).copied();
        for field in Field::ALL {
            if field_decision(ix, a, want, field, out) {
                clears.entry(a.slug.clone()).or_default().push(field);
            }
        }
    }
    clears
}

/// Decides one optional field of an application of this instance: what to remember goes into
/// `out.memory`, a value the user changed into `out.user_changed`. Returns whether to clear it.
fn field_decision(
    ix: &Index<'_>,
    a: &Application,
    want: Option<&AppWant>,
    field: Field,
    out: &mut Plan,
) -> bool {
    let current = field.of_app(a);
    let before = ix.input.remembered.get(&a.slug, &a.pk, field);
    let writable = field != Field::Icon || ix.icons;
    let decision = match want {
        Some(w) => fields::decide(field.of_want(w), current, before, writable),
        // No container wants it (gone, or its labels are rejected): nothing is sent,
        // and what gatehouse set stays remembered while authentik holds it.
        None => fields::decide(None, current, before, false),
    };
    match decision {
        Decision::Leave { keep } => {
            if let Some(v) = keep {
                out.memory.set(&a.slug, &a.pk, field, v);
            }
            false
        }
        Decision::Send { value, keep } => {
            if let Some(v) = keep {
                out.memory.set(&a.slug, &a.pk, field, v);
            }
            // The label's own values go out with the application's patch already.
            value.is_empty()
        }
        Decision::UserChanged { set, now } => {
            if let Some(w) = want {
                out.user_changed.push(UserChanged {
                    container: w.container.clone(),
                    slug: a.slug.clone(),
                    field,
                    set: set.to_owned(),
                    now: now.to_owned(),
                });
            }
            false
        }
    }
}
