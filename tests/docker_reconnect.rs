//! The engine goes away and comes back: confs already written stay, gatehouse says so, retries
//! with backoff, and resyncs on reconnect (picking up what changed meanwhile) without a restart.
//!
//! gatehouse reaches the engine through `DOCKER_HOST` pointing at a small Unix-socket relay in
//! this test, which is cut and restored to stand in for an engine restart.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::docker::{
    after, event_time, react, unix_now, wait_for, Gatehouse, Scope, EVENT_REPLAY,
};

/// Relays connections from `path` to the real engine socket until cut.
struct Relay {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<UnixStream>>>,
    accept: Option<thread::JoinHandle<()>>,
}

fn engine_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

impl Relay {
    fn start(path: &Path) -> Self {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind relay socket");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (stop2, open2) = (stop.clone(), open.clone());
        let accept = thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(engine) = UnixStream::connect(engine_socket()) else {
                            continue;
                        };
                        let mut o = open2.lock().unwrap_or_else(|e| e.into_inner());
                        o.push(client.try_clone().expect("clone"));
                        o.push(engine.try_clone().expect("clone"));
                        let (c2, e2) = (
                            client.try_clone().expect("clone"),
                            engine.try_clone().expect("clone"),
                        );
                        thread::spawn(move || pipe(client, engine));
                        thread::spawn(move || pipe(e2, c2));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            path: path.to_owned(),
            stop,
            open,
            accept: Some(accept),
        }
    }

    /// Cuts every connection and stops listening, like an engine going down.
    fn cut(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for s in self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn docker_engine_gone_and_back_keeps_confs_and_resyncs() {
    let scope = Scope::new("reconnect");
    let cfg = common::docker::swag_config();
    let sock_dir = tempfile::tempdir().expect("tempdir");
    let sock = sock_dir.path().join("engine.sock");
    let relay = Relay::start(&sock);
    let mut env = scope.gatehouse_env(cfg.path());
    env.push(("DOCKER_HOST".into(), format!("unix://{}", sock.display())));
    env.push(("GATEHOUSE_REMOVE_GRACE_SECS".into(), "1".into()));
    let gh = Gatehouse::start(&["run"], &env);
    let dir = cfg.path().join("nginx/proxy-confs");
    let first = scope
        .container("first")
        .label("auth.protect", "true")
        .start();
    let first_conf = dir.join(format!("gatehouse.{first}.subdomain.conf"));
    assert!(wait_for(react(), || first_conf.exists()), "{}", gh.logs());

    relay.cut();
    assert!(
        wait_for(react(), || gh
            .logs()
            .contains("lost the Docker engine's event stream")),
        "{}",
        gh.logs()
    );
    // While the engine is unreachable: a new app starts and the first one goes. Neither is seen,
    // and the first conf is not removed for want of a snapshot.
    let second = scope
        .container("second")
        .label("auth.expose", "true")
        .start();
    scope.rm(&first);
    thread::sleep(Duration::from_secs(2));
    assert!(
        first_conf.exists(),
        "a conf was removed while the engine was unreachable"
    );

    let _relay = Relay::start(&sock);
    let second_conf = dir.join(format!("gatehouse.{second}.subdomain.conf"));
    assert!(
        wait_for(after(Duration::from_secs(30)), || second_conf.exists()
            && !first_conf.exists()),
        "no resync after reconnect:\n{}",
        gh.logs()
    );
    let logs = gh.stop();
    if std::env::var_os("GH_TEST_SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    assert!(
        logs.contains("reconnected to the Docker engine; resyncing"),
        "{logs}"
    );
}

/// A subscription replays the engine's last seconds: a container that started just before
/// gatehouse subscribed (between a resync's list and the subscription reaching the engine) is
/// still seen. Without the replay the start event below never arrives.
#[test]
fn docker_events_replay_what_happened_just_before_subscribing() {
    use futures_util::StreamExt;
    use gatehouse::edge::docker::Engine as _;
    let scope = Scope::new("replay");
    let before_start = unix_now();
    let name = scope.container("app").label("auth.expose", "true").start();
    let (key, value) = scope
        .scope_label
        .split_once('=')
        .expect("scope label is key=value");
    let docker = gatehouse::edge::docker::BollardEngine::from_env(Some((key.into(), value.into())))
        .expect("docker client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (seen, since) = rt.block_on(async {
        let now = docker.engine_time().await.expect("engine time");
        let since = now.map(|t| t / 1_000_000_000 - 5);
        let mut events = Box::pin(docker.events(since, now));
        let seen = tokio::time::timeout(react(), async {
            while let Some(ev) = events.next().await {
                let ev = ev.expect("event");
                if ev.action == "start" && ev.name == name {
                    // History, not news: it must not count as the container's state now.
                    return ev.replayed;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        (seen, since)
    });
    // The precondition, by the engine's timestamps: the start fell inside the replay window.
    let started = event_time(&name, "start", before_start);
    let window_from = Duration::from_secs(since.and_then(|s| u64::try_from(s).ok()).unwrap_or(0));
    assert!(
        started >= window_from,
        "precondition: {name} started {:?} before the replay window opened (the subscription came \
         more than {EVENT_REPLAY:?} after the start): this machine is too slow for the test, not a \
         gatehouse failure",
        window_from.saturating_sub(started)
    );
    assert!(
        seen,
        "the start of {name} (before subscribing) was not replayed, or not marked as replayed"
    );
}
