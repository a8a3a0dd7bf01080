//! Helpers the benches share: numbers from the environment, percentiles, durations and memory
//! as printed, fields of gatehouse's `pass done` log line. Each bench includes this file with
//! `#[path = "common/mod.rs"] mod bench;` (not every bench uses every helper); the helpers of
//! the benches against the fake authentik are in `common/authentik.rs`.

use std::str::FromStr;
use std::time::Duration;

/// The number in the environment variable `name`, or `default` when unset or not a number.
pub fn env_num<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` percentile (0 to 1) of `sorted` samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `p50 …  p99 …  max …` of `sorted` samples (at least one).
pub fn spread(sorted: &[Duration]) -> String {
    format!(
        "p50 {}  p99 {}  max {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(*sorted.last().expect("samples"))
    )
}

/// A `kB` field of `/proc/<pid>/status` (`field` with its colon: `VmHWM:`, `VmRSS:`).
pub fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The peak RSS of `pid`, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    proc_kib(pid, "VmHWM:")
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The numeric `field` of the last `pass done` line in `log`.
pub fn log_field(log: &str, field: &str) -> Option<u64> {
    log.lines()
        .rev()
        .filter(|l| l.contains("pass done"))
        .find_map(|l| l.split(&format!("{field}=")).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// How many files gatehouse says it wrote or updated in `log`.
pub fn files_written(log: &str) -> usize {
    log.matches(" wrote ").count() + log.matches(" updated ").count()
}
