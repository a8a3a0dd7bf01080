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
    /// One swarm at a time per test binary: two swarms side by side left the second one's
    /// containers without a working embedded DNS (127.0.0.11 not answering) on the CI machine.
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Swarm {
    /// Starts the engine, loads the test image into it and runs `swarm init`.
    pub fn start() -> Self {
        static ONE: Mutex<()> = Mutex::new(());
        let one_at_a_time = ONE.lock().unwrap_or_else(|e| e.into_inner());
        require_docker();
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Per process and per swarm: bridges, subnets and ports never meet another swarm's.
        // Four /24s each: the engine's bridge, docker_gwbridge, and two for the test's own
        // bridge networks ([`Swarm::bridge_network`]).
        let slot = (pid.wrapping_mul(4).wrapping_add(n * 4)) % 248;
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
        swarm.ok(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &format!("10.233.{}.0/24", slot + 1),
            "-o",
            &format!("com.docker.network.bridge.name={gw_bridge}"),
            "-o",
            "com.docker.network.bridge.enable_icc=false",
            "-o",
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "docker_gwbridge",
        ]);
        swarm.load_image();
        let port = 24_000 + slot * 2;
        let addr = format!("127.0.0.1:{port}");
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
        swarm
    }

    fn spawn_dockerd(&self, bridge: &str) -> Child {
        let config = self.dir.join("daemon.json");
        std::fs::write(&config, "{}").expect("daemon.json");
        let log = std::fs::File::create(self.dir.join("dockerd.log")).expect("dockerd.log");
        let d = &self.dir;
        Command::new("dockerd")
            .arg("--config-file")
            .arg(&config)
            .arg("--host")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["--storage-driver", "vfs", "--bridge", bridge])
            .args(["--iptables=false", "--ip-masq=false", "--ip-forward=false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dockerd ({e}): the swarm tests need it"))
    }

    /// `docker save | docker load`: the main engine's test image, into this engine.
    fn load_image(&self) {
        let saved = self.dir.join("image.tar");
        docker_ok(&["save", "-o", saved.to_str().expect("utf-8"), IMAGE]);
        self.ok(&["load", "-q", "-i", saved.to_str().expect("utf-8")]);
        let _ = std::fs::remove_file(saved);
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
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .output()
            .expect("run the docker CLI")
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
