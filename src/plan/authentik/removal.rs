//! What goes (pure): this instance's applications and providers no app wants, once their grace
//! period is over; unless their container's labels are rejected (held), all removals are held
//! (a rejected container whose slug cannot be told), or the user bound policies to the
//! application.

use std::collections::BTreeSet;

use super::planner::{Draft, Index};
use super::types::{is_owned_binding, Op, Plan};
use crate::plan::grace::{sooner, Grace, GraceClock};

/// Plans the removals into `draft.deletes` and what is kept into `out`. Returns the providers
/// that stay in their outpost as they are: apps skipped for a problem this round (nothing
/// working is lost), held apps, and apps in their grace period.
pub(super) fn plan(
    ix: &Index<'_>,
    draft: &mut Draft<'_>,
    clock: &mut GraceClock,
    out: &mut Plan,
) -> BTreeSet<i64> {
    let leaving = leaving(ix, &draft.wanted);
    clock.retain(|slug| leaving.contains(slug));
    let placed: BTreeSet<&str> = draft
        .membership
        .values()
        .flatten()
        .map(|(_, slug)| slug.as_str())
        .collect();
    let mut stay: BTreeSet<i64> = draft
        .wanted
        .iter()
        .filter(|s| !placed.contains(*s))
        .filter_map(|s| ix.owned_providers.get(s).map(|p| p.pk))
        .collect();
    for slug in leaving {
        if remove(ix, slug, clock, out, &mut draft.deletes) == Leaves::Stays {
            if let Some(p) = ix.owned_providers.get(slug) {
                stay.insert(p.pk);
            }
        }
    }
    stay
}

/// The slugs of this instance's applications and providers that no app wants.
fn leaving<'a>(ix: &Index<'a>, wanted: &BTreeSet<&str>) -> BTreeSet<&'a str> {
    let mine = &ix.input.rules.instance;
    let mut out: BTreeSet<&str> = ix
        .owned_providers
        .keys()
        .chain(ix.owned_oauth2.keys())
        .copied()
        .filter(|s| !wanted.contains(s))
        .collect();
    out.extend(
        ix.input
            .actual
            .applications
            .iter()
            .filter(|a| mine.owns_app(a) && !wanted.contains(a.slug.as_str()))
            .map(|a| a.slug.as_str()),
    );
    out
}

/// Whether a leaving app's provider stays in its outpost this round.
#[derive(Debug, PartialEq, Eq)]
enum Leaves {
    Stays,
    Goes,
}

/// Plans the removal of one unwanted app, or why it is kept.
fn remove(
    ix: &Index<'_>,
    slug: &str,
    clock: &mut GraceClock,
    out: &mut Plan,
    deletes: &mut Vec<Op>,
) -> Leaves {
    let input = ix.input;
    if input.held.contains(slug) {
        out.kept.push((
            slug.to_owned(),
            format!(
                "kept application {slug} in authentik while its container's labels are rejected"
            ),
        ));
        clock.forget(slug);
        return Leaves::Stays;
    }
    if input.hold_all {
        out.held_back.push(slug.to_owned());
        clock.forget(slug);
        return Leaves::Stays;
    }
    if let Grace::Waiting { left } = clock.tick(slug, input.now, input.grace) {
        out.kept.push((
            slug.to_owned(),
            format!(
                "application {slug} is no longer wanted; removing it from authentik in {}s unless it comes back",
                left.as_secs_f32().ceil()
            ),
        ));
        out.next_due = sooner(out.next_due, left);
        return Leaves::Stays;
    }
    let app = ix
        .apps
        .get(slug)
        .copied()
        .filter(|a| input.rules.instance.owns_app(a));
    let user_bindings = app.map_or(0, |a| {
        input
            .actual
            .bindings
            .iter()
            .filter(|b| b.target == a.pk && !is_owned_binding(b))
            .count()
    });
    if user_bindings > 0 {
        out.kept.push((
            slug.to_owned(),
            format!(
                "kept application {slug} in authentik (taken out of the outpost): it has {user_bindings} policy binding(s) gatehouse did not make; delete it in authentik when you no longer need it"
            ),
        ));
        return Leaves::Goes;
    }
    if app.is_some() {
        deletes.push(Op::DeleteApplication {
            slug: slug.to_owned(),
        });
    }
    if let Some(p) = ix.owned_providers.get(slug) {
        deletes.push(Op::DeleteProvider {
            slug: slug.to_owned(),
            pk: p.pk,
        });
    }
    if let Some(p) = ix.owned_oauth2.get(slug) {
        deletes.push(Op::DeleteOAuth2Provider {
            slug: slug.to_owned(),
            pk: p.pk,
        });
    }
    clock.forget(slug);
    Leaves::Goes
}
