//! gatehouse as a child process for a pass count: once (`run --once`) and watching. For the
//! benches that include `tests/common/docker.rs` as `docker` and `common/mod.rs` as `bench`
//! (`core`, `swarm`), with `#[path = "common/passes.rs"] mod passes;`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::vm_hwm_kib;
use crate::docker::{wait_for, Gatehouse};

/// `gatehouse run --once` with `env` and then `extra`: its wall time (process start to exit)
/// and its log. It must succeed.
pub fn run_once(env: &[(String, String)], extra: &[(&str, &str)]) -> (Duration, String) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["run", "--once"])
        .envs(env.iter().cloned())
        .envs(extra.iter().copied())
        .output()
        .expect("gatehouse");
    let wall = t.elapsed();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    (wall, log)
}

/// gatehouse watching with `env` and a resync every second, until `passes` passes are done
/// (within `limit`): its peak RSS (VmHWM, KiB) and its log.
pub fn watch_passes(
    env: &[(String, String)],
    passes: usize,
    limit: Duration,
) -> (Option<u64>, String) {
    let mut env = env.to_vec();
    env.push(("GATEHOUSE_RESYNC_SECS".into(), "1".into()));
    let gh = Gatehouse::start(&["run"], &env);
    let pid = gh.pid();
    assert!(
        wait_for(limit, || gh.logs().matches("pass done").count() >= passes),
        "{}",
        gh.logs()
    );
    let hwm = vm_hwm_kib(pid);
    (hwm, gh.stop())
}

/// A peak RSS as printed: `… KiB = … MiB`.
pub fn peak(hwm: Option<u64>) -> String {
    format!(
        "{} KiB = {:.1} MiB",
        hwm.map_or("?".into(), |k| k.to_string()),
        hwm.unwrap_or(0) as f64 / 1024.0
    )
}
