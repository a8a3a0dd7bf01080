//! The network step against the in-memory engine: what only a real engine reached before.

use std::sync::{Arc, Mutex};

use super::super::{Context, Lifecycle, Mode, Reconciler};

/// SWAG on its own network and one app, exposed, on another.
fn stack() -> (
    Reconciler,
    Arc<crate::edge::docker::fake::FakeEngine>,
    tempfile::TempDir,
) {
    let (ctx, engine, dir) = Context::test();
    engine.run("swag", &[], &["swag_default"]);
    engine.run("web", &[("auth.expose", "true")], &["web_net"]);
    (Reconciler::new(ctx), engine, dir)
}

fn record(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("gatehouse/networks.json")).unwrap_or_default()
}

fn connects(engine: &crate::edge::docker::fake::FakeEngine) -> usize {
    engine
        .calls()
        .iter()
        .filter(|c| c.starts_with("connect "))
        .count()
}

#[tokio::test]
async fn an_attachment_is_recorded_before_the_engine_is_asked_to_make_it() {
    let (mut rec, engine, dir) = stack();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (file, seen2) = (dir.path().join("gatehouse/networks.json"), seen.clone());
    engine.on_request(move |line| {
        if line.starts_with("connect ") {
            let now = std::fs::read_to_string(&file).unwrap_or_default();
            seen2.lock().unwrap_or_else(|e| e.into_inner()).push(now);
        }
    });
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.connected, 1, "{:?}", engine.calls());
    assert!(engine.networks_of("swag").contains(&"web_net".to_owned()));
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].contains("web_net"),
        "not recorded before connect: {seen:?}"
    );
    assert!(record(&dir).contains("web_net"));
}

#[tokio::test]
async fn a_refused_attachment_is_taken_back_from_the_record_and_retried() {
    let (mut rec, engine, dir) = stack();
    engine.refuse("connect", 500, "driver failed");
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.connected, 0);
    assert_eq!(report.failed, 1);
    assert!(report.changes.next_due.is_some(), "no retry planned");
    assert!(!record(&dir).contains("web_net"), "{}", record(&dir));
    assert!(!engine.networks_of("swag").contains(&"web_net".to_owned()));
}

#[tokio::test]
async fn a_403_turns_network_management_off_and_confs_are_still_written() {
    let (mut rec, engine, dir) = stack();
    engine.refuse("connect", 403, "forbidden by the socket proxy");
    let logs = super::super::test_log::logged(async {
        let report = rec.pass(Mode::Watch).await.expect("pass");
        assert_eq!(report.written, 1);
        assert!(rec.net.off);
        assert!(!record(&dir).contains("web_net"), "{}", record(&dir));
        let before = connects(&engine);
        rec.pass(Mode::Watch).await.expect("pass");
        assert_eq!(connects(&engine), before, "asked again after a 403");
    })
    .await;
    let refused: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("network management is off"))
        .collect();
    assert_eq!(refused.len(), 1, "{logs}");
    assert!(refused[0].contains("WARN"), "{logs}");
    assert!(
        refused[0].contains("attach swag to network web_net"),
        "{logs}"
    );
}

#[tokio::test]
async fn swag_leaves_the_network_of_an_app_that_is_stopping() {
    let (mut rec, engine, dir) = stack();
    rec.pass(Mode::Watch).await.expect("pass");
    assert!(engine.networks_of("swag").contains(&"web_net".to_owned()));
    rec.note(Lifecycle::Stopping("id-web".into()));
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.disconnected, 1, "{:?}", engine.calls());
    assert!(!engine.networks_of("swag").contains(&"web_net".to_owned()));
    assert!(!record(&dir).contains("web_net"), "{}", record(&dir));
    // The conf stays through the grace period: only the network is released at once.
    assert_eq!(report.removed, 0);
}
