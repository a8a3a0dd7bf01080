//! A Docker Swarm of its own for a test: a second `dockerd` with its own socket, data root, exec
//! root and bridge, switched into swarm mode, so the machine's engine and the other tests are
//! never touched. Torn down when dropped, also on panic: the daemon stopped (its tasks with it),
//! its bridges deleted, its folder removed.
//!
//! How it is started follows what works on the CI machine: an empty config file, its own bridge
//! (never `--bridge=none`: dockerd would then delete the host's `docker0`), no iptables, no
//! masquerading, no forwarding (it would rewrite the main engine's chains); `docker_gwbridge`
//! created by the test with a bridge name of its own before `swarm init`. Addresses come from
//! 10.233.0.0/16 (bridges) and 10.234.0.0/16 (the swarm's overlay pool). The kernel may lack
//! IPVS: a service's virtual IP then does not route, while the service name with
//! `endpoint_mode: dnsrr`, `tasks.<service>` and a task's own address do.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::docker::{docker_ok, require_docker, wait_for, IMAGE};

/// A running swarm of one manager node.
pub struct Swarm {
    pub dir: PathBuf,
    slot: u32,
    bridge_networks: AtomicU32,
    /// Bridges of the test's bridge networks: dockerd leaves them behind when it stops.
    network_bridges: Mutex<Vec<String>>,
    socket: PathBuf,
    bridges: Vec<String>,
    dockerd: Option<Child>,
    /// A worker node, when asked for ([`Swarm::with_worker`]).
    worker: Option<Worker>,
    /// One swarm at a time per test binary: two swarms side by side left the second one's
    /// containers without a working embedded DNS (127.0.0.11 not answering) on the CI machine.
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Swarm {
    /// Starts the engine, loads the test image into it and runs `swarm init`.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Like [`Swarm::start`], plus a worker: a third `dockerd` in a network namespace of its own
    /// (a veth pair to the host), the test image loaded, joined as a worker. The manager then
    /// advertises the host's end of the veth pair.
    pub fn with_worker() -> Self {
        Self::start_with(true)
    }

    fn start_with(with_worker: bool) -> Self {
        static ONE: Mutex<()> = Mutex::new(());
        let one_at_a_time = ONE.lock().unwrap_or_else(|e| e.into_inner());
        require_docker();
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Per process and per swarm: bridges, subnets and ports never meet another swarm's.
        // Eight /24s each: the engine's bridge, docker_gwbridge, two for the test's own bridge
        // networks ([`Swarm::bridge_network`]), the worker's veth pair, bridge and gwbridge.
        let slot = (pid.wrapping_mul(8).wrapping_add(n * 8)) % 248;
        let dir = PathBuf::from(format!("/tmp/gh-swarm-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("swarm dir");
        let bridge = format!("ghsw{}{n}b", pid % 100_000);
        let gw_bridge = format!("ghsw{}{n}g", pid % 100_000);
        let mut swarm = Self {
            slot,
            bridge_networks: AtomicU32::new(0),
            network_bridges: Mutex::new(Vec::new()),
            socket: dir.join("docker.sock"),
            dir,
            bridges: vec![bridge.clone(), gw_bridge.clone()],
            dockerd: None,
            worker: None,
            _one_at_a_time: one_at_a_time,
        };
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("10.233.{slot}.1/24"),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        swarm.dockerd = Some(swarm.spawn_dockerd(&bridge));
        let up = wait_for(Duration::from_secs(60), || {
            swarm.docker(&["version"]).status.success()
        });
        assert!(
            up,
            "the second dockerd did not answer:\n{}",
            swarm.daemon_log()
        );
        gwbridge(
            &swarm.socket,
            &gw_bridge,
            &format!("10.233.{}.0/24", slot + 1),
        );
        swarm.load_image();
        let port = 24_000 + slot * 2;
        let tag = format!("ghsw{}{n}", pid % 100_000);
        let host_ip = if with_worker {
            swarm.worker = Some(Worker::link(&tag, slot, &swarm.dir));
            format!("10.233.{}.1", slot + 4)
        } else {
            "127.0.0.1".to_owned()
        };
        let addr = format!("{host_ip}:{port}");
        swarm.ok(&[
            "swarm",
            "init",
            "--advertise-addr",
            &addr,
            "--listen-addr",
            &addr,
            "--data-path-port",
            &(port + 1).to_string(),
            "--default-addr-pool",
            "10.234.0.0/16",
        ]);
        if let Some(w) = swarm.worker.as_mut() {
            let token = {
                let out = cli(&swarm.socket, &["swarm", "join-token", "-q", "worker"]);
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            };
            w.start(&tag, slot, &addr, &token, port);
        }
        swarm
    }

    /// `docker -H <the worker> <args>` (panics without a worker).
    pub fn worker_docker(&self, args: &[&str]) -> Output {
        let w = self.worker.as_ref().expect("a swarm with a worker");
        cli(&w.socket, args)
    }

    /// `DOCKER_HOST` for the worker (panics without one).
    pub fn worker_host(&self) -> String {
        let w = self.worker.as_ref().expect("a swarm with a worker");
        format!("unix://{}", w.socket.display())
    }

    fn spawn_dockerd(&self, bridge: &str) -> Child {
        spawn_dockerd(&self.dir, &self.socket, bridge, None)
    }

    /// `docker save | docker load`: the main engine's test image, into this engine.
    fn load_image(&self) {
        load_image(&self.dir, &self.socket);
    }

    /// Creates a bridge network `name` on this engine with a subnet of its own (two at most).
    pub fn bridge_network(&self, name: &str) {
        let k = self.bridge_networks.fetch_add(1, Ordering::Relaxed);
        assert!(k < 2, "a test swarm has room for two bridge networks");
        let bridge = format!("{}n{k}", &self.bridges[0][..self.bridges[0].len() - 1]);
        self.network_bridges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(bridge.clone());
        self.ok(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &format!("10.233.{}.0/24", self.slot + 2 + k),
            "-o",
            &format!("com.docker.network.bridge.name={bridge}"),
            name,
        ]);
    }

    /// `DOCKER_HOST` for this engine.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `docker -H <this engine> <args>`.
    pub fn docker(&self, args: &[&str]) -> Output {
        cli(&self.socket, args)
    }

    /// Like [`Swarm::docker`], panicking with stderr (and the daemon's log) on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {} failed: {}\ndockerd log tail:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            self.daemon_log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The last lines of the daemon's log.
    pub fn daemon_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// How many of `service`'s tasks run.
    pub fn running_tasks(&self, service: &str) -> usize {
        let out = self.docker(&[
            "service",
            "ps",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.CurrentState}}",
            service,
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("Running"))
            .count()
    }

    /// Sends `request` to `host:port` with busybox `nc` from inside `container` and returns the
    /// answer (busybox `wget` crashes resolving names in these containers).
    pub fn nc(&self, container: &str, host: &str, port: u16, request: &str) -> String {
        let script = format!("printf '{request}' | nc -w 3 {host} {port}");
        let out = self.docker(&["exec", container, "sh", "-c", &script]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        drop(self.worker.take());
        let _ = self.docker(&["swarm", "leave", "--force"]);
        if let Some(mut child) = self.dockerd.take() {
            // SIGTERM: dockerd stops its containers and its containerd, then exits.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let ended = wait_for(Duration::from_secs(30), || {
                child.try_wait().ok().flatten().is_some()
            });
            if !ended {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // A containerd left behind by a killed daemon.
        kill_pidfile(&self.dir.join("exec/containerd/containerd.pid"));
        unmount_under(&self.dir);
        let theirs = self
            .network_bridges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for b in self.bridges.iter().chain(theirs.iter()) {
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip ({e}): install iproute2"));
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn kill_pidfile(path: &Path) {
    if let Some(pid) = std::fs::read_to_string(path)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    }
}

/// Unmounts whatever the daemon left mounted under `dir` (network namespaces), deepest first.
fn unmount_under(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = Command::new("umount").args(["-l", p]).output();
    }
}

/// `docker -H unix://<socket> <args>`.
fn cli(socket: &Path, args: &[&str]) -> Output {
    Command::new("docker")
        .arg("-H")
        .arg(format!("unix://{}", socket.display()))
        .args(args)
        .output()
        .expect("run the docker CLI")
}

fn cli_ok(socket: &Path, args: &[&str]) -> String {
    let out = cli(socket, args);
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A `dockerd` with everything of its own under `dir`, on `bridge`; in the network namespace
/// `netns` when given (entered with `nsenter --net` only: `ip netns exec` would also remount
/// `/sys`, and dockerd then finds no cgroups).
fn spawn_dockerd(dir: &Path, socket: &Path, bridge: &str, netns: Option<&str>) -> Child {
    let config = dir.join("daemon.json");
    std::fs::write(&config, "{}").expect("daemon.json");
    let log = std::fs::File::create(dir.join("dockerd.log")).expect("dockerd.log");
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/var/run/netns/{ns}")).arg("dockerd");
            c
        }
        None => Command::new("dockerd"),
    };
    cmd.arg("--config-file")
        .arg(&config)
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("docker.pid"))
        .args(["--storage-driver", "vfs", "--bridge", bridge])
        .args(["--iptables=false", "--ip-masq=false", "--ip-forward=false"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run dockerd ({e}): the swarm tests need it"))
}

/// `docker save | docker load`: the main engine's test image, into the engine at `socket`.
fn load_image(dir: &Path, socket: &Path) {
    let saved = dir.join("image.tar");
    docker_ok(&["save", "-o", saved.to_str().expect("utf-8"), IMAGE]);
    cli_ok(
        socket,
        &["load", "-q", "-i", saved.to_str().expect("utf-8")],
    );
    let _ = std::fs::remove_file(saved);
}

/// `docker_gwbridge` on the engine at `socket`, on a bridge named `bridge`, before `swarm init`
/// or `swarm join` would make one from the default pools.
fn gwbridge(socket: &Path, bridge: &str, subnet: &str) {
    cli_ok(
        socket,
        &[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            subnet,
            "-o",
            &format!("com.docker.network.bridge.name={bridge}"),
            "-o",
            "com.docker.network.bridge.enable_icc=false",
            "-o",
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "docker_gwbridge",
        ],
    );
}

/// The worker node: a network namespace linked to the host by a veth pair, and a `dockerd` in it.
struct Worker {
    dir: PathBuf,
    socket: PathBuf,
    netns: String,
    dockerd: Option<Child>,
}

impl Worker {
    /// The namespace and the veth pair (host end `10.233.<slot+4>.1`, worker end `.2`).
    fn link(tag: &str, slot: u32, swarm_dir: &Path) -> Self {
        let dir = swarm_dir.join("worker");
        std::fs::create_dir_all(&dir).expect("worker dir");
        let netns = format!("{tag}ns");
        let (host_end, ns_end) = (format!("{tag}h"), format!("{tag}v"));
        let w = Self {
            socket: dir.join("docker.sock"),
            dir,
            netns: netns.clone(),
            dockerd: None,
        };
        ip(&["netns", "add", &netns]);
        ip(&[
            "link", "add", &host_end, "type", "veth", "peer", "name", &ns_end,
        ]);
        ip(&["link", "set", &ns_end, "netns", &netns]);
        let net = slot + 4;
        ip(&[
            "addr",
            "add",
            &format!("10.233.{net}.1/30"),
            "dev",
            &host_end,
        ]);
        ip(&["link", "set", &host_end, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["-n", netns.as_str()];
            all.extend_from_slice(args);
            ip(&all);
        };
        inside(&["addr", "add", &format!("10.233.{net}.2/30"), "dev", &ns_end]);
        inside(&["link", "set", &ns_end, "up"]);
        inside(&["link", "set", "lo", "up"]);
        let bridge = format!("{tag}w");
        inside(&["link", "add", &bridge, "type", "bridge"]);
        inside(&[
            "addr",
            "add",
            &format!("10.233.{}.1/24", slot + 5),
            "dev",
            &bridge,
        ]);
        inside(&["link", "set", &bridge, "up"]);
        w
    }

    /// Starts the worker's engine, loads the test image and joins the swarm at `manager`.
    fn start(&mut self, tag: &str, slot: u32, manager: &str, token: &str, port: u32) {
        let bridge = format!("{tag}w");
        self.dockerd = Some(spawn_dockerd(
            &self.dir,
            &self.socket,
            &bridge,
            Some(&self.netns),
        ));
        let up = wait_for(Duration::from_secs(60), || {
            cli(&self.socket, &["version"]).status.success()
        });
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        assert!(up, "the worker's dockerd did not answer:\n{log}");
        let subnet = format!("10.233.{}.0/24", slot + 6);
        gwbridge(&self.socket, &format!("{tag}x"), &subnet);
        load_image(&self.dir, &self.socket);
        let addr = format!("10.233.{}.2:{port}", slot + 4);
        cli_ok(
            &self.socket,
            &[
                "swarm",
                "join",
                "--token",
                token,
                "--advertise-addr",
                &addr,
                "--listen-addr",
                &addr,
                manager,
            ],
        );
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = cli(&self.socket, &["swarm", "leave", "--force"]);
        if let Some(mut child) = self.dockerd.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let ended = wait_for(Duration::from_secs(30), || {
                child.try_wait().ok().flatten().is_some()
            });
            if !ended {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        kill_pidfile(&self.dir.join("exec/containerd/containerd.pid"));
        unmount_under(&self.dir);
        // Its veth pair, bridges and the rest of its links go with the namespace.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}
