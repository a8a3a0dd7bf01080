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

/// A pass killed while its connect request is in flight (the future dropped while the engine
/// holds the request), then gatehouse started again on the same folder and engine.
async fn killed_mid_connect(rec: &mut Reconciler, engine: &crate::edge::docker::fake::FakeEngine) {
    engine.hold_connects(true);
    let killed = tokio::time::timeout(std::time::Duration::from_millis(300), rec.pass(Mode::Watch));
    assert!(
        killed.await.is_err(),
        "the pass was not waiting on its connect"
    );
    engine.hold_connects(false);
}

fn restarted(
    dir: &tempfile::TempDir,
    engine: &Arc<crate::edge::docker::fake::FakeEngine>,
) -> Reconciler {
    let settings = crate::config::Settings {
        swag_config: dir.path().to_owned(),
        ..crate::config::Settings::default()
    };
    Reconciler::new(Context::new(settings, engine.clone()))
}

#[tokio::test]
async fn a_connect_still_in_flight_after_a_kill_is_not_leaked() {
    let (mut rec, engine, dir) = stack();
    killed_mid_connect(&mut rec, &engine).await;
    assert!(record(&dir).contains("web_net"), "{}", record(&dir));
    // The app goes; the restarted gatehouse lists SWAG before the engine carried out the
    // killed process's request.
    engine.remove("web");
    let mut rec = restarted(&dir, &engine);
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert!(
        record(&dir).contains("web_net"),
        "the record of a request still in flight was dropped: {}",
        record(&dir)
    );
    assert!(report.changes.next_due.is_some(), "no check planned");
    engine.complete_held();
    assert!(engine.networks_of("swag").contains(&"web_net".to_owned()));
    rec.pass(Mode::Watch).await.expect("pass");
    assert!(
        !engine.networks_of("swag").contains(&"web_net".to_owned()),
        "leaked: {:?} record {}",
        engine.calls(),
        record(&dir)
    );
    assert!(!record(&dir).contains("web_net"), "{}", record(&dir));
}

#[tokio::test]
async fn already_connected_by_gatehouse_s_own_earlier_request_stays_gatehouse_s() {
    let (mut rec, engine, dir) = stack();
    killed_mid_connect(&mut rec, &engine).await;
    // The restarted gatehouse's listing does not show SWAG on web_net yet; the killed
    // process's request lands just before the new one, answered "already connected".
    engine.complete_held_on_next_connect();
    let mut rec = restarted(&dir, &engine);
    rec.pass(Mode::Watch).await.expect("pass");
    assert!(engine.networks_of("swag").contains(&"web_net".to_owned()));
    assert!(
        record(&dir).contains("web_net"),
        "dropped as someone else's: {}",
        record(&dir)
    );
    engine.remove("web");
    rec.pass(Mode::Watch).await.expect("pass");
    assert!(
        !engine.networks_of("swag").contains(&"web_net".to_owned()),
        "leaked: {:?}",
        engine.calls()
    );
}

#[tokio::test]
async fn an_unanswered_connect_stays_on_record() {
    let (mut rec, engine, dir) = stack();
    // No answer at all (the connection dropped): the request may have been carried out.
    engine.refuse("connect", 0, "connection reset by peer");
    let report = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(report.failed, 1);
    assert!(record(&dir).contains("web_net"), "{}", record(&dir));
}

/// networks.json holding one requested attachment of SWAG to `web_net`, asked for at `since`.
fn write_requested(dir: &tempfile::TempDir, since: u64) {
    let json = format!(
        r#"{{"joined":[],"requested":[{{"container_id":"id-swag","container":"swag","network_id":"net-web_net","network":"web_net","since":{since}}}]}}"#
    );
    std::fs::create_dir_all(dir.path().join("gatehouse")).expect("state folder");
    std::fs::write(dir.path().join("gatehouse/networks.json"), json).expect("write");
}

#[tokio::test]
async fn an_unconfirmed_request_is_dropped_only_after_a_late_disconnect_confirms_it() {
    let (_, engine, dir) = stack();
    engine.remove("web");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    // Recent: a request may still be in flight; kept, and a pass planned for when it is not.
    write_requested(&dir, now);
    let report = restarted(&dir, &engine)
        .pass(Mode::Watch)
        .await
        .expect("pass");
    assert!(record(&dir).contains("web_net"), "{}", record(&dir));
    let due = report.changes.next_due.expect("a check planned");
    assert!(due.as_secs() > 100, "{due:?}");
    assert!(!engine.calls().iter().any(|c| c.starts_with("disconnect")));
    // Old enough: the engine is asked, answers "not attached", and the record goes.
    write_requested(&dir, now - crate::plan::networks::SETTLE_SECS - 1);
    restarted(&dir, &engine)
        .pass(Mode::Watch)
        .await
        .expect("pass");
    assert!(
        engine
            .calls()
            .iter()
            .any(|c| c == "disconnect net-web_net id-swag"),
        "{:?}",
        engine.calls()
    );
    assert!(!record(&dir).contains("web_net"), "{}", record(&dir));
}
