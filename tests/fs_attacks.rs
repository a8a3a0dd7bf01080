//! Issue 8: a table of file-system attacks on SWAG's config folder against the real `gatehouse`
//! binary (`run --once` and `render`, one labelled container on the real engine). Someone who
//! can write into SWAG's `/config` plants symlinks to a victim at every path gatehouse writes or
//! reads, FIFOs, folders where files are expected, huge sparse files, links to `/dev/zero`, or
//! makes the folder read-only. Every case: the victim is untouched (bytes, mode, owner), nothing
//! hangs (each run has a deadline), and the log names what was refused.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::docker::{swag_config, Scope};

/// Far longer than a pass takes even on a loaded machine; a hang never ends.
const DEADLINE: Duration = Duration::from_secs(60);
/// The owner gatehouse gives SWAG's files (PUID/PGID): if it ever reaches the victim, it shows.
const PUID: &str = "4321";

/// A victim file outside the config folder: root's (or the test user's), 0600, known bytes.
struct Victim {
    path: PathBuf,
    dir: PathBuf,
}

#[derive(Debug, PartialEq, Eq)]
struct Seen {
    bytes: Vec<u8>,
    mode: u32,
    uid: u32,
    gid: u32,
    entries: usize,
}

impl Victim {
    fn new(root: &Path) -> Self {
        let dir = root.join("victim-dir");
        fs::create_dir(&dir).expect("victim dir");
        let path = dir.join("victim");
        fs::write(&path, b"the victim's own bytes\n").expect("victim");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        Self { path, dir }
    }

    fn seen(&self) -> Seen {
        let m = fs::symlink_metadata(&self.path).expect("victim metadata");
        Seen {
            bytes: fs::read(&self.path).expect("victim bytes"),
            mode: m.permissions().mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            entries: fs::read_dir(&self.dir).expect("victim dir").count(),
        }
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn link(target: &Path, at: &Path) {
    if let Some(parent) = at.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

fn sparse(at: &Path, len: u64) {
    fs::File::create(at)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
}

/// What the proxy-confs folder is like for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Folder {
    AsIs,
    /// Read-only.
    ReadOnly,
    /// On a file system with no space left.
    Full,
}

/// The command that runs gatehouse: as root (whom a `chmod` does not stop) a read-only folder is
/// a read-only bind mount in a mount namespace of its own, and a full one a small tmpfs there,
/// holding what the folder held, filled up.
fn command(args: &[&str], special: Option<(&Path, Folder)>) -> Command {
    let bin = env!("CARGO_BIN_EXE_gatehouse");
    let script = match special {
        Some((_, Folder::ReadOnly)) => r#"mount --bind -o ro "$1" "$1" && shift && exec "$@""#,
        Some((_, Folder::Full)) => {
            r#"d=$(mktemp -d) && cp -a "$1"/. "$d" && mount -t tmpfs -o size=512k tmpfs "$1" && cp -a "$d"/. "$1" && { dd if=/dev/zero of="$1/.fill" bs=4k 2>/dev/null; true; } && shift && exec "$@""#
        }
        _ => "",
    };
    match special {
        Some((dir, _)) if is_root() && !script.is_empty() => {
            let mut c = Command::new("unshare");
            c.args(["--mount", "sh", "-c"])
                .arg(script)
                .args(["sh", &dir.display().to_string(), bin])
                .args(args);
            c
        }
        _ => {
            let mut c = Command::new(bin);
            c.args(args);
            c
        }
    }
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Runs gatehouse to its end, or kills it at the deadline. Returns (exit code, log, took): no
/// exit code when it was killed.
fn run(
    args: &[&str],
    env: &[(String, String)],
    special: Option<(&Path, Folder)>,
) -> (Option<i32>, String, Duration) {
    let logdir = tempfile::tempdir().expect("tempdir");
    let log = logdir.path().join("log");
    let file = fs::File::create(&log).expect("log file");
    let started = Instant::now();
    let mut child = command(args, special)
        .envs(env.iter().cloned())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("start gatehouse");
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        code,
        fs::read_to_string(&log).unwrap_or_default(),
        started.elapsed(),
    )
}

/// One attack: what is planted in the config folder, and what the log must say.
struct Case {
    name: &'static str,
    plant: fn(&Ctx),
    /// What the proxy-confs folder is like.
    folder: Folder,
    /// Words the log must not contain.
    never: &'static [&'static str],
    /// Words the log must contain (any run), naming what was refused.
    says: &'static [&'static str],
}

/// What a case plants into.
struct Ctx {
    cfg: PathBuf,
    confs: PathBuf,
    conf: PathBuf,
    victim: PathBuf,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "symlink at the old predictable temp name",
            plant: |c| {
                let name = c.conf.file_name().unwrap().to_string_lossy().into_owned();
                link(&c.victim, &c.confs.join(format!(".gatehouse.{name}.tmp")));
                for n in 0..4 {
                    let pid_guess = format!(".{name}.{n}.tmp");
                    link(&c.victim, &c.confs.join(pid_guess));
                }
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["wrote"],
        },
        Case {
            name: "none (the conf is written, given to PUID/PGID, 0644)",
            plant: |_| {},
            folder: Folder::AsIs,
            never: &[],
            says: &["wrote"],
        },
        Case {
            name: "symlink at the conf itself",
            plant: |c| link(&c.victim, &c.conf),
            folder: Folder::AsIs,
            never: &[],
            says: &["symlink", "leaving it alone"],
        },
        Case {
            name: "symlink to /dev/zero at the conf",
            plant: |c| link(Path::new("/dev/zero"), &c.conf),
            folder: Folder::AsIs,
            never: &[],
            says: &["symlink", "leaving it alone"],
        },
        Case {
            name: "FIFO at the conf",
            plant: |c| mkfifo(&c.conf),
            folder: Folder::AsIs,
            never: &[],
            says: &["FIFO"],
        },
        Case {
            name: "huge sparse file at the conf",
            plant: |c| sparse(&c.conf, 1 << 30),
            folder: Folder::AsIs,
            never: &[],
            says: &["larger than 1048576 bytes"],
        },
        Case {
            name: "a marked conf over 1 MiB at the conf (not gatehouse's, names respected)",
            plant: |c| {
                let app = c.conf.file_name().unwrap().to_string_lossy().into_owned();
                let app = app
                    .trim_start_matches("gatehouse.")
                    .trim_end_matches(".subdomain.conf");
                let text = format!(
                    "## Managed by gatehouse.\n## gatehouse: container={app} access=protected template=builtin\nserver {{\n    server_name {app}.*;\n}}\n"
                );
                fs::write(&c.conf, text).expect("conf");
                fs::File::options()
                    .append(true)
                    .open(&c.conf)
                    .and_then(|f| f.set_len(2 << 20))
                    .expect("grow");
            },
            folder: Folder::AsIs,
            never: &["would update", "would write", "wrote"],
            says: &["larger than gatehouse reads", "already"],
        },
        Case {
            name: "directory at the conf",
            plant: |c| fs::create_dir(&c.conf).expect("mkdir"),
            folder: Folder::AsIs,
            never: &[],
            says: &["directory"],
        },
        Case {
            name: "FIFO, link to a FIFO, /dev/zero and sparse user confs",
            plant: |c| {
                mkfifo(&c.confs.join("fifo.subdomain.conf"));
                let elsewhere = c.cfg.join("fifo-elsewhere");
                mkfifo(&elsewhere);
                link(&elsewhere, &c.confs.join("linkfifo.subdomain.conf"));
                link(Path::new("/dev/zero"), &c.confs.join("zero.subdomain.conf"));
                link(&c.victim, &c.confs.join("victim.subdomain.conf"));
                sparse(&c.confs.join("sparse.subdomain.conf"), 1 << 30);
            },
            folder: Folder::AsIs,
            never: &[],
            says: &[
                "fifo.subdomain.conf",
                "FIFO",
                "linkfifo.subdomain.conf",
                "zero.subdomain.conf",
                "symlink",
                "sparse.subdomain.conf",
                "larger than",
                "wrote",
            ],
        },
        Case {
            name: "FIFO at the preset sample",
            plant: |c| {
                let sample = c.confs.join("dockge.subdomain.conf.sample");
                fs::remove_file(&sample).expect("sample");
                mkfifo(&sample);
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["dockge.subdomain.conf.sample", "FIFO"],
        },
        Case {
            name: "symlink to the victim at the preset sample",
            plant: |c| {
                let sample = c.confs.join("dockge.subdomain.conf.sample");
                fs::remove_file(&sample).expect("sample");
                link(&c.victim, &sample);
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["dockge.subdomain.conf.sample", "symlink"],
        },
        Case {
            name: "FIFO in site-confs",
            plant: |c| {
                let site = c.cfg.join("nginx/site-confs");
                fs::create_dir_all(&site).expect("mkdir");
                mkfifo(&site.join("default.conf"));
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["default.conf", "FIFO", "wrote"],
        },
        Case {
            name: "the state folder is a symlink",
            plant: |c| link(c.victim.parent().unwrap(), &c.cfg.join("gatehouse")),
            folder: Folder::AsIs,
            never: &[],
            says: &["state folder", "is a symlink"],
        },
        Case {
            name: "symlinks at the state files",
            plant: |c| {
                link(&c.victim, &c.cfg.join("gatehouse/networks.json"));
                link(&c.victim, &c.cfg.join("gatehouse/authentik.json"));
                link(&c.victim, &c.cfg.join("gatehouse/authentik.json.lock"));
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["networks.json", "symlink"],
        },
        Case {
            name: "FIFO at the network state file",
            plant: |c| {
                fs::create_dir_all(c.cfg.join("gatehouse")).expect("mkdir");
                mkfifo(&c.cfg.join("gatehouse/networks.json"));
            },
            folder: Folder::AsIs,
            never: &[],
            says: &["networks.json", "FIFO"],
        },
        Case {
            name: "proxy-confs folder on a full file system",
            plant: |_| {},
            folder: Folder::Full,
            never: &[],
            // EX_IOERR, and nothing half-written (checked inside the namespace: the conf is
            // not there afterwards).
            says: &[
                "could not write conf",
                "No space left on device",
                r#"gatehouse ["run", "--once"]: exit Some(74)"#,
            ],
        },
        Case {
            name: "read-only proxy-confs folder",
            plant: |c| {
                fs::set_permissions(&c.confs, fs::Permissions::from_mode(0o555)).expect("chmod")
            },
            folder: Folder::ReadOnly,
            never: &[],
            // EX_IOERR, as the README says for file-system trouble.
            says: &[
                "could not write conf",
                r#"gatehouse ["run", "--once"]: exit Some(74)"#,
            ],
        },
    ]
}

/// When the conf was to be written: a regular file, 0644, and (as root) PUID/PGID's.
fn conf_problem(conf: &Path, written: bool) -> Option<String> {
    if !written {
        return None;
    }
    let m = match fs::symlink_metadata(conf) {
        Ok(m) => m,
        Err(e) => return Some(format!("no conf: {e}")),
    };
    let want_owner = if is_root() {
        let id: u32 = PUID.parse().expect("PUID");
        (id, id)
    } else {
        (m.uid(), m.gid())
    };
    let got = (
        m.file_type().is_file(),
        m.permissions().mode() & 0o7777,
        (m.uid(), m.gid()),
    );
    (got != (true, 0o644, want_owner)).then(|| format!("conf is {got:?}"))
}

#[test]
fn docker_file_system_attacks_leave_the_victim_alone_and_never_hang() {
    let scope = Scope::new("fsattack");
    // A preset, so the sample is read too.
    let app = scope.run(
        "app",
        &[("auth.protect", "true"), ("auth.preset", "dockge")],
        &[],
    );
    let mut failures = Vec::new();
    for case in cases() {
        let cfg = swag_config();
        let root = tempfile::tempdir().expect("tempdir");
        let victim = Victim::new(root.path());
        let confs = cfg.path().join("nginx/proxy-confs");
        let ctx = Ctx {
            cfg: cfg.path().to_owned(),
            conf: confs.join(format!("gatehouse.{app}.subdomain.conf")),
            confs,
            victim: victim.path.clone(),
        };
        (case.plant)(&ctx);
        let before = victim.seen();
        let mut env = scope.gatehouse_env(cfg.path());
        env.retain(|(k, _)| k != "PUID" && k != "PGID");
        env.extend([
            ("PUID".to_owned(), PUID.to_owned()),
            ("PGID".to_owned(), PUID.to_owned()),
            // The one container plays SWAG too, so the network step reads and writes its state.
            ("GATEHOUSE_SWAG_CONTAINER".to_owned(), app.clone()),
            ("GATEHOUSE_LOG_LEVEL".to_owned(), "info".to_owned()),
        ]);
        let mut log = String::new();
        let mut hung = Vec::new();
        for args in [&["render"][..], &["run", "--once"][..]] {
            let special =
                Some((ctx.confs.as_path(), case.folder)).filter(|_| case.folder != Folder::AsIs);
            let (code, text, took) = run(args, &env, special);
            if code.is_none() {
                hung.push(format!(
                    "gatehouse {args:?} hung or died (killed after {took:?})"
                ));
            }
            log.push_str(&format!(
                "--- gatehouse {args:?}: exit {code:?} in {took:?}\n{text}"
            ));
        }
        let after = victim.seen();
        let mut problems = hung;
        if after != before {
            problems.push(format!("victim changed: {before:?} -> {after:?}"));
        }
        for word in case.never {
            if log.contains(word) {
                problems.push(format!("log says {word:?}"));
            }
        }
        for word in case.says {
            if !log.contains(word) {
                problems.push(format!("log does not say {word:?}"));
            }
        }
        let wrote = case.says.contains(&"wrote");
        if let Some(p) = conf_problem(&ctx.conf, wrote) {
            problems.push(p);
        }
        // The victim's bytes never end up in a conf SWAG loads.
        // (Read only when it is a small regular file: the attacks put FIFOs and worse there.)
        let small = fs::symlink_metadata(&ctx.conf).is_ok_and(|m| m.is_file() && m.len() < 1 << 20);
        if small && fs::read_to_string(&ctx.conf).is_ok_and(|t| t.contains("the victim's own")) {
            problems.push("the victim's bytes were copied into the conf".into());
        }
        // No temp file is left where SWAG (or a later pass) would see it.
        let left: Vec<String> = fs::read_dir(&ctx.confs)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".gatehouse-"))
                    .collect()
            })
            .unwrap_or_default();
        if !left.is_empty() {
            problems.push(format!("temp files left: {left:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n{log}", case.name, problems.join("; ")));
        }
        let _ = fs::set_permissions(&ctx.confs, fs::Permissions::from_mode(0o755));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_at_the_health_record_does_not_hang_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let zero = dir.path().join("zero");
    link(Path::new("/dev/zero"), &zero);
    for (path, says) in [(&fifo, "FIFO"), (&zero, "symlink")] {
        let env = [(
            "GATEHOUSE_HEALTH_FILE".to_owned(),
            path.display().to_string(),
        )];
        let (code, log, took) = run(&["health"], &env, None);
        assert_eq!(code, Some(1), "{took:?}: {log}");
        assert!(log.contains(says), "{log}");
    }
}
