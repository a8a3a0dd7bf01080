//! SWAG's real nginx tree on Debian's nginx: a scratch copy of `../shared/reference/swag/config`
//! that `nginx -t` accepts, and that a test can serve from.
//!
//! Follows the reference's TESTING.md: the copy gets a self-signed certificate, `dhparams.pem`
//! (generated once and cached under `CARGO_TARGET_TMPDIR`), `log/nginx/` and `www/`; `nginx.conf`
//! gets the edits Debian's nginx 1.22 needs; every `/config/` path in every `*.conf` is rewritten to
//! the copy (confs dropped into `proxy-confs/` too), so nothing is ever linked at `/config`.
//!
//! Nothing outside the copy is touched: pid file, logs (`-e stderr`), temp and cache folders all
//! live in the copy, `conf.d`/`http.d` point at empty folders of the copy, and nginx runs in a
//! private network namespace (so binding 80/443 never meets the machine's own nginx or another
//! test). Debian's nginx service is neither needed nor disturbed.
//!
//! Tests using this are named `nginx_*` and panic when nginx, its set-misc module, openssl or
//! unshare is missing (apt packages: nginx libnginx-mod-http-set-misc openssl util-linux iproute2).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const PACKAGES: &str = "apt-get install nginx libnginx-mod-http-set-misc openssl";

/// The reference tree: `<crate>/../shared/reference/swag`.
pub fn reference_swag() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/swag");
    assert!(
        dir.join("config/nginx/nginx.conf").is_file(),
        "SWAG's reference tree is missing at {}",
        dir.display()
    );
    dir
}

/// The reference proxy-conf samples by preset name (`<name>.subdomain.conf.sample` gives `<name>`).
pub fn reference_samples() -> BTreeMap<String, String> {
    let dir = reference_swag().join("config/nginx/proxy-confs");
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("read reference proxy-confs") {
        let path = entry.expect("dir entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".subdomain.conf.sample") {
            let text = fs::read_to_string(&path).expect("read sample");
            out.insert(name.to_owned(), text);
        }
    }
    assert!(!out.is_empty(), "no samples in {}", dir.display());
    out
}

fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Panics with the packages to install unless nginx, the set-misc module, openssl and unshare are
/// there.
pub fn require_nginx() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        assert!(
            tool_runs("nginx", &["-v"]),
            "nginx is not installed: these tests need Debian's nginx ({PACKAGES})"
        );
        let set_misc = fs::read_dir("/etc/nginx/modules-enabled")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                fs::read_to_string(e.path())
                    .is_ok_and(|t| t.contains("ngx_http_set_misc_module"))
            });
        assert!(
            set_misc,
            "nginx's set-misc module is not enabled in /etc/nginx/modules-enabled (SWAG's authentik-server.conf uses set_escape_uri): {PACKAGES}"
        );
        assert!(
            tool_runs("openssl", &["version"]),
            "openssl is not installed: {PACKAGES}"
        );
        assert!(
            tool_runs("unshare", &["--version"]),
            "unshare is not installed (apt-get install util-linux)"
        );
    });
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run_openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): {PACKAGES}"));
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The self-signed pair and dhparams, generated once per machine build folder (shared by all test
/// binaries; each file is written under a temporary name and renamed into place).
fn cached_tls_files() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nginx-harness");
    fs::create_dir_all(&dir).expect("create nginx-harness cache folder");
    let tmp = |name: &str| dir.join(format!("{name}.{}.tmp", std::process::id()));
    if !dir.join("dhparams.pem").is_file() {
        let t = tmp("dhparams.pem");
        run_openssl(&["dhparam", "-dsaparam", "-out", t.to_str().unwrap(), "2048"]);
        fs::rename(&t, dir.join("dhparams.pem")).expect("cache dhparams.pem");
    }
    if !(dir.join("cert.crt").is_file() && dir.join("cert.key").is_file()) {
        let (crt, key) = (tmp("cert.crt"), tmp("cert.key"));
        run_openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=gatehouse-test",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            crt.to_str().unwrap(),
        ]);
        fs::rename(&key, dir.join("cert.key")).expect("cache cert.key");
        fs::rename(&crt, dir.join("cert.crt")).expect("cache cert.crt");
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create folder in the copy");
    for entry in fs::read_dir(from).expect("read reference folder") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            // The reference is read-only; the copy must be writable (and removable).
            let text = fs::read(entry.path()).expect("read reference file");
            fs::write(&target, text).expect("write copy");
        }
    }
}

fn conf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read copy") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            conf_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "conf") {
            out.push(path);
        }
    }
}

/// What `nginx -t` said.
#[derive(Debug)]
pub struct NginxTest {
    pub success: bool,
    pub output: String,
}

/// A scratch copy of SWAG's `/config`.
pub struct SwagTree {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

impl Default for SwagTree {
    fn default() -> Self {
        Self::new()
    }
}

impl SwagTree {
    pub fn new() -> Self {
        require_nginx();
        let tls = cached_tls_files();
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-swag-")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("config");
        copy_tree(&reference_swag().join("config"), &config);
        for sub in [
            "keys",
            "log/nginx",
            "www",
            "tmp",
            "etc/conf.d",
            "etc/http.d",
        ] {
            fs::create_dir_all(config.join(sub)).expect("create folder in the copy");
        }
        fs::copy(tls.join("cert.crt"), config.join("keys/cert.crt")).expect("copy cert.crt");
        fs::copy(tls.join("cert.key"), config.join("keys/cert.key")).expect("copy cert.key");
        fs::copy(tls.join("dhparams.pem"), config.join("nginx/dhparams.pem"))
            .expect("copy dhparams.pem");
        fs::write(config.join("www/index.html"), "swag default page\n").expect("write index");
        let tree = Self { _dir: dir, config };
        let mut confs = Vec::new();
        conf_files(&tree.config, &mut confs);
        for path in confs {
            let text = fs::read_to_string(&path).expect("read conf");
            fs::write(&path, tree.rewrite_paths(&text)).expect("rewrite conf");
        }
        tree.edit("nginx/nginx.conf", |t| tree.debian_nginx_conf(t));
        tree
    }

    /// The copy's `/config`.
    pub fn config(&self) -> &Path {
        &self.config
    }

    pub fn proxy_confs(&self) -> PathBuf {
        self.config.join("nginx/proxy-confs")
    }

    fn rewrite_paths(&self, text: &str) -> String {
        text.replace("/config/", &format!("{}/", self.config.display()))
    }

    /// TESTING.md step 3 for Debian's nginx 1.22, plus keeping every run-time file in the copy.
    fn debian_nginx_conf(&self, text: &str) -> String {
        let c = self.config.display();
        let mut out = String::new();
        for line in text.lines() {
            let t = line.trim();
            let line = match t {
                // Runs as root (or root of a user namespace), so the workers read the copy.
                "user abc;" => "user root;".to_owned(),
                "http2 on;" | "http3 on;" | "quic_retry on;" => format!("#{line}"),
                "include /etc/nginx/modules/*.conf;" => {
                    "include /etc/nginx/modules-enabled/*.conf;".to_owned()
                }
                _ if t.starts_with("pid ") => format!("pid {c}/nginx.pid;"),
                _ => line
                    .replace("/etc/nginx/conf.d/", &format!("{c}/etc/conf.d/"))
                    .replace("/etc/nginx/http.d/", &format!("{c}/etc/http.d/"))
                    .replace(" /tmp/nginx", &format!(" {c}/tmp/nginx")),
            };
            out.push_str(&line);
            out.push('\n');
        }
        for wanted in [
            "user root;",
            "#    http2 on;",
            "modules-enabled",
            "/nginx.pid;",
        ] {
            assert!(
                out.contains(wanted),
                "SWAG's nginx.conf changed shape: the harness edit giving {wanted:?} did not apply"
            );
        }
        out
    }

    /// Rewrites a file of the copy (path relative to `config/`).
    pub fn edit(&self, rel: &str, f: impl FnOnce(&str) -> String) {
        let path = self.config.join(rel);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        fs::write(&path, f(&text)).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Drops a generated conf into `proxy-confs/`, with its `/config/` paths pointed at the copy.
    pub fn add_conf(&self, file: &str, text: &str) {
        fs::write(self.proxy_confs().join(file), self.rewrite_paths(text))
            .unwrap_or_else(|e| panic!("write {file}: {e}"));
    }

    pub fn remove_conf(&self, file: &str) {
        fs::remove_file(self.proxy_confs().join(file))
            .unwrap_or_else(|e| panic!("remove {file}: {e}"));
    }

    fn nginx_conf(&self) -> String {
        self.config.join("nginx/nginx.conf").display().to_string()
    }

    /// `nginx -t` on the copy, in a private network namespace (so tests may run in parallel and
    /// never meet whatever listens on the machine's 80/443).
    pub fn nginx_t(&self) -> NginxTest {
        let mut cmd = Command::new("unshare");
        if !is_root() {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args(["--net", "--", "nginx", "-t", "-e", "stderr", "-c"])
            .arg(self.nginx_conf());
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run unshare/nginx ({e}): {PACKAGES}"));
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        NginxTest {
            success: out.status.success() && output.contains("test is successful"),
            output,
        }
    }

    /// Panics with nginx's output (and the confs in proxy-confs) unless `nginx -t` passes with no
    /// warning.
    pub fn assert_nginx_t(&self, what: &str) {
        let result = self.nginx_t();
        let clean = !result.output.contains("[warn]") && !result.output.contains("[emerg]");
        if !(result.success && clean) {
            let mut confs = String::new();
            let mut files: Vec<_> = fs::read_dir(self.proxy_confs())
                .expect("read proxy-confs")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                .collect();
            files.sort();
            for p in files {
                confs.push_str(&format!(
                    "----- {}\n{}\n",
                    p.display(),
                    fs::read_to_string(&p).unwrap_or_default()
                ));
            }
            panic!(
                "nginx -t rejected {what} (or warned):\n{}\n{confs}",
                result.output
            );
        }
    }

    /// Starts nginx in the foreground on the copy. Call it inside [`in_fresh_netns`]: it listens
    /// on 80 and 443.
    pub fn serve(&self) -> Nginx {
        let stderr = fs::File::create(self.config.join("log/nginx/stderr.log")).expect("log file");
        let child = Command::new("nginx")
            .args(["-e", "stderr", "-c"])
            .arg(self.nginx_conf())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx ({e}): {PACKAGES}"));
        let mut nginx = Nginx {
            child,
            log: self.config.join("log/nginx/stderr.log"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited at start ({status}):\n{}", nginx.log());
            }
            if std::net::TcpStream::connect_timeout(
                &"127.0.0.1:443".parse().unwrap(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return nginx;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on 127.0.0.1:443 within 10 s:\n{}",
                nginx.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A running nginx; stopped (gracefully, then killed) on drop.
pub struct Nginx {
    child: Child,
    log: PathBuf,
}

impl Nginx {
    /// What nginx wrote to stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; a bare kill would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` on a thread of its own inside a new, private network namespace with only `lo` (up).
/// Threads and processes `f` starts inherit it, so nginx, stand-in servers and curl all meet on
/// that namespace's 127.0.0.1 and nothing is visible from, or collides with, the machine. The
/// namespace disappears when the thread and its processes are gone. Needs root
/// (CAP_SYS_ADMIN).
pub fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare(2) with CLONE_NEWNET only changes this thread's network namespace;
            // it takes no pointers.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "unshare(CLONE_NEWNET) failed ({}): the served nginx tests run as root to get a private network namespace",
                std::io::Error::last_os_error()
            );
            let out = Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .output()
                .expect("cannot run ip (apt-get install iproute2)");
            assert!(
                out.status.success(),
                "ip link set lo up failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            f()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
