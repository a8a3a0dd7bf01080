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
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the docker CLI ({e}): these tests need Docker Engine")
        })
}

/// Runs `docker <args>` and returns stdout, panicking with stderr on failure.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Panics unless the engine answers, and builds the test image once per test binary.
pub fn require_docker() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let out = docker(&["version", "--format", "{{.Server.Version}}"]);
        assert!(
            out.status.success(),
            "Docker Engine is not reachable: {}",
            String::from_utf8_lossy(&out.stderr)
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

    /// `docker run -d` of the test image with the scope label, the given labels and extra
    /// arguments (before the image). Returns the container name.
    pub fn run(&self, short: &str, labels: &[(&str, &str)], extra: &[&str]) -> String {
        let name = self.name(short);
        let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), name.clone()];
        args.push("--label".into());
        args.push(self.scope_label.clone());
        for (k, v) in labels {
            args.push("--label".into());
            args.push(format!("{k}={v}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(IMAGE.into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        docker_ok(&refs);
        name
    }

    /// A SWAG stand-in (the test image) on a network of its own, as SWAG's compose stack puts
    /// it: returns the container's name and its network's.
    pub fn swag(&self) -> (String, String) {
        let net = self.network("swag_default");
        let swag = self.run("swag", &[], &["--network", &net]);
        (swag, net)
    }

    pub fn network(&self, short: &str) -> String {
        let name = self.name(short);
        docker_ok(&["network", "create", "--label", &self.scope_label, &name]);
        self.networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
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
        ]
    }
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
        let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .envs(env.iter().cloned())
            .env("GATEHOUSE_LOG_LEVEL", "debug")
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
