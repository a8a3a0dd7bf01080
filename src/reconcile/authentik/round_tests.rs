//! Provisioner rounds against the in-memory authentik (no HTTP).

use std::sync::Arc;

use tokio::sync::watch;

use super::*;
use crate::config::{DEFAULT_AUTHORIZATION_FLOW, DEFAULT_INVALIDATION_FLOW};
use crate::edge::authentik::memory::{MemoryApi, World};
use crate::labels::authentik::AppWant;
use crate::model::authentik::Group;
use crate::model::problem::ProblemKind;

fn settings() -> AuthentikSettings {
    AuthentikSettings {
        url: "http://authentik.invalid".into(),
        token: "unused".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: DEFAULT_AUTHORIZATION_FLOW.into(),
        invalidation_flow: DEFAULT_INVALIDATION_FLOW.into(),
        instance: Instance::unnamed(),
    }
}

fn want(slug: &str, groups: &[&str]) -> AppWant {
    AppWant {
        container: slug.into(),
        slug: slug.into(),
        name: slug.into(),
        group: None,
        icon: None,
        description: None,
        launch_url: None,
        external_host: format!("https://{slug}.example.com"),
        skip_path_regex: String::new(),
        allow_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        outpost: None,
        adopt: false,
        mfa: None,
    }
}

fn desired(wants: Vec<AppWant>) -> Desired {
    Desired {
        wants,
        ..Desired::default()
    }
}

fn round(prov: &mut Provisioner<MemoryApi>, d: &Desired) -> SyncReport {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(prov.sync(d, Duration::ZERO))
        .expect("round")
}

#[test]
fn a_round_provisions_an_app_and_the_next_writes_nothing() {
    let mut prov = Provisioner::with_api(MemoryApi::new(World::current()), &settings());
    let d = desired(vec![want("jf", &[])]);
    let r = round(&mut prov, &d);
    assert_eq!((r.writes, r.failed), (3, 0), "{r:?}");
    let w = prov.client().world();
    assert_eq!(w.providers.len(), 1);
    assert_eq!(w.providers[0].mode.as_deref(), Some("forward_single"));
    assert_eq!(w.applications[0].provider, Some(w.providers[0].pk));
    assert_eq!(w.outposts[0].providers, [w.providers[0].pk]);
    let again = round(&mut prov, &d);
    assert_eq!(again.writes, 0, "{again:?}");
    // version is read once; then flows x2, providers, applications, outposts
    assert_eq!(again.reads, 5, "{again:?}");
}

#[test]
fn a_changed_label_patches_the_provider_with_its_mode() {
    let mut prov = Provisioner::with_api(MemoryApi::new(World::current()), &settings());
    round(&mut prov, &desired(vec![want("jf", &[])]));
    let mut w = want("jf", &[]);
    w.skip_path_regex = "^/api(/|$)".into();
    let r = round(&mut prov, &desired(vec![w]));
    assert_eq!((r.writes, r.failed), (1, 0), "{r:?}");
    let p = &prov.client().world().providers[0];
    assert_eq!(p.skip_path_regex, "^/api(/|$)");
    assert_eq!(p.mode.as_deref(), Some("forward_single"));
}

#[test]
fn the_last_allow_groups_going_takes_its_binding_away() {
    let mut world = World::current();
    world.groups.push(Group {
        pk: "group-media".into(),
        name: "media".into(),
    });
    let mut prov = Provisioner::with_api(MemoryApi::new(world), &settings());
    round(&mut prov, &desired(vec![want("jf", &["media"])]));
    assert_eq!(prov.client().world().bindings.len(), 1);
    let r = round(&mut prov, &desired(vec![want("jf", &[])]));
    assert_eq!((r.writes, r.failed), (1, 0), "{r:?}");
    assert!(prov.client().world().bindings.is_empty());
    // The next round reads the bindings once more and finds none of gatehouse's left; from
    // then on they are not read while no app asks for groups.
    let check = round(&mut prov, &desired(vec![want("jf", &[])]));
    assert_eq!((check.reads, check.writes), (6, 0), "{check:?}");
    let quiet = round(&mut prov, &desired(vec![want("jf", &[])]));
    assert_eq!((quiet.reads, quiet.writes), (5, 0), "{quiet:?}");
}

#[test]
fn an_application_the_user_deleted_is_made_again_on_its_provider() {
    let mut prov = Provisioner::with_api(MemoryApi::new(World::current()), &settings());
    let d = desired(vec![want("jf", &[])]);
    round(&mut prov, &d);
    prov.client().with(|w| w.applications.clear());
    let r = round(&mut prov, &d);
    assert_eq!((r.writes, r.failed), (1, 0), "{r:?}");
    let w = prov.client().world();
    assert_eq!(w.applications[0].provider, Some(w.providers[0].pk));
}

#[test]
fn the_worker_waits_for_the_first_pass_and_catches_up_when_authentik_is_back() {
    let api = MemoryApi::new(World::current());
    api.with(|w| w.down = true);
    let prov = Provisioner::with_api(api.clone(), &settings());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = watch::channel(Arc::new(Desired::default()));
        let worker = tokio::spawn(run_worker(prov, rx, Duration::ZERO));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            api.reads_made(),
            0,
            "nothing is read before the first conf pass"
        );
        tx.send(Arc::new(desired(vec![want("jf", &[])]))).unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(api.reads_made() > 1, "retried with backoff");
        assert!(api.world().applications.is_empty());
        api.with(|w| w.down = false);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(api.world().applications.len(), 1);
        drop(tx);
        worker.await.unwrap();
    });
}

/// The log lines `f` writes (level and message), at debug level and above.
fn logged<R>(f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let r = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (r, text)
}

fn lines_with<'a>(log: &'a str, part: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(part)).collect()
}

#[test]
fn a_lasting_problem_is_warned_once_and_its_end_said_once() {
    let mut prov = Provisioner::with_api(MemoryApi::new(World::current()), &settings());
    let mut w = want("jf", &[]);
    w.outpost = Some("nope".into());
    let d = desired(vec![w]);
    let said = "container jf: authentik has no outpost named \"nope\"";
    let (_, log) = logged(|| round(&mut prov, &d));
    let warned = lines_with(&log, said);
    assert_eq!(warned.len(), 1, "{log}");
    assert!(warned[0].contains("WARN"), "{log}");
    assert_eq!(prov.problems().len(), 1);
    assert_eq!(prov.problems()[0].kind, ProblemKind::Warning);
    let (_, log) = logged(|| round(&mut prov, &d));
    assert!(lines_with(&log, said).is_empty(), "said once: {log}");
    let (_, log) = logged(|| round(&mut prov, &desired(vec![want("jf", &[])])));
    let cleared = lines_with(&log, &format!("no longer applies: {said}"));
    assert_eq!(cleared.len(), 1, "{log}");
    assert!(cleared[0].contains("INFO"), "{log}");
    assert!(prov.problems().is_empty());
}

#[test]
fn something_kept_is_said_at_info_and_its_end_is_not_said() {
    let mut prov = Provisioner::with_api(MemoryApi::new(World::current()), &settings());
    let d = desired(vec![want("jf", &[])]);
    round(&mut prov, &d);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let grace = Duration::from_secs(600);
    let (r, log) = logged(|| rt.block_on(prov.sync(&desired(Vec::new()), grace)));
    assert_eq!(r.expect("round").writes, 0);
    let kept = lines_with(&log, "application jf is no longer wanted");
    assert_eq!(kept.len(), 1, "{log}");
    assert!(kept[0].contains("INFO"), "{log}");
    assert_eq!(prov.problems()[0].kind, ProblemKind::Kept);
    let (_, log) = logged(|| round(&mut prov, &d));
    assert!(!log.contains("no longer applies"), "{log}");
}

#[test]
fn the_worker_publishes_how_each_round_ended() {
    let api = MemoryApi::new(World::current());
    api.with(|w| w.down = true);
    let prov = Provisioner::with_api(api.clone(), &settings());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = watch::channel(Arc::new(Desired::default()));
        let handle = spawn_worker(prov, rx, Duration::ZERO);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            *handle.status.borrow(),
            None,
            "no round before the first pass"
        );
        tx.send(Arc::new(desired(vec![want("jf", &[])]))).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let failed = handle.status.borrow().clone().expect("a round ended");
        let error = failed.error.expect("it failed");
        assert!(error.contains("cannot reach authentik"), "{error}");
        api.with(|w| w.down = false);
        tokio::time::sleep(Duration::from_secs(120)).await;
        let ok = handle.status.borrow().clone().expect("a round ended");
        assert_eq!(ok.error, None);
        assert!(ok.at >= failed.at);
        drop(tx);
        handle.task.await.unwrap();
    });
}
