//! `GATEHOUSE_SCOPE_LABEL` picks the apps, not SWAG or authentik's server: both are found
//! whether or not they carry the scope label.

use std::sync::Arc;

use super::super::{Context, Mode, Reconciler};
use crate::edge::docker::fake::FakeEngine;

const SCOPE: (&str, &str) = ("gatehouse.scope", "a");

/// A scoped gatehouse; one app in the scope, SWAG and authentik with the scope label or not.
fn scoped(infra_labels: &[(&str, &str)]) -> (Reconciler, Arc<FakeEngine>, tempfile::TempDir) {
    let (mut ctx, engine, dir) = Context::test();
    ctx.settings.scope_label = Some((SCOPE.0.to_owned(), SCOPE.1.to_owned()));
    engine.run("swag", infra_labels, &["swag_default"]);
    engine.run("authentik-server", infra_labels, &["authentik_net"]);
    engine.run("web", &[("auth.expose", "true"), SCOPE], &["web_net"]);
    // An app outside the scope: never published, never joined.
    engine.run("other", &[("auth.expose", "true")], &["other_net"]);
    (Reconciler::new(ctx), engine, dir)
}

fn lists(engine: &FakeEngine) -> usize {
    engine.calls().iter().filter(|c| *c == "list").count()
}

#[tokio::test]
async fn swag_and_authentik_outside_the_scope_are_found_in_the_one_listing_of_a_pass() {
    let (mut rec, engine, _dir) = scoped(&[]);
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.connected, 2, "{:?}", engine.calls());
    let joined = engine.networks_of("swag");
    assert!(joined.contains(&"web_net".to_owned()), "{joined:?}");
    assert!(joined.contains(&"authentik_net".to_owned()), "{joined:?}");
    assert!(!joined.contains(&"other_net".to_owned()), "{joined:?}");
    assert_eq!(report.desired.apps.len(), 1, "only the app in the scope");
    assert_eq!(lists(&engine), 1);
    let again = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(again.connected, 0);
    assert_eq!(
        lists(&engine),
        2,
        "one listing per pass: {:?}",
        engine.calls()
    );
}

#[tokio::test]
async fn swag_and_authentik_inside_the_scope_are_found_in_the_same_one_listing() {
    let (mut rec, engine, _dir) = scoped(&[SCOPE]);
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.connected, 2, "{:?}", engine.calls());
    assert_eq!(report.desired.apps.len(), 1, "only the app in the scope");
    assert_eq!(lists(&engine), 1, "{:?}", engine.calls());
}

#[tokio::test]
async fn without_a_scope_one_listing_serves_too() {
    let (ctx, engine, _dir) = Context::test();
    engine.run("web", &[("auth.expose", "true")], &["web_net"]);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(lists(&engine), 1, "{:?}", engine.calls());
}
