use super::*;

fn event(kind: &str, id: &str, name: &str, attrs: &[(&str, &str)]) -> EngineEvent {
    EngineEvent {
        kind: kind.into(),
        action: "start".into(),
        id: id.into(),
        name: name.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        replayed: false,
    }
}

#[test]
fn stop_signals_and_deaths_mark_a_container_stopping_a_start_clears_it() {
    let with = |action: &str, signal: Option<&str>| {
        let mut e = event("container", "id-web", "web", &[]);
        e.action = action.into();
        if let Some(s) = signal {
            e.attributes.insert("signal".into(), s.into());
        }
        lifecycle(&e)
    };
    let stopping = Some(Lifecycle::Stopping("id-web".into()));
    assert_eq!(with("die", None), stopping);
    assert_eq!(with("kill", Some("15")), stopping);
    assert_eq!(with("kill", Some("9")), stopping);
    // A reload signal is not a stop.
    assert_eq!(with("kill", Some("1")), None);
    assert_eq!(with("destroy", None), None);
    assert_eq!(
        with("start", None),
        Some(Lifecycle::Started("id-web".into()))
    );
    let mut net = event("network", "id-web", "web", &[]);
    net.action = "die".into();
    assert_eq!(lifecycle(&net), None);
    // Replayed from before the subscription: history, whatever it says.
    let mut old = event("container", "id-web", "web", &[]);
    old.action = "die".into();
    old.replayed = true;
    assert_eq!(lifecycle(&old), None);
}

#[tokio::test(start_paused = true)]
async fn a_container_stopping_ends_the_quiet_period_at_once() {
    let (tx, mut rx) = mpsc::channel(64);
    let mut die = event("container", "id-web", "web", &[]);
    die.action = "die".into();
    let _feeder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx.send(Wake::Connected).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx.send(Wake::Event(die)).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx
    });
    let start = tokio::time::Instant::now();
    let (_, lives) = debounce(
        &mut rx,
        Duration::from_millis(400),
        Duration::from_secs(5),
        |_| true,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(lives, [Lifecycle::Stopping("id-web".into())]);
}

#[test]
fn only_events_about_our_containers_wake_the_loop() {
    let watched: BTreeSet<String> = ["web".to_owned(), "id-web".to_owned()].into();
    let labelled = event("container", "id-new", "new", &[("auth.protect", "true")]);
    assert!(is_relevant(&labelled, "auth", &watched));
    let swag = event("container", "id-s", "s", &[("swag", "enable")]);
    assert!(is_relevant(&swag, "auth", &watched));
    let gone = event("container", "id-web", "web", &[]);
    assert!(is_relevant(&gone, "auth", &watched));
    let unrelated = event(
        "container",
        "id-x",
        "x",
        &[("authority", "1"), ("image", "y")],
    );
    assert!(!is_relevant(&unrelated, "auth", &watched));
    let net = event("network", "n1", "net", &[("container", "id-web")]);
    assert!(is_relevant(&net, "auth", &watched));
    let other_net = event("network", "n1", "net", &[("container", "id-x")]);
    assert!(!is_relevant(&other_net, "auth", &watched));
    // A task of a published service (its container has none of our labels), a service event.
    let task = event(
        "container",
        "id-t",
        "web.1.abc",
        &[("com.docker.swarm.service.name", "web")],
    );
    assert!(is_relevant(&task, "auth", &watched));
    let other_task = event(
        "container",
        "id-u",
        "db.1.abc",
        &[("com.docker.swarm.service.name", "db")],
    );
    assert!(!is_relevant(&other_task, "auth", &watched));
    let service = event("service", "svc", "anything", &[]);
    assert!(is_relevant(&service, "auth", &watched));
}

#[test]
fn lone_events_get_the_short_quiet_period_bursts_the_long_one() {
    let s = Settings::default();
    assert_eq!(quiet_period(&s, None), s.debounce);
    assert_eq!(quiet_period(&s, Some(Duration::from_secs(5))), s.debounce);
    assert_eq!(
        quiet_period(&s, Some(Duration::from_millis(250))),
        s.debounce_burst
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_of_events_is_gathered_until_quiet_or_the_cap() {
    let (tx, mut rx) = mpsc::channel(64);
    let feeder = tokio::spawn(async move {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send(Wake::Connected).await;
        }
        tx
    });
    let start = tokio::time::Instant::now();
    let (last, _) = debounce(
        &mut rx,
        Duration::from_millis(300),
        Duration::from_secs(10),
        |_| true,
    )
    .await;
    // Five events 200 ms apart, then 300 ms of quiet: one wait of ~1.3 s, not five.
    assert_eq!(last - start, Duration::from_millis(1000));
    assert_eq!(start.elapsed(), Duration::from_millis(1300));
    let _tx = feeder.await;
    // A stream that never goes quiet is cut at the cap.
    let (tx, mut rx) = mpsc::channel(64);
    let _feeder = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if tx.send(Wake::Connected).await.is_err() {
                break;
            }
        }
    });
    let start = tokio::time::Instant::now();
    debounce(
        &mut rx,
        Duration::from_millis(100),
        Duration::from_secs(2),
        |_| true,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

/// Waits for the pump to say the subscription is in place; returns how long that took.
async fn connected(rx: &mut mpsc::Receiver<Wake>) -> Duration {
    let start = tokio::time::Instant::now();
    loop {
        match rx.recv().await {
            Some(Wake::Connected) => return start.elapsed(),
            Some(Wake::Event(_)) => {}
            None => panic!("the pump ended"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_local_engine_back_after_a_long_absence_is_followed_within_two_seconds() {
    use crate::edge::docker::fake::FakeEngine;
    let engine = std::sync::Arc::new(FakeEngine::default());
    let (tx, mut rx) = mpsc::channel(64);
    let logs = super::super::test_log::logged(async {
        engine.set_down(true);
        let pump = tokio::spawn(pump_events(engine.clone(), tx));
        // Away for 100 s: a doubling backoff would have grown to its 30 s cap by now.
        tokio::time::sleep(Duration::from_secs(100)).await;
        engine.set_down(false);
        let took = connected(&mut rx).await;
        assert!(took <= Duration::from_secs(2), "followed after {took:?}");
        engine.set_down(true);
        tokio::time::sleep(Duration::from_secs(100)).await;
        engine.set_down(false);
        let took = connected(&mut rx).await;
        assert!(took <= Duration::from_secs(2), "followed after {took:?}");
        pump.abort();
    })
    .await;
    // The first failure is a start that failed, not a loss.
    let first = logs.lines().next().unwrap_or_default();
    assert!(
        first.contains("cannot follow the Docker engine's events"),
        "{logs}"
    );
    assert!(
        logs.contains("connected to the Docker engine; resyncing"),
        "{logs}"
    );
    assert_eq!(
        logs.matches("lost the Docker engine's event stream")
            .count(),
        1,
        "{logs}"
    );
    assert!(
        logs.contains("reconnected to the Docker engine; resyncing"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_failing_pass_is_warned_once_retried_with_backoff_and_its_recovery_said_once() {
    use crate::edge::docker::EngineError;
    use crate::runtime::policy::{Action, ErrorPolicy};
    let mut policy = ErrorPolicy::new(retry_backoff(RETRY_AT_MOST));
    let gone = || {
        Err(super::super::ReconcileError::Docker(
            EngineError::Transport("reset".into()),
        ))
    };
    let mut delays = Vec::new();
    let logs = crate::reconcile::test_log::logged(async {
        for _ in 0..4 {
            delays.push(next_due(gone(), &mut policy));
        }
        next_due(Ok(super::super::PassReport::default()), &mut policy);
        next_due(Ok(super::super::PassReport::default()), &mut policy);
    })
    .await;
    let ms = Duration::from_millis;
    assert_eq!(
        delays,
        [
            Action::Requeue(ms(500)),
            Action::Requeue(ms(1000)),
            Action::Requeue(ms(2000)),
            Action::Requeue(ms(4000))
        ]
    );
    assert_eq!(logs.matches("pass failed").count(), 1, "{logs}");
    assert_eq!(logs.matches("a pass succeeded again").count(), 1, "{logs}");
}

#[test]
fn a_pass_that_could_not_make_a_change_is_not_a_good_pass_for_health() {
    let mut report = super::super::PassReport::default();
    assert!(pass_health(&Ok(report.clone())).is_ok());
    report.failed = 2;
    let e = pass_health(&Ok(report)).expect_err("not healthy");
    assert!(e.contains("2 change(s) could not be made"), "{e}");
}

#[tokio::test]
async fn the_first_pass_is_confirmed_even_when_nothing_is_labelled() {
    let mut report = super::super::PassReport {
        workloads: 3,
        ..Default::default()
    };
    let mut confirmed = false;
    let logs = crate::reconcile::test_log::logged(async {
        confirm_first_pass(&Ok(report.clone()), "auth", &mut confirmed);
        confirm_first_pass(&Ok(report.clone()), "auth", &mut confirmed);
    })
    .await;
    assert_eq!(logs.matches("first pass done").count(), 1, "{logs}");
    assert!(
        logs.contains("watching 3 running container(s), none labelled for gatehouse (label one with auth.protect=true"),
        "{logs}"
    );
    report.desired.rejected.push(crate::plan::Rejection {
        container: "bad".into(),
        reason: "bad port".into(),
        wants_protection: false,
        keep_last_good: false,
    });
    let logs = crate::reconcile::test_log::logged(async {
        confirm_first_pass(&Ok(report), "auth", &mut false);
    })
    .await;
    assert!(logs.contains("0 app(s) published, 1 rejected"), "{logs}");
}
