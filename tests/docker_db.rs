//! `gatehouse db dump` and `gatehouse db restore` against the real engine, a real PostgreSQL
//! (built from Debian's packages, see tests/common/postgres.rs) and stand-ins for authentik's
//! server and worker: the data survives a round trip row for row, a restore refuses what it
//! must, an interrupted restore says what is left and starts authentik again, and the dump
//! streams through gatehouse without growing its memory.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use common::docker::{react, Scope};
use common::postgres::{
    fill, fingerprint, gatehouse_measured, psql, running, stack, wait_ready, OLDER, VERSION,
};

/// The dump `gatehouse db dump` wrote into `dir` (the default name: `authentik-<version>-<date>.dump`).
fn the_dump(dir: &Path) -> PathBuf {
    let dumps: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dump"))
        .collect();
    assert_eq!(dumps.len(), 1, "one dump in {}: {dumps:?}", dir.display());
    dumps[0].clone()
}

fn side_file(dump: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}.json", dump.display())).expect("side file");
    serde_json::from_str(&text).expect("side file is JSON")
}

fn tables(db: &str) -> u64 {
    psql(
        db,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .parse()
    .expect("count")
}

#[test]
fn docker_db_dump_and_restore_into_a_fresh_container_keeps_every_row() {
    let a_scope = Scope::new("db-a");
    let a = stack(&a_scope, VERSION);
    let b_scope = Scope::new("db-b");
    let b = stack(&b_scope, VERSION);
    wait_ready(&a.db);
    fill(&a.db, 2000);
    let dir = tempfile::tempdir().expect("tempdir");

    let dump = gatehouse_measured(dir.path(), &["db", "dump"], &a.env);
    assert_eq!(dump.code, 0, "dump failed: {}{}", dump.stdout, dump.stderr);
    assert!(
        dump.stdout
            .contains("dumping database authentik (4 tables)"),
        "{}",
        dump.stdout
    );
    assert!(
        !dump.stderr.contains("dumped"),
        "no progress line off a terminal: {}",
        dump.stderr
    );
    let file = the_dump(dir.path());
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(name.starts_with("authentik-2026.8.3_dbtest-20"), "{name}");
    let info = side_file(&file);
    assert_eq!(info["authentik_version"], VERSION);
    assert_eq!(info["database"], "authentik");
    assert_eq!(info["tables"], 4);
    let bytes = std::fs::read(&file).expect("dump");
    assert_eq!(info["bytes"], bytes.len());
    assert!(
        bytes.starts_with(b"PGDMP"),
        "a pg_dump custom-format archive"
    );

    wait_ready(&b.db);
    let restore_args = ["db", "restore", file.to_str().expect("utf-8")];
    let refused = gatehouse_measured(dir.path(), &restore_args, &b.env);
    assert_eq!(refused.code, 64, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stdout
            .contains("3. drop database authentik and create it again"),
        "says what it would do first: {}",
        refused.stdout
    );
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(tables(&b.db), 0, "nothing done without --yes");
    assert!(running(&b.server) && running(&b.worker), "nothing stopped");

    let mut args = restore_args.to_vec();
    args.push("--yes");
    let restored = gatehouse_measured(dir.path(), &args, &b.env);
    assert_eq!(restored.code, 0, "{}{}", restored.stdout, restored.stderr);
    eprintln!("--- what the user sees ---\n{}", restored.stdout);
    assert!(restored
        .stdout
        .contains("4 tables, django_migrations present"));
    assert!(restored.stdout.contains("answers"));
    assert_eq!(
        fingerprint(&b.db),
        fingerprint(&a.db),
        "every row, every byte"
    );
    assert!(
        running(&b.server) && running(&b.worker),
        "authentik started again"
    );
    assert_eq!(
        std::fs::read(&file).expect("dump"),
        bytes,
        "the dump is untouched"
    );

    // On a terminal (script(1) gives it one), a progress line: bytes and rate.
    let tty = Command::new("script")
        .args([
            "-qec",
            &format!("{} db dump --out tty.dump", env!("CARGO_BIN_EXE_gatehouse")),
            "/dev/null",
        ])
        .envs(a.env.iter().cloned())
        .current_dir(dir.path())
        .output()
        .expect("script (bsdutils)");
    let seen = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{seen}");
    assert!(
        seen.contains("\rdumped ") && seen.contains("/s"),
        "a progress line on a terminal: {seen:?}"
    );

    // Never overwrites a dump.
    let out = file.to_str().expect("utf-8");
    let again = gatehouse_measured(dir.path(), &["db", "dump", "--out", out], &a.env);
    assert_eq!(again.code, 64, "{}", again.stderr);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
}

#[test]
fn docker_db_restore_refuses_a_dump_from_a_newer_authentik_and_one_without_side_file() {
    let scope = Scope::new("db-newer");
    let s = stack(&scope, OLDER);
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("new.dump");
    std::fs::write(&dump, b"PGDMP\x01\x0e\x00").expect("dump");
    let side = serde_json::json!({
        "format": "gatehouse db dump 1", "authentik_version": VERSION, "database": "authentik",
        "tables": 4, "bytes": 8, "created": "2026-11-30T00:00:00Z", "container": "old-db"
    });
    std::fs::write(dir.path().join("new.dump.json"), side.to_string()).expect("side");
    let out = gatehouse_measured(dir.path(), &["db", "restore", "new.dump", "--yes"], &s.env);
    assert_eq!(out.code, 64, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the dump comes from authentik {VERSION}, newer than this stack's {OLDER}: authentik cannot migrate its database down"
        )),
        "{}",
        out.stderr
    );
    assert!(running(&s.server) && running(&s.worker), "nothing stopped");

    std::fs::remove_file(dir.path().join("new.dump.json")).expect("rm");
    let out = gatehouse_measured(dir.path(), &["db", "restore", "new.dump", "--yes"], &s.env);
    assert_eq!(out.code, 64, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("new.dump.json is missing"),
        "{}",
        out.stderr
    );
}

/// `gatehouse db restore --yes` started in the background; the stdout lines it prints as they come.
struct Background {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

fn restore_in_background(dir: &Path, dump: &Path, env: &[(String, String)]) -> Background {
    let dump = dump.to_str().expect("utf-8");
    in_background(dir, &["db", "restore", "--yes", dump], env)
}

fn in_background(dir: &Path, args: &[&str], env: &[(String, String)]) -> Background {
    let stderr = dir.join(".background.err");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start gatehouse");
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Background {
        child,
        lines,
        stderr,
    }
}

impl Background {
    /// Waits for a line starting with `prefix`.
    fn wait_line(&self, prefix: &str) {
        let deadline = Instant::now() + react() * 2;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line {prefix:?} from gatehouse db restore");
    }

    fn signal(&mut self, signal: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill")
            .success());
        let status = self.child.wait().expect("wait");
        (
            status.code(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        )
    }
}

#[test]
fn docker_db_an_interrupted_restore_says_what_is_left_and_starts_authentik_again() {
    let a_scope = Scope::new("db-big");
    let a = stack(&a_scope, VERSION);
    let b_scope = Scope::new("db-cut");
    let b = stack(&b_scope, VERSION);
    wait_ready(&a.db);
    // 250,000 rows of 256 hex characters: a dump of about 35 MB, long enough to interrupt.
    fill(&a.db, 250_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = Scope::new("db-none");
    let baseline = gatehouse_measured(
        dir.path(),
        &["db", "dump"],
        &[("GATEHOUSE_SCOPE_LABEL".into(), empty.scope_label.clone())],
    );
    assert_eq!(
        baseline.code, 1,
        "no stack in an empty scope: {}",
        baseline.stderr
    );
    let dump = gatehouse_measured(dir.path(), &["db", "dump", "--out", "big.dump"], &a.env);
    assert_eq!(dump.code, 0, "{}{}", dump.stdout, dump.stderr);
    let file = dir.path().join("big.dump");
    let size = std::fs::metadata(&file).expect("dump").len();
    eprintln!(
        "dump of {:.1} MiB: gatehouse peak RSS {} KiB (the same binary finding nothing: {} KiB)",
        size as f64 / 1048576.0,
        dump.max_rss_kib,
        baseline.max_rss_kib
    );
    assert!(
        size > 20 << 20,
        "a dump of {size} bytes is too small to show streaming"
    );
    assert!(
        dump.max_rss_kib < baseline.max_rss_kib + 8 * 1024,
        "the dump is held in memory: peak RSS {} KiB for {size} bytes (baseline {} KiB)",
        dump.max_rss_kib,
        baseline.max_rss_kib
    );
    let bytes = std::fs::read(&file).expect("dump");

    // An interrupted dump leaves nothing behind: no dump, no side file, no temporary file.
    let mut cut = in_background(dir.path(), &["db", "dump", "--out", "cut.dump"], &a.env);
    cut.wait_line("dumping database");
    let (code, stderr) = cut.signal("-TERM");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted: no dump was written"),
        "{stderr}"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.contains("cut"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    wait_ready(&b.db);

    // SIGTERM (as Ctrl-C) while pg_restore runs: it stops, says which step and what is left,
    // and starts authentik again.
    let mut cut = restore_in_background(dir.path(), &file, &b.env);
    cut.wait_line("[4/7]");
    let (code, stderr) = cut.signal("-TERM");
    eprintln!("--- what the user sees after Ctrl-C ---\n{stderr}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("step 4/7 failed: interrupted"),
        "says which step: {stderr}"
    );
    assert!(stderr.contains("is untouched"), "{stderr}");
    assert!(stderr.contains("started again"), "{stderr}");
    assert!(
        running(&b.server) && running(&b.worker),
        "authentik started again"
    );
    assert_eq!(
        std::fs::read(&file).expect("dump"),
        bytes,
        "the dump is untouched"
    );

    // kill -9 cannot be caught: authentik stays stopped. Running the restore again (as the
    // docs say) finishes it and starts authentik.
    let mut killed = restore_in_background(dir.path(), &file, &b.env);
    killed.wait_line("[4/7]");
    let (code, _) = killed.signal("-KILL");
    assert_eq!(code, None, "killed");
    assert!(
        !running(&b.server) && !running(&b.worker),
        "left stopped by kill -9"
    );
    let again = gatehouse_measured(dir.path(), &["db", "restore", "--yes", "big.dump"], &b.env);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        running(&b.server) && running(&b.worker),
        "authentik started"
    );
    assert_eq!(fingerprint(&b.db), fingerprint(&a.db));
}
