//! An in-memory engine for unit tests: workloads and networks in a map, scripted refusals, a
//! switch that takes it away, and a log of the requests made.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::{
    Endpoint, Engine, EngineError, EngineFuture, EngineVersion, EventStream, Inspected,
    NetworkChange,
};
use crate::model::workload::{NetworkAttachment, Workload, WorkloadKind, LOCAL_HOST};

type Hook = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
struct State {
    workloads: Vec<Workload>,
    /// Network name → id.
    networks: BTreeMap<String, String>,
    /// Requests answered with this status and message, by operation (`connect`, `disconnect`,
    /// `create`, `list`).
    refuse: BTreeMap<&'static str, (u16, String)>,
    /// Every request fails as a socket that is gone.
    down: bool,
    calls: Vec<String>,
    /// Called with each request's log line before the fake answers it.
    hook: Option<Hook>,
    /// Connect requests are held (never answered) while set.
    hold_connects: bool,
    /// Held connects (network, container), carried out by [`FakeEngine::complete_held`] or,
    /// when `complete_on_connect` is set, just before the next connect is answered.
    held: Vec<(String, String)>,
    complete_on_connect: bool,
}

/// An engine that lives in memory.
pub(crate) struct FakeEngine {
    state: Mutex<State>,
    requests: AtomicU64,
    endpoint: Endpoint,
    /// Whether the engine is away, for the event streams open when it goes.
    away: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for FakeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEngine").finish_non_exhaustive()
    }
}

impl Default for FakeEngine {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            requests: AtomicU64::new(0),
            endpoint: Endpoint::Unix("/fake/docker.sock".into()),
            away: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl FakeEngine {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a container `name` (id `id-<name>`) with `labels`, on `networks` (which are
    /// created when new).
    pub fn run(&self, name: &str, labels: &[(&str, &str)], networks: &[&str]) {
        let mut s = self.state();
        let mut attached = BTreeMap::new();
        for n in networks {
            let id = network_id(&mut s, n);
            attached.insert((*n).to_owned(), NetworkAttachment { network_id: id });
        }
        s.workloads.retain(|w| w.name != name);
        s.workloads.push(Workload {
            host: LOCAL_HOST.to_owned(),
            kind: WorkloadKind::Container,
            id: format!("id-{name}"),
            name: name.to_owned(),
            image: "busybox".to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            exposed_tcp_ports: vec![80],
            networks: attached,
        });
    }

    /// Removes the container `name` (it is no longer listed).
    pub(crate) fn remove(&self, name: &str) {
        self.state().workloads.retain(|w| w.name != name);
    }

    /// Answers requests of `op` with `status` and `message` from now on (status 0: the
    /// connection drops, no answer).
    pub(crate) fn refuse(&self, op: &'static str, status: u16, message: &str) {
        self.state().refuse.insert(op, (status, message.to_owned()));
    }

    /// Takes the engine away (`true`) or brings it back.
    pub(crate) fn set_down(&self, down: bool) {
        self.state().down = down;
        self.away.send_replace(down);
    }

    /// The requests made so far, one line each (`connect <network> <container>`).
    pub(crate) fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Calls `f` with each request's line, before answering it.
    pub(crate) fn on_request(&self, f: impl Fn(&str) + Send + Sync + 'static) {
        self.state().hook = Some(Box::new(f));
    }

    /// Holds connect requests from now on (`true`): they are never answered, as for a process
    /// killed while waiting; the engine carries them out later ([`FakeEngine::complete_held`]).
    pub(crate) fn hold_connects(&self, hold: bool) {
        self.state().hold_connects = hold;
    }

    /// Carries out the held connect requests now.
    pub(crate) fn complete_held(&self) {
        let mut s = self.state();
        apply_held(&mut s);
    }

    /// Carries out the held connect requests just before the next connect is answered (after
    /// a listing that did not show them).
    pub(crate) fn complete_held_on_next_connect(&self) {
        self.state().complete_on_connect = true;
    }

    /// The networks `container` is attached to, by name.
    pub(crate) fn networks_of(&self, container: &str) -> Vec<String> {
        let s = self.state();
        s.workloads
            .iter()
            .find(|w| w.name == container)
            .map(|w| w.networks.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Logs the request; fails it when the engine is down or `op` is refused.
    fn begin(&self, op: &'static str, line: String) -> Result<MutexGuard<'_, State>, EngineError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state();
        if let Some(hook) = &s.hook {
            hook(&line);
        }
        s.calls.push(line);
        if s.down {
            return Err(EngineError::connect(
                &self.endpoint,
                std::io::ErrorKind::NotFound,
                "No such file or directory (os error 2)".into(),
            ));
        }
        if let Some((status, message)) = s.refuse.get(op) {
            if *status == 0 {
                // The answer is lost on the way (the request may have been carried out).
                return Err(EngineError::Transport(message.clone()));
            }
            return Err(EngineError::Api {
                status: *status,
                message: message.clone(),
            });
        }
        Ok(s)
    }
}

fn apply_held(s: &mut State) {
    for (network_key, container) in std::mem::take(&mut s.held) {
        let Some((name, id)) = network(s, &network_key) else {
            continue;
        };
        if let Some(w) = workload(s, &container) {
            w.networks
                .insert(name, NetworkAttachment { network_id: id });
        }
    }
}

fn network_id(s: &mut State, name: &str) -> String {
    s.networks
        .entry(name.to_owned())
        .or_insert_with(|| format!("net-{name}"))
        .clone()
}

/// The network named or numbered `key`: (name, id).
fn network(s: &State, key: &str) -> Option<(String, String)> {
    s.networks
        .iter()
        .find(|(name, id)| *name == key || *id == key)
        .map(|(n, i)| (n.clone(), i.clone()))
}

fn workload<'s>(s: &'s mut State, key: &str) -> Option<&'s mut Workload> {
    s.workloads
        .iter_mut()
        .find(|w| w.id == key || w.name == key)
}

fn not_found(what: &str) -> EngineError {
    EngineError::Api {
        status: 404,
        message: format!("No such {what}"),
    }
}

impl Engine for FakeEngine {
    fn host(&self) -> &str {
        LOCAL_HOST
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn engine_time(&self) -> EngineFuture<'_, Option<i64>> {
        let r = self.begin("time", "time".into()).map(|_| None);
        Box::pin(async move { r })
    }

    fn running_workloads(&self) -> EngineFuture<'_, Vec<Workload>> {
        let r = self
            .begin("list", "list".into())
            .map(|s| s.workloads.clone());
        Box::pin(async move { r })
    }

    fn events(&self, _since: Option<i64>, _live_from: Option<i64>) -> EventStream {
        match self.begin("events", "events".into()) {
            // Open until the engine goes away, like a real subscription.
            Ok(_) => {
                let mut away = self.away.subscribe();
                Box::pin(futures_util::stream::once(async move {
                    let _ = away.wait_for(|gone| *gone).await;
                    Err(EngineError::Transport("the engine went away".into()))
                }))
            }
            Err(e) => Box::pin(futures_util::stream::iter([Err(e)])),
        }
    }

    fn connect_network<'a>(
        &'a self,
        network_key: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange> {
        let r = self
            .begin("connect", format!("connect {network_key} {container}"))
            .and_then(|mut s| {
                if s.hold_connects {
                    s.held.push((network_key.to_owned(), container.to_owned()));
                    return Ok(None);
                }
                if std::mem::take(&mut s.complete_on_connect) {
                    apply_held(&mut s);
                }
                let (name, id) = network(&s, network_key).ok_or_else(|| not_found("network"))?;
                let w = workload(&mut s, container).ok_or_else(|| not_found("container"))?;
                if w.networks.contains_key(&name) {
                    return Ok(Some(NetworkChange::AlreadyDone));
                }
                w.networks
                    .insert(name, NetworkAttachment { network_id: id });
                Ok(Some(NetworkChange::Done))
            });
        Box::pin(async move {
            match r {
                Ok(None) => std::future::pending().await,
                Ok(Some(change)) => Ok(change),
                Err(e) => Err(e),
            }
        })
    }

    fn disconnect_network<'a>(
        &'a self,
        network_key: &'a str,
        container: &'a str,
    ) -> EngineFuture<'a, NetworkChange> {
        let r = self
            .begin(
                "disconnect",
                format!("disconnect {network_key} {container}"),
            )
            .and_then(|mut s| {
                let (name, _) = network(&s, network_key).ok_or_else(|| not_found("network"))?;
                let w = workload(&mut s, container).ok_or_else(|| not_found("container"))?;
                Ok(match w.networks.remove(&name) {
                    Some(_) => NetworkChange::Done,
                    None => NetworkChange::AlreadyDone,
                })
            });
        Box::pin(async move { r })
    }

    fn find_network<'a>(&'a self, name: &'a str) -> EngineFuture<'a, Option<String>> {
        let r = self
            .begin("inspect", format!("inspect {name}"))
            .map(|s| network(&s, name).map(|(_, id)| id));
        Box::pin(async move { r })
    }

    fn ensure_network<'a>(
        &'a self,
        name: &'a str,
        _labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, (String, bool)> {
        let r = self.begin("create", format!("ensure {name}")).map(|mut s| {
            let created = !s.networks.contains_key(name);
            (network_id(&mut s, name), created)
        });
        Box::pin(async move { r })
    }

    fn version(&self) -> EngineFuture<'_, EngineVersion> {
        let r = self
            .begin("version", "version".into())
            .map(|_| EngineVersion {
                version: "27.5.1".into(),
                api_version: "1.47".into(),
            });
        Box::pin(async move { r })
    }

    /// No environment (the fake keeps none); one made-up address per network.
    fn inspect<'a>(
        &'a self,
        container: &'a str,
        _wanted: &'a [&'a str],
    ) -> EngineFuture<'a, Option<Inspected>> {
        let r = self
            .begin("inspect", format!("inspect container {container}"))
            .map(|mut s| {
                workload(&mut s, container).map(|w| Inspected {
                    name: w.name.clone(),
                    env: BTreeMap::new(),
                    addresses: w
                        .networks
                        .keys()
                        .enumerate()
                        .map(|(i, n)| (n.clone(), format!("10.99.{i}.2")))
                        .collect(),
                })
            });
        Box::pin(async move { r })
    }

    fn restart_container<'a>(&'a self, container: &'a str) -> EngineFuture<'a, ()> {
        let r = self
            .begin("restart", format!("restart {container}"))
            .map(drop);
        Box::pin(async move { r })
    }
}
