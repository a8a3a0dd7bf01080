//! authentik's stack for the `gatehouse db` tests, from real parts: a PostgreSQL 15 image built
//! from Debian's packages (tests/postgres-image/build.sh: debootstrap, `docker import`, cached by
//! a content hash, built once under a lock however many test binaries run), and stand-ins for
//! authentik's server and worker (the busybox test image under authentik's image name; the
//! server answers `/-/health/ready/` on port 9000 as authentik does).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::docker::{docker_ok, react, require_docker, wait_for, Scope, IMAGE};

/// authentik's image name, with versions no other test (nor a real pull) uses.
pub const AUTHENTIK: &str = "ghcr.io/goauthentik/server";
pub const VERSION: &str = "2026.8.3-dbtest";
pub const OLDER: &str = "2026.5.6-dbtest";

pub const USER: &str = "authentik";
pub const DATABASE: &str = "authentik";

/// The PostgreSQL image's tag, building it (and the authentik stand-in) on first use.
pub fn image() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        require_docker();
        build_stand_in();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postgres-image/build.sh");
        assert!(
            Path::new("/usr/sbin/debootstrap").exists() || which("debootstrap"),
            "debootstrap is not installed (apt-get install debootstrap): the db tests build their PostgreSQL image with it"
        );
        let out = Command::new(&script).output().expect("run build.sh");
        assert!(
            out.status.success(),
            "building the PostgreSQL test image failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The stand-in for authentik's image: the busybox test image serving `/-/health/ready/` on
/// 9000, tagged with authentik's image name at [`VERSION`] and [`OLDER`].
fn build_stand_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {IMAGE}\nRUN mkdir -p /www/-/health/ready && echo ok > /www/-/health/ready/index.html\nEXPOSE 9000\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"9000\", \"-h\", \"/www\"]\n"
        ),
    )
    .expect("Dockerfile");
    let dir_str = dir.path().to_str().expect("utf-8 path");
    let new = format!("{AUTHENTIK}:{VERSION}");
    let old = format!("{AUTHENTIK}:{OLDER}");
    docker_ok(&["build", "-q", "-t", &new, "-t", &old, dir_str]);
}

/// One authentik stack in a compose project of its own.
pub struct Stack {
    pub db: String,
    pub server: String,
    pub worker: String,
    /// gatehouse's environment for this stack (its scope label).
    pub env: Vec<(String, String)>,
}

/// Starts a database (fresh) and authentik's server and worker at `version`, as compose would
/// label them; returns at once (see [`wait_ready`]).
pub fn stack(scope: &Scope, version: &str) -> Stack {
    let pg = image();
    let compose = |short: &str| {
        scope
            .container(short)
            .label("com.docker.compose.project", &scope.prefix)
            .label("com.docker.compose.service", short)
    };
    let db = compose("postgresql")
        .image(pg)
        .env("POSTGRES_PASSWORD", "not-a-real-secret")
        .env("POSTGRES_USER", USER)
        .env("POSTGRES_DB", DATABASE)
        .start();
    let authentik = format!("{AUTHENTIK}:{version}");
    // --init: the stand-ins stop at once on SIGTERM, as authentik does.
    let server = compose("authentik-server")
        .image(&authentik)
        .option(["--init"])
        .start();
    let worker = compose("authentik-worker")
        .image(&authentik)
        .option(["--init"])
        .start();
    Stack {
        db,
        server,
        worker,
        env: vec![("GATEHOUSE_SCOPE_LABEL".into(), scope.scope_label.clone())],
    }
}

/// How long a fresh PostgreSQL container may take to initialise and start (initdb, then a
/// restart) on a loaded machine.
pub fn init_limit() -> Duration {
    react() * 4
}

/// Waits until the database accepts connections after its first-start initialisation.
pub fn wait_ready(db: &str) {
    let ready = wait_for(init_limit(), || {
        let logs = Command::new("docker").args(["logs", db]).output();
        let initialised = logs.is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).contains("init process complete")
                || String::from_utf8_lossy(&o.stderr).contains("init process complete")
        });
        initialised
            && Command::new("docker")
                .args(["exec", db, "pg_isready", "-q", "-U", USER, "-d", DATABASE])
                .output()
                .is_ok_and(|o| o.status.success())
    });
    assert!(
        ready,
        "PostgreSQL in {db} not ready within {:?}",
        init_limit()
    );
}

/// Runs `sql` with psql in the database: its output, unaligned, tuples only.
pub fn psql(db: &str, sql: &str) -> String {
    docker_ok(&[
        "exec",
        db,
        "psql",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        USER,
        "-d",
        DATABASE,
        "-c",
        sql,
    ])
}

/// Tables like authentik's, with rows of every common type (serials, text, jsonb, timestamps,
/// bytea, a foreign key), and `bulk` rows of 256 hardly compressible characters.
pub fn fill(db: &str, bulk: u32) {
    psql(
        db,
        &format!(
            "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL);
             INSERT INTO django_migrations (app, name, applied) SELECT 'authentik_core', format('%s_migration', lpad(g::text, 4, '0')), timestamptz '2024-01-01' + g * interval '1 day' FROM generate_series(1, 120) g;
             CREATE TABLE authentik_core_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, attributes jsonb NOT NULL, last_login timestamptz);
             INSERT INTO authentik_core_user (username, attributes, last_login) SELECT 'user' || g, jsonb_build_object('n', g, 'h', md5(g::text)), timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 2000) g;
             CREATE TABLE authentik_core_token (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES authentik_core_user(id), key bytea NOT NULL);
             INSERT INTO authentik_core_token (user_id, key) SELECT 1 + g % 2000, decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
             CREATE TABLE bulk (id int PRIMARY KEY, payload text NOT NULL);
             INSERT INTO bulk SELECT g, md5(g || 'a') || md5(g || 'b') || md5(g || 'c') || md5(g || 'd') || md5(g || 'e') || md5(g || 'f') || md5(g || 'g') || md5(g || 'h') FROM generate_series(1, {bulk}) g;"
        ),
    );
}

/// The tables [`fill`] makes.
pub const TABLES: &[&str] = &[
    "django_migrations",
    "authentik_core_user",
    "authentik_core_token",
    "bulk",
];

/// Every table's row count and a checksum of all its rows, in order.
pub fn fingerprint(db: &str) -> Vec<String> {
    TABLES
        .iter()
        .map(|t| {
            psql(
                db,
                &format!("SELECT '{t}', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY id), '')) FROM {t} x"),
            )
        })
        .collect()
}

/// Whether a container runs.
pub fn running(container: &str) -> bool {
    docker_ok(&["inspect", "-f", "{{.State.Running}}", container]) == "true"
}

/// gatehouse run to its end, its output in files, with its own peak RSS (from `wait4`: the
/// kernel's count for this one child, not the test binary's other children).
pub struct Measured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub max_rss_kib: u64,
}

pub fn gatehouse_measured(dir: &Path, args: &[&str], env: &[(String, String)]) -> Measured {
    let out_path: PathBuf = dir.join(".gatehouse.out");
    let err_path: PathBuf = dir.join(".gatehouse.err");
    // Reaped below by wait4 (which also gives its rusage), not by Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(dir)
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start gatehouse");
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: plain syscall on our own child with valid pointers; `child` is never waited on.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let measured = Measured {
        code,
        stdout: read(&out_path),
        stderr: read(&err_path),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    };
    let _ = std::fs::remove_file(out_path);
    let _ = std::fs::remove_file(err_path);
    measured
}
