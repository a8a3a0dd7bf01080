//! The Swarm step against the in-memory engine.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::swarm::{ServiceNetwork, SwarmRole, SwarmService};
use crate::reconcile::{Context, Mode, Reconciler};

fn web(labels: &[(&str, &str)], updating: bool) -> SwarmService {
    SwarmService {
        id: "svc-web".into(),
        name: "apps_web".into(),
        image: "busybox".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([(
                crate::model::swarm::STACK_LABEL.to_owned(),
                "apps".to_owned(),
            )])
            .collect::<BTreeMap<_, _>>(),
        networks: vec![ServiceNetwork {
            name: "apps_default".into(),
            id: "ovl-1".into(),
            attachable: true,
        }],
        ports: Vec::new(),
        updating,
    }
}

const LABELS: &[(&str, &str)] = &[("auth.expose", "true"), ("auth.port", "8080")];

fn conf(dir: &tempfile::TempDir) -> Option<String> {
    std::fs::read_to_string(
        dir.path()
            .join("nginx/proxy-confs/gatehouse.web.subdomain.conf"),
    )
    .ok()
}

#[tokio::test]
async fn a_manager_publishes_a_labelled_service_under_its_stack_name_and_removes_it_after_the_grace_period(
) {
    let (mut ctx, engine, dir) = Context::test();
    ctx.settings.remove_grace = Duration::from_millis(300);
    engine.set_swarm(SwarmRole::Manager);
    engine.deploy(web(LABELS, false), 1);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    let text = conf(&dir).expect("conf of the service");
    assert!(text.contains("server_name web.*;"), "{text}");
    assert!(text.contains("set $upstream_app apps_web;"), "{text}");
    // Scaled to 0: kept for the grace period, then removed.
    engine.deploy(web(LABELS, false), 0);
    let held = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(held.removed, 0);
    assert!(conf(&dir).is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let gone = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(gone.removed, 1);
    assert!(conf(&dir).is_none());
}

#[tokio::test]
async fn a_rolling_update_with_no_task_running_keeps_the_conf_past_the_grace_period() {
    let (mut ctx, engine, dir) = Context::test();
    ctx.settings.remove_grace = Duration::from_millis(100);
    engine.set_swarm(SwarmRole::Manager);
    engine.deploy(web(LABELS, false), 1);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    engine.deploy(web(LABELS, true), 0);
    rec.pass(Mode::Watch).await.expect("pass");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = rec.pass(Mode::Watch).await.expect("pass");
    assert_eq!(r.removed, 0);
    assert!(conf(&dir).is_some());
}

#[tokio::test]
async fn upstream_tasks_points_at_the_tasks_name() {
    let (ctx, engine, dir) = Context::test();
    engine.set_swarm(SwarmRole::Manager);
    let mut labels = LABELS.to_vec();
    labels.push(("auth.upstream", "tasks"));
    engine.deploy(web(&labels, false), 2);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    let text = conf(&dir).expect("conf");
    assert!(text.contains("set $upstream_app tasks.apps_web;"), "{text}");
}

#[tokio::test]
async fn a_worker_or_a_refusing_proxy_leaves_containers_published() {
    for refusal in ["worker", "proxy"] {
        let (ctx, engine, dir) = Context::test();
        engine.run("plain", &[("auth.expose", "true")], &["plain_net"]);
        engine.deploy(web(LABELS, false), 1);
        if refusal == "worker" {
            engine.set_swarm(SwarmRole::Worker);
        } else {
            engine.set_swarm(SwarmRole::Manager);
            engine.refuse("services", 403, "Forbidden");
        }
        let mut rec = Reconciler::new(ctx);
        let mut report = None;
        let logs = crate::reconcile::test_log::logged(async {
            report = Some(rec.pass(Mode::Watch).await.expect("pass"));
        })
        .await;
        let expected = if refusal == "worker" {
            "Swarm worker node"
        } else {
            "SERVICES=1, TASKS=1, NODES=1 and NETWORKS=1"
        };
        assert!(logs.contains(expected), "{refusal}: {logs}");
        assert!(logs.contains("carrying on with containers only"), "{logs}");
        assert!(conf(&dir).is_none(), "{refusal}");
        let plain = dir
            .path()
            .join("nginx/proxy-confs/gatehouse.plain.subdomain.conf");
        assert!(plain.exists(), "{refusal}");
        // Said once: the next pass does not ask again.
        let before = engine.calls().len();
        rec.pass(Mode::Watch).await.expect("pass");
        let asked: Vec<String> = engine.calls()[before..].to_vec();
        assert!(
            !asked.iter().any(|c| c == "services" || c == "info"),
            "{asked:?}"
        );
    }
}

#[tokio::test]
async fn swarm_off_asks_nothing_of_swarm() {
    let (mut ctx, engine, dir) = Context::test();
    ctx.settings.swarm = crate::config::SwarmSetting::Off;
    engine.set_swarm(SwarmRole::Manager);
    engine.deploy(web(LABELS, false), 1);
    let mut rec = Reconciler::new(ctx);
    rec.pass(Mode::Watch).await.expect("pass");
    assert!(conf(&dir).is_none());
    assert!(!engine
        .calls()
        .iter()
        .any(|c| c == "info" || c == "services"));
}

#[tokio::test]
async fn swarm_on_without_a_swarm_is_an_error_and_containers_carry_on() {
    let (mut ctx, engine, dir) = Context::test();
    ctx.settings.swarm = crate::config::SwarmSetting::On;
    engine.run("plain", &[("auth.expose", "true")], &["plain_net"]);
    let mut rec = Reconciler::new(ctx);
    let logs = crate::reconcile::test_log::logged(async {
        rec.pass(Mode::Watch).await.expect("pass");
    })
    .await;
    assert!(
        logs.contains("GATEHOUSE_SWARM=on, but the Docker engine is not in a swarm"),
        "{logs}"
    );
    assert!(dir
        .path()
        .join("nginx/proxy-confs/gatehouse.plain.subdomain.conf")
        .exists());
    assert!(!engine.calls().iter().any(|c| c == "services"));
}
