//! The judging functions of the Docker, SWAG and network checks, on observed data made by hand.

use std::collections::BTreeMap;

use super::judge::*;
use super::{line, report};
use crate::edge::docker::{EngineVersion, Inspected};
use crate::model::check::CheckLevel;
use crate::model::workload::{NetworkAttachment, Workload};

fn w(name: &str, nets: &[&str]) -> Workload {
    Workload {
        name: name.into(),
        id: format!("{name}-id"),
        networks: nets
            .iter()
            .map(|n| ((*n).to_owned(), NetworkAttachment::default()))
            .collect(),
        ..Workload::default()
    }
}

fn swag_env(pairs: &[(&str, &str)]) -> Inspected {
    Inspected {
        name: "swag".into(),
        env: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        addresses: BTreeMap::new(),
    }
}

#[test]
fn the_engine_must_answer_and_speak_api_1_41() {
    let v = |api: &str| {
        Ok(EngineVersion {
            version: "27.5.1".into(),
            api_version: api.into(),
        })
    };
    let ok = docker_engine(&v("1.47"), "unix:///s");
    assert_eq!(ok.level, CheckLevel::Ok);
    assert!(ok.found.contains("API 1.47"), "{}", ok.found);
    assert_eq!(docker_engine(&v("1.41"), "x").level, CheckLevel::Ok);
    assert_eq!(docker_engine(&v("1.40"), "x").level, CheckLevel::Fail);
    assert_eq!(docker_engine(&v("1.9"), "x").level, CheckLevel::Fail);
    assert_eq!(docker_engine(&v("junk"), "x").level, CheckLevel::Fail);
    let down = docker_engine(&Err("connection refused".into()), "unix:///s");
    assert_eq!(down.level, CheckLevel::Fail);
    assert!(down.fix.as_deref().unwrap().contains("socket"));
}

#[test]
fn autoreload_must_be_exactly_true() {
    assert_eq!(
        swag_autoreload(&swag_env(&[("SWAG_AUTORELOAD", "true")])).level,
        CheckLevel::Ok
    );
    for env in [
        vec![],
        vec![("SWAG_AUTORELOAD", "false")],
        vec![("SWAG_AUTORELOAD", "yes")],
    ] {
        let c = swag_autoreload(&swag_env(&env));
        assert_eq!(c.level, CheckLevel::Fail, "{env:?}");
        assert!(c.fix.as_deref().unwrap().contains("SWAG_AUTORELOAD=true"));
    }
}

#[test]
fn swag_user_defaults_to_911_like_linuxserver_images() {
    let same = swag_user(&swag_env(&[("PUID", "1000"), ("PGID", "1000")]), 1000, 1000);
    assert_eq!(same.level, CheckLevel::Ok);
    let unset = swag_user(&swag_env(&[]), 1000, 1000);
    assert_eq!(unset.level, CheckLevel::Warn);
    assert!(unset.found.contains("911:911"), "{}", unset.found);
    assert!(unset.fix.as_deref().unwrap().contains("PUID=911"));
    assert_eq!(swag_user(&swag_env(&[]), 911, 911).level, CheckLevel::Ok);
    let gid = swag_user(&swag_env(&[("PUID", "1000"), ("PGID", "100")]), 1000, 1000);
    assert_eq!(gid.level, CheckLevel::Warn);
}

#[test]
fn the_config_folder_check_says_why_it_is_not_writable() {
    assert_eq!(
        swag_config("/config/nginx/proxy-confs", &Ok(())).level,
        CheckLevel::Ok
    );
    let c = swag_config(
        "/config/nginx/proxy-confs",
        &Err("Read-only file system".into()),
    );
    assert_eq!(c.level, CheckLevel::Fail);
    assert!(c.found.contains("Read-only"));
}

#[test]
fn upstreams_must_share_a_user_defined_network_with_swag() {
    let swag = w("swag", &["swag_default", "a_default"]);
    let all = vec![
        swag.clone(),
        w("a", &["a_default"]),
        w("b", &["b_default"]),
        w("c", &["bridge"]),
    ];
    let up = |c: &str, a: &str| Upstream {
        container: c.into(),
        address: a.into(),
    };
    let good = upstreams(&[up("a", "a")], &all, &swag, true);
    assert_eq!(good.level, CheckLevel::Ok, "{}", good.found);
    let bad = upstreams(
        &[up("a", "a"), up("b", "b"), up("c", "c")],
        &all,
        &swag,
        true,
    );
    assert_eq!(bad.level, CheckLevel::Fail);
    assert!(
        bad.found.contains("b (upstream b on b_default)"),
        "{}",
        bad.found
    );
    // The default bridge has no name resolution: sharing it does not count.
    assert!(
        bad.found.contains("c (upstream c on bridge)"),
        "{}",
        bad.found
    );
    assert!(!bad.found.contains("a (upstream"), "{}", bad.found);
    assert!(bad.fix.as_deref().unwrap().contains("gatehouse run"));
    let off = upstreams(&[up("b", "b")], &all, &swag, false);
    assert!(off
        .fix
        .as_deref()
        .unwrap()
        .contains("GATEHOUSE_NETWORK_MODE"));
    // An address that is no container (an IP, another host) is not judged.
    let ext = upstreams(&[up("a", "192.168.1.5")], &all, &swag, true);
    assert_eq!(ext.level, CheckLevel::Ok);
    assert!(ext.found.contains("not checked"), "{}", ext.found);
}

#[test]
fn a_compose_service_name_is_the_apps_own_container() {
    let swag = w("swag", &["proj_default"]);
    let mut app = w("proj-web-1", &["proj_default"]);
    app.labels
        .insert("com.docker.compose.service".into(), "web".into());
    let all = vec![swag.clone(), app];
    let up = Upstream {
        container: "proj-web-1".into(),
        address: "web".into(),
    };
    let c = upstreams(&[up], &all, &swag, true);
    assert_eq!(c.level, CheckLevel::Ok, "{}", c.found);
    assert!(!c.found.contains("not checked"), "{}", c.found);
}

#[test]
fn one_line_per_check_with_the_fix_when_not_ok() {
    let checks = vec![
        ok("a.b", "fine"),
        warn("c.d", "meh\nsecond line", "do this"),
        fail("e.f", "broken", "do that"),
    ];
    let text = report(&checks);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "ok   a.b: fine");
    assert_eq!(lines[1], "WARN c.d: meh second line; fix: do this");
    assert_eq!(lines[2], "FAIL e.f: broken; fix: do that");
    assert_eq!(line(&checks[0]), lines[0]);
}

#[test]
fn the_writability_probe_leaves_nothing_behind_and_says_why_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(super::observe::probe_writable(dir.path()), Ok(()));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let missing = super::observe::probe_writable(&dir.path().join("nope"));
    assert!(missing.unwrap_err().contains("No such file"));
}

#[test]
fn the_read_only_probe_writes_nothing_and_agrees_with_the_write_probe() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(super::observe::access_writable(dir.path()), Ok(()));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(super::observe::access_writable(&dir.path().join("nope")).is_err());
}

fn names(checks: &[crate::model::check::Check]) -> Vec<(&str, CheckLevel)> {
    checks.iter().map(|c| (c.name.as_str(), c.level)).collect()
}

#[tokio::test]
async fn the_whole_run_on_the_in_memory_engine_gives_one_check_each_in_order() {
    let (ctx, engine, _dir) = crate::reconcile::Context::test();
    engine.run("swag", &[], &["swag_default"]);
    engine.run("web", &[("auth.expose", "true")], &["web_default"]);
    let checks = super::run_checks(&ctx.settings, engine.as_ref()).await;
    assert_eq!(
        names(&checks),
        vec![
            ("docker.engine", CheckLevel::Ok),
            ("swag.config", CheckLevel::Ok),
            ("swag.container", CheckLevel::Ok),
            ("swag.autoreload", CheckLevel::Fail),
            ("swag.user", CheckLevel::Warn),
            ("swag.upstreams", CheckLevel::Fail),
            ("authentik", CheckLevel::Ok),
        ]
    );
    assert!(super::any_failed(&checks));
}

#[tokio::test]
async fn a_refused_listing_is_its_own_failure_not_a_missing_swag() {
    let (ctx, engine, _dir) = crate::reconcile::Context::test();
    engine.run("swag", &[], &["swag_default"]);
    engine.refuse("list", 403, "forbidden by the socket proxy");
    let checks = super::run_checks_read_only(&ctx.settings, engine.as_ref()).await;
    assert_eq!(
        names(&checks),
        vec![
            ("docker.engine", CheckLevel::Ok),
            ("swag.config", CheckLevel::Ok),
            ("docker.containers", CheckLevel::Fail),
            ("authentik", CheckLevel::Ok),
        ]
    );
    assert!(checks[2].found.contains("forbidden by the socket proxy"));
}

#[test]
fn swag_found_names_the_container_or_says_why_not() {
    let mut swag = w("swag", &["swag_default"]);
    swag.image = "lscr.io/linuxserver/swag:latest".into();
    let c = swag_found(Ok(&swag));
    assert_eq!(c.level, CheckLevel::Ok);
    assert!(c.found.contains("swag (lscr.io/linuxserver/swag:latest)"));
    let missing = swag_found(Err("no running container is named swag".into()));
    assert_eq!(missing.level, CheckLevel::Fail);
    assert!(missing.fix.unwrap().contains("GATEHOUSE_SWAG_CONTAINER"));
}
