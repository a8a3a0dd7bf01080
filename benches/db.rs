//! Issue 13's numbers for `gatehouse db`, against the real engine and a real PostgreSQL (the
//! tests' image built from Debian's packages), with the release binary: a dump of about 200 MB
//! streamed to a file and restored into a fresh container, with gatehouse's peak RSS (from
//! `wait4`, this process alone) and the wall time of each.
//!
//! `cargo bench --bench db` (GATEHOUSE_BENCH_DB_ROWS rows of 256 hex characters, default
//! 1,400,000: a dump of about 200 MB). Needs Docker Engine, busybox-static and debootstrap, like
//! the tests.

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod bench;
#[path = "../tests/common/docker.rs"]
#[allow(dead_code)]
mod docker;
#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::time::Instant;

use docker::Scope;
use postgres::{fill, fingerprint, gatehouse_measured, stack, wait_ready, VERSION};

fn main() {
    let rows: u32 = bench::env_num("GATEHOUSE_BENCH_DB_ROWS", 1_400_000);
    let a_scope = Scope::new("bench-db-a");
    let a = stack(&a_scope, VERSION);
    let b_scope = Scope::new("bench-db-b");
    let b = stack(&b_scope, VERSION);
    wait_ready(&a.db);
    let started = Instant::now();
    fill(&a.db, rows);
    println!(
        "db: filled {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("tempdir");

    let started = Instant::now();
    let dump = gatehouse_measured(dir.path(), &["db", "dump", "--out", "big.dump"], &a.env);
    let took = started.elapsed();
    assert_eq!(dump.code, 0, "{}{}", dump.stdout, dump.stderr);
    let size = std::fs::metadata(dir.path().join("big.dump"))
        .expect("dump")
        .len();
    let mib = size as f64 / 1_048_576.0;
    println!(
        "db dump:    {mib:.1} MiB in {:.1} s ({:.1} MiB/s), gatehouse peak RSS {} KiB = {:.1} MiB",
        took.as_secs_f64(),
        mib / took.as_secs_f64(),
        dump.max_rss_kib,
        dump.max_rss_kib as f64 / 1024.0
    );

    wait_ready(&b.db);
    let started = Instant::now();
    let restore = gatehouse_measured(dir.path(), &["db", "restore", "--yes", "big.dump"], &b.env);
    let took = started.elapsed();
    assert_eq!(restore.code, 0, "{}{}", restore.stdout, restore.stderr);
    println!(
        "db restore: {mib:.1} MiB in {:.1} s (stop, pg_restore, checks, start, answer), gatehouse peak RSS {} KiB = {:.1} MiB",
        took.as_secs_f64(),
        restore.max_rss_kib,
        restore.max_rss_kib as f64 / 1024.0
    );
    assert_eq!(
        fingerprint(&b.db),
        fingerprint(&a.db),
        "restored row for row"
    );
    println!("db: restored database identical (row counts and checksums of every table)");
}
