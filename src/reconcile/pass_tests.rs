//! A whole pass against the in-memory engine.

use super::{Context, Mode, Reconciler};

#[tokio::test]
async fn a_labelled_workload_gets_its_conf_and_a_second_pass_writes_nothing() {
    let (ctx, engine, dir) = Context::test();
    engine.run("swag", &[], &["swag_default"]);
    engine.run("web", &[("auth.expose", "true")], &["web_net"]);
    engine.run("db", &[], &["web_net"]);
    let mut rec = Reconciler::new(ctx);
    let mut first = None;
    let logs = super::test_log::logged(async {
        first = Some(rec.pass(Mode::Watch).await.expect("pass"));
    })
    .await;
    let first = first.expect("pass ran");
    assert_eq!((first.written, first.removed, first.failed), (1, 0, 0));
    // The line saying so can be found by app, container and host.
    let wrote = logs
        .lines()
        .find(|l| l.contains("wrote gatehouse.web.subdomain.conf"))
        .unwrap_or_default();
    for field in ["host=local", "container=web", "app=web"] {
        assert!(wrote.contains(field), "{field} missing:\n{logs}");
    }
    let conf = dir
        .path()
        .join("nginx/proxy-confs/gatehouse.web.subdomain.conf");
    let text = std::fs::read_to_string(&conf).expect("conf written");
    assert!(text.contains("set $upstream_app web;"), "{text}");
    let second = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(
        (
            second.written,
            second.removed,
            second.connected,
            second.failed
        ),
        (0, 0, 0, 0)
    );
}

#[tokio::test]
async fn an_engine_that_is_gone_fails_the_pass_and_removes_nothing() {
    let (ctx, engine, dir) = Context::test();
    engine.run("web", &[("auth.expose", "true")], &[]);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    engine.set_down(true);
    let e = rec.pass(Mode::Watch).await.expect_err("engine gone");
    assert_eq!(e.label(), "docker");
    assert!(dir
        .path()
        .join("nginx/proxy-confs/gatehouse.web.subdomain.conf")
        .exists());
}

#[tokio::test]
async fn a_rejection_is_said_once_and_its_end_tells_fixed_from_gone() {
    let (ctx, engine, _dir) = Context::test();
    engine.run("bad", &[("auth.expose", "true"), ("auth.port", "x")], &[]);
    engine.run("worse", &[("auth.expose", "true"), ("auth.port", "y")], &[]);
    let mut rec = Reconciler::new(ctx);
    let logs = super::test_log::logged(async {
        for _ in 0..3 {
            rec.pass(Mode::Watch).await.expect("pass");
        }
    })
    .await;
    assert_eq!(logs.matches("rejected container bad").count(), 1, "{logs}");
    engine.run("bad", &[("auth.expose", "true")], &[]);
    engine.remove("worse");
    let logs = super::test_log::logged(async {
        rec.pass(Mode::Watch).await.expect("pass");
    })
    .await;
    assert!(logs.contains("container bad: no longer rejected"), "{logs}");
    assert!(
        logs.contains("container worse is gone; its rejected labels no longer matter"),
        "{logs}"
    );
    assert!(
        !logs.contains("container worse: no longer rejected"),
        "{logs}"
    );
}
