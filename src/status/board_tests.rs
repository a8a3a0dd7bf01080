use std::time::Duration;

use super::*;
use crate::status::snapshot::{AppStatus, RejectedStatus};

pub(crate) fn app(container: &str, access: &'static str) -> AppStatus {
    AppStatus {
        container: container.into(),
        hosts: vec![format!("{container}.*")],
        links: vec![format!("https://{container}.example.com")],
        access,
        upstream: format!("http://{container}:8080"),
        conf_file: format!("gatehouse.{container}.subdomain.conf"),
        networks: vec![format!("{container}_default")],
        ..AppStatus::default()
    }
}

pub(crate) fn rejected(container: &str) -> RejectedStatus {
    RejectedStatus {
        container: container.into(),
        reason: format!(
            "container {container}: label auth.port=http must be a number from 1 to 65535"
        ),
        fix: crate::status::snapshot::LABEL_FIX.into(),
        still_served: false,
    }
}

pub(crate) fn seen(changes: &[(&str, &str)]) -> Seen {
    Seen {
        apps: vec![app("web", "exposed"), app("secure", "protected")],
        rejected: vec![rejected("broken")],
        changes: changes
            .iter()
            .map(|(c, w)| ((*c).to_owned(), (*w).to_owned()))
            .collect(),
        containers: 4,
    }
}

#[test]
fn a_good_pass_makes_it_ready_and_a_failed_one_not() {
    let board = Board::new(Duration::from_secs(60), false);
    let err = board.view().ready().unwrap_err();
    assert!(err.contains("no pass has succeeded yet"), "{err}");
    assert!(board.view().live().is_ok());
    board.pass_done(Some(seen(&[])), None, Duration::from_millis(3), "start");
    assert!(board.view().ready().is_ok());
    board.pass_done(
        None,
        Some("engine gone".into()),
        Duration::from_millis(3),
        "periodic resync",
    );
    let err = board.view().ready().unwrap_err();
    assert!(err.contains("engine gone"), "{err}");
    let v = board.view();
    assert_eq!(
        (v.snapshot.passes.ok_total, v.snapshot.passes.failed_total),
        (1, 1)
    );
    // The apps of the last pass that saw them stay on the page.
    assert_eq!(v.snapshot.apps.len(), 2);
}

#[test]
fn an_old_good_pass_or_a_still_loop_is_not_ok() {
    let board = Board::new(Duration::from_secs(10), false);
    board.pass_done(Some(seen(&[])), None, Duration::ZERO, "start");
    let mut v = board.view();
    // Two resync intervals plus 30 s.
    v.now += 51;
    assert!(v.ready().unwrap_err().contains("51s ago"));
    assert!(v.live().unwrap_err().contains("has not turned for 51s"));
    v.now -= 2;
    assert!(v.ready().is_ok() && v.live().is_ok());
}

#[test]
fn the_last_change_stays_with_its_app_until_the_app_goes() {
    let board = Board::new(Duration::from_secs(60), false);
    board.pass_done(
        Some(seen(&[("web", "wrote gatehouse.web.subdomain.conf")])),
        None,
        Duration::ZERO,
        "container start web",
    );
    board.pass_done(Some(seen(&[])), None, Duration::ZERO, "periodic resync");
    let v = board.view();
    let web = v
        .snapshot
        .apps
        .iter()
        .find(|a| a.container == "web")
        .unwrap();
    let change = web.last_change.as_ref().expect("kept across passes");
    assert_eq!(change.what, "wrote gatehouse.web.subdomain.conf");
    assert_eq!(change.why, "container start web");
    assert!(v
        .snapshot
        .apps
        .iter()
        .any(|a| a.container == "secure" && a.last_change.is_none()));
    board.pass_done(
        Some(Seen::default()),
        None,
        Duration::ZERO,
        "container die web",
    );
    board.pass_done(Some(seen(&[])), None, Duration::ZERO, "container start web");
    let v = board.view();
    let web = v
        .snapshot
        .apps
        .iter()
        .find(|a| a.container == "web")
        .unwrap();
    assert!(web.last_change.is_none(), "a gone app's change was kept");
}

#[test]
fn pass_durations_fill_cumulative_buckets() {
    let board = Board::new(Duration::from_secs(60), false);
    for ms in [1, 30, 30, 700, 20_000] {
        board.pass_done(None, None, Duration::from_millis(ms), "x");
    }
    let h = board.view().durations;
    assert_eq!(h.count, 5);
    let at = |bound: f64| h.cumulative[BUCKETS.iter().position(|b| *b == bound).unwrap()];
    assert_eq!(at(0.005), 1);
    assert_eq!(at(0.05), 3);
    assert_eq!(at(1.0), 4);
    assert_eq!(at(10.0), 4);
    assert!((h.sum - 20.761).abs() < 1e-9);
}

#[test]
fn authentik_rounds_keep_the_last_version_read() {
    let board = Board::new(Duration::from_secs(60), true);
    board.authentik_round(100, None, 0, Some("2026.5".into()));
    board.authentik_round(160, Some("connection refused".into()), 1, None);
    let a = board.view().snapshot.authentik.clone();
    assert_eq!(a.reachable, Some(false));
    assert_eq!(a.version.as_deref(), Some("2026.5"));
    assert_eq!(a.error.as_deref(), Some("connection refused"));
    // authentik down does not make gatehouse unready: the confs still work.
    board.pass_done(Some(seen(&[])), None, Duration::ZERO, "x");
    assert!(board.view().ready().is_ok());
}
