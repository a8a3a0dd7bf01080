//! Real Docker engine helpers: a test image built without a registry, unique names, cleanup that
//! runs even when a test fails, and gatehouse started as a child process.
//!
//! Tests that use this are named `docker_*`. They fail loudly when the engine is missing (never
//! pass silently).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The test image: `FROM scratch` plus Debian's busybox-static, exposing 8080 and serving `/www`
/// with busybox httpd.
pub const IMAGE: &str = "gatehouse-test-busybox:1";

fn docker(args: &[&str]) -> Output {
    // GATEHOUSE_TEST_SLOW_DOCKER_MS=N delays every docker CLI call of the tests by N ms: a slow
    // engine on demand, to check that the tests' deadlines hold (see SLOWDOWN).
    if let Some(ms) = std::env::var("GATEHOUSE_TEST_SLOW_DOCKER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the docker CLI ({e}): these tests need Docker Engine")
        })
}

/// Runs `docker <args>` and returns stdout, panicking with stderr on failure (and saying so when
/// the engine itself is broken rather than the test).
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        panic!(
            "docker {} failed: {}{}",
            args.join(" "),
            stderr.trim(),
            engine_trouble(&stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A paragraph for an engine error that is the machine's fault, not the test's: the bridge
/// `docker0` gone, address pools exhausted, iptables or the daemon failing. Empty otherwise.
pub fn engine_trouble(stderr: &str) -> String {
    const BROKEN: &[(&str, &str)] = &[
        ("docker0", "the engine's default bridge docker0 is gone"),
        (
            "non-overlapping IPv4 address pool",
            "the engine's default address pools are exhausted (too many networks on this engine)",
        ),
        ("iptables", "the engine cannot program iptables"),
        (
            "Cannot connect to the Docker daemon",
            "the Docker daemon is not running",
        ),
        ("no space left on device", "the engine's disk is full"),
    ];
    BROKEN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| {
            format!(
                "\nTHE DOCKER ENGINE ITSELF IS BROKEN on this machine: {why}. This is not a \
                 gatehouse failure: repair the engine (e.g. `systemctl restart docker`, \
                 `docker network prune`) and run the tests again."
            )
        })
        .unwrap_or_default()
}

/// Panics unless the engine answers, and builds the test image once per test binary.
pub fn require_docker() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let out = docker(&["version", "--format", "{{.Server.Version}}"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "Docker Engine is not reachable: {}{}",
            stderr.trim(),
            engine_trouble(&stderr)
        );
        build_image();
    });
}

fn build_image() {
    if docker(&["image", "inspect", IMAGE]).status.success() {
        return;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("busybox-static is not installed (apt-get install busybox-static)");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(busybox, dir.path().join("busybox")).expect("copy busybox");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN mkdir -p /www && echo hello-from-app > /www/index.html\nEXPOSE 8080\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
    )
    .expect("write Dockerfile");
    let dir_str = dir.path().to_str().expect("utf-8 temp path");
    docker_ok(&["build", "-q", "-t", IMAGE, dir_str]);
}

/// A test's own corner of the engine: every container and network it makes carries its unique
/// prefix and scope label, and all of them are removed when the scope is dropped (also on panic).
pub struct Scope {
    pub prefix: String,
    pub scope_label: String,
    networks: Mutex<Vec<String>>,
}

impl Scope {
    pub fn new(test: &str) -> Self {
        require_docker();
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "ghtest-{}-{}-{}",
            test,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            scope_label: format!("gatehouse.test.scope={prefix}"),
            prefix,
            networks: Mutex::new(Vec::new()),
        }
    }

    /// A unique name for a container or network.
    pub fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// A test container named `short` (made unique), carrying the scope label: configure it,
    /// then [`ContainerBuilder::start`] it. The test image unless [`ContainerBuilder::image`].
    pub fn container(&self, short: &str) -> ContainerBuilder<'_> {
        ContainerBuilder {
            scope: self,
            name: self.name(short),
            image: IMAGE.to_owned(),
            labels: Vec::new(),
            networks: Vec::new(),
            env: Vec::new(),
            options: Vec::new(),
        }
    }

    /// Shorthand for `container(short).labels(labels).start()`, kept for tests outside the
    /// Docker suite (tests/cli.rs). `extra` must be empty: use the builder for anything more.
    pub fn run(&self, short: &str, labels: &[(&str, &str)], extra: &[&str]) -> String {
        assert!(
            extra.is_empty(),
            "use scope.container({short:?}) for options"
        );
        self.container(short).labels(labels).start()
    }

    /// A SWAG stand-in (the test image) on a network of its own, as SWAG's compose stack puts
    /// it: returns the container's name and its network's.
    pub fn swag(&self) -> (String, String) {
        let net = self.network("swag_default");
        let swag = self.container("swag").network(&net).start();
        (swag, net)
    }

    /// A bridge network named `short` (made unique) with the scope label, on a /24 of the tests'
    /// own range (see [`TEST_SUBNETS`]), never from the engine's default pools.
    pub fn network(&self, short: &str) -> String {
        let name = self.name(short);
        create_network(&name, &[("--label", self.scope_label.as_str())]);
        self.networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    /// How long recreating a container takes on this machine now (`docker rm -f`, then create and
    /// start one with the same name), measured on a throwaway unlabelled container.
    pub fn time_recreate(&self) -> Duration {
        let probe = self.container("recreate-probe").start();
        let started = Instant::now();
        self.rm(&probe);
        self.container("recreate-probe").start();
        let took = started.elapsed();
        self.rm(&probe);
        took
    }

    pub fn rm(&self, name: &str) {
        docker_ok(&["rm", "-f", name]);
    }

    /// Environment for a gatehouse process confined to this scope.
    pub fn gatehouse_env(&self, swag_config: &Path) -> Vec<(String, String)> {
        vec![
            (
                "GATEHOUSE_SWAG_CONFIG".into(),
                swag_config.display().to_string(),
            ),
            ("GATEHOUSE_SCOPE_LABEL".into(), self.scope_label.clone()),
            ("PUID".into(), current_uid().to_string()),
            ("PGID".into(), current_gid().to_string()),
            // Parallel tests would all ask for the default port; a test that wants the status
            // page sets its own address after these.
            ("GATEHOUSE_LISTEN".into(), "off".into()),
        ]
    }
}

/// One test container, built up then started by [`ContainerBuilder::start`]: the only way the
/// tests start containers (SWAG stand-ins, apps, the gatehouse image), so the scope label and
/// cleanup are never forgotten.
#[must_use = "a container is started only by .start()"]
pub struct ContainerBuilder<'a> {
    scope: &'a Scope,
    name: String,
    image: String,
    labels: Vec<(String, String)>,
    networks: Vec<String>,
    env: Vec<(String, String)>,
    options: Vec<String>,
}

impl ContainerBuilder<'_> {
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn labels(mut self, labels: &[(&str, &str)]) -> Self {
        for (k, v) in labels {
            self = self.label(k, v);
        }
        self
    }

    /// Attaches the container to `network` (the first one at creation, the others before it
    /// starts). Without any, the container is on the engine's default bridge.
    pub fn network(mut self, network: &str) -> Self {
        self.networks.push(network.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Any other `docker create` option, e.g. `.option(["--group-add", "999"])`.
    pub fn option<const N: usize>(mut self, words: [&str; N]) -> Self {
        self.options.extend(words.iter().map(|w| (*w).to_owned()));
        self
    }

    pub fn image(mut self, image: &str) -> Self {
        self.image = image.to_owned();
        self
    }

    /// `docker create`, `docker network connect` for each further network, `docker start`.
    /// Returns the container's name.
    pub fn start(self) -> String {
        let mut args: Vec<String> = vec!["create".into(), "--name".into(), self.name.clone()];
        args.extend(["--label".into(), self.scope.scope_label.clone()]);
        for (k, v) in &self.labels {
            args.extend(["--label".into(), format!("{k}={v}")]);
        }
        for (k, v) in &self.env {
            args.extend(["--env".into(), format!("{k}={v}")]);
        }
        if let Some(first) = self.networks.first() {
            args.extend(["--network".into(), first.clone()]);
        }
        args.extend(self.options);
        args.push(self.image);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        docker_ok(&refs);
        for net in self.networks.iter().skip(1) {
            docker_ok(&["network", "connect", net, &self.name]);
        }
        docker_ok(&["start", &self.name]);
        self.name
    }
}

/// The tests' own address range: each network they make gets a /24 of it, so they neither
/// depend on nor exhaust the engine's default pools. Another test run on the same engine (another
/// checkout) may hold some of them: a taken /24 is skipped.
pub const TEST_SUBNETS: &str = "10.231.0.0/16";

/// The next /24 of [`TEST_SUBNETS`] for this process: a process-wide counter, offset by the pid
/// so that test binaries running at the same time start apart. The engine may still hold it
/// (another run's network): retry with the next one while it answers "Pool overlaps".
pub fn next_test_subnet() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = (std::process::id() + NEXT.fetch_add(1, Ordering::Relaxed)) % 256;
    format!("10.231.{n}.0/24")
}

/// Creates network `name` with `options` on a free /24 of [`TEST_SUBNETS`] (see
/// [`next_test_subnet`]).
pub fn create_network(name: &str, options: &[(&str, &str)]) {
    let mut last_error = String::new();
    for _ in 0..256 {
        let subnet = next_test_subnet();
        let mut args = vec!["network", "create", "--subnet", &subnet];
        for (k, v) in options {
            args.extend([*k, *v]);
        }
        args.push(name);
        let out = docker(&args);
        if out.status.success() {
            return;
        }
        last_error = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if !last_error.contains("overlaps") {
            break;
        }
    }
    panic!(
        "cannot create network {name} on a /24 of {TEST_SUBNETS}: {last_error}{}",
        engine_trouble(&last_error)
    );
}

impl Drop for Scope {
    fn drop(&mut self) {
        let filter = format!("label={}", self.scope_label);
        let ids = docker(&["ps", "-aq", "--filter", &filter]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
        let nets = docker(&["network", "ls", "-q", "--filter", &filter]);
        for id in String::from_utf8_lossy(&nets.stdout).split_whitespace() {
            let _ = docker(&["network", "rm", id]);
        }
        for n in self
            .networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = docker(&["network", "rm", n]);
        }
    }
}

pub fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

pub fn current_gid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.gid())
        .unwrap_or(0)
}

/// A scratch SWAG `/config` with the reference tree's proxy-confs folder (samples included).
pub fn swag_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = reference_swag().join("config/nginx/proxy-confs");
    let dst = dir.path().join("nginx/proxy-confs");
    std::fs::create_dir_all(&dst).expect("mkdir");
    for e in std::fs::read_dir(&src).expect("reference proxy-confs") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy sample");
    }
    dir
}

/// `../shared/reference/swag` next to the repository.
pub fn reference_swag() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/swag");
    assert!(
        p.exists(),
        "missing {}: the shared reference tree must sit beside the repository",
        p.display()
    );
    p
}

/// gatehouse as a child process; killed when dropped.
pub struct Gatehouse {
    child: Child,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Gatehouse {
    pub fn start(args: &[&str], env: &[(String, String)]) -> Self {
        let logdir = tempfile::tempdir().expect("tempdir");
        let log = logdir.path().join("gatehouse.log");
        let file = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        // debug unless the test asks for another level
        if !env.iter().any(|(k, _)| k == "GATEHOUSE_LOG_LEVEL") {
            cmd.env("GATEHOUSE_LOG_LEVEL", "debug");
        }
        let child = cmd
            .args(args)
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start gatehouse");
        Self {
            child,
            log,
            _logdir: logdir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.logs()
    }
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `gatehouse <args>` to completion.
pub fn gatehouse_once(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .expect("run gatehouse")
}

/// The Docker tests must hold on a machine this many times slower than an idle one (engine calls,
/// process starts, gatehouse's passes).
pub const SLOWDOWN: u32 = 10;

/// What one engine call or one gatehouse pass takes on an idle machine, at most.
pub const IDLE_STEP: Duration = Duration::from_secs(1);

/// gatehouse's debounce ceiling (`GATEHOUSE_DEBOUNCE_MAX_MS`' default): in a burst of events a
/// pass may wait this long.
pub const DEBOUNCE_MAX: Duration = Duration::from_secs(5);

/// How far back a new event subscription replays (gatehouse's `EVENT_REPLAY_SECS`), at least:
/// the engine replays from the whole second 5 s before the subscription.
pub const EVENT_REPLAY: Duration = Duration::from_secs(5);

/// The longest gatehouse may take to act on an engine event (or to start and finish its first
/// pass): the debounce ceiling, then a few steps at [`SLOWDOWN`]× their idle time.
pub fn react() -> Duration {
    DEBOUNCE_MAX + IDLE_STEP * SLOWDOWN * 2
}

/// A deadline for something gatehouse does `setting` after an event (a removal grace, a resync
/// interval, a backoff): the setting itself plus [`react`].
pub fn after(setting: Duration) -> Duration {
    setting + react()
}

/// Polls `check` until it returns true or `limit` passes.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// `docker compose` (v2 plugin) if it answers, else Debian's `docker-compose`; panics when neither
/// is installed.
pub fn compose_cmd() -> Vec<String> {
    let works = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&["docker", "compose", "version"]) {
        vec!["docker".into(), "compose".into()]
    } else if works(&["docker-compose", "version"]) {
        vec!["docker-compose".into()]
    } else {
        panic!("no compose tool: install docker-compose (apt-get install docker-compose) or the compose plugin");
    }
}

pub fn env_with(scope: &Scope, cfg: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = scope.gatehouse_env(cfg);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// The networks a container is attached to, by name, sorted.
pub fn networks_of(container: &str) -> Vec<String> {
    let out = docker_ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        container,
    ]);
    let mut v: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    v.sort();
    v
}

pub fn on(container: &str, network: &str) -> bool {
    networks_of(container).iter().any(|n| n == network)
}

/// The body `from` gets for `GET http://<host>:8080/`, resolving `host` by name from inside `from`
/// (empty on failure). busybox `nc`, because the static busybox's `wget` crashes resolving names.
pub fn fetch(from: &str, host: &str) -> String {
    let out = Command::new("docker")
        .args([
            "exec",
            from,
            "sh",
            "-c",
            &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} 8080"),
        ])
        .output()
        .expect("docker exec");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.starts_with("HTTP/1.") {
        return String::new();
    }
    text.lines().last().unwrap_or_default().trim().to_owned()
}

/// Runs the compose tool on `file` as project `project`.
pub fn compose(project: &str, file: &Path, args: &[&str]) -> std::process::Output {
    let cmd = compose_cmd();
    Command::new(&cmd[0])
        .args(&cmd[1..])
        .args(["-p", project, "-f"])
        .arg(file)
        .args(args)
        .output()
        .expect("run the compose tool")
}

/// gatehouse's record of the attachments it made.
pub fn state_file(cfg: &Path) -> String {
    std::fs::read_to_string(cfg.join("gatehouse/networks.json")).unwrap_or_default()
}

/// The log lines that record a network change.
pub fn network_changes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains(" INFO attached ")
                || l.contains(" INFO detached ")
                || l.contains(" INFO created network")
        })
        .map(str::to_owned)
        .collect()
}

pub fn conf_exists(cfg: &Path, sub: &str) -> bool {
    cfg.join("nginx/proxy-confs")
        .join(format!("gatehouse.{sub}.subdomain.conf"))
        .exists()
}

/// The time since the Unix epoch, by this host's clock (the engine's, as it runs here).
pub fn unix_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
}

/// When, by the engine's own clock, `container` last had event `action` (`die`, `start`, ...)
/// since `since` (Unix time). Panics when the engine reports none.
pub fn event_time(container: &str, action: &str, since: Duration) -> Duration {
    let unix = |t: Duration| format!("{}.{:09}", t.as_secs(), t.subsec_nanos());
    let filter_container = format!("container={container}");
    let filter_event = format!("event={action}");
    let out = docker_ok(&[
        "events",
        "--since",
        &unix(since),
        "--until",
        &unix(unix_now()),
        "--filter",
        &filter_container,
        "--filter",
        &filter_event,
        "--format",
        "{{.TimeNano}}",
    ]);
    let nanos: u64 = out
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("the engine reports no {action} event for {container}: {out:?}"));
    Duration::from_nanos(nanos)
}
