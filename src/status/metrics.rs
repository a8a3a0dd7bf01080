//! `/metrics`: the Prometheus text format (version 0.0.4), named the way controller-runtime and
//! Traefik name theirs: `_total` counters, `_seconds` durations, a histogram with `le` buckets,
//! `_info` gauges at 1 carrying labels, `code` and `method` labels on requests.

use std::fmt::Write as _;

use super::board::{View, BUCKETS};
use crate::edge::requests::RequestCounts;

/// The content type of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The request counters `/metrics` reads (the process-wide ones; tests pass their own).
pub(crate) struct Requests<'a> {
    pub(crate) docker: &'a RequestCounts,
    pub(crate) authentik: &'a RequestCounts,
}

impl Requests<'static> {
    pub(crate) fn process() -> Self {
        Self {
            docker: &crate::edge::requests::DOCKER,
            authentik: &crate::edge::requests::AUTHENTIK,
        }
    }
}

/// The whole `/metrics` answer.
pub(crate) fn render(view: &View, requests: &Requests<'_>, rss_bytes: Option<u64>) -> String {
    let mut out = String::with_capacity(4096);
    let s = &view.snapshot;
    head(
        &mut out,
        "gatehouse_build_info",
        "gauge",
        "gatehouse's version; always 1.",
    );
    let _ = writeln!(
        out,
        "gatehouse_build_info{{version=\"{}\"}} 1",
        escape(s.version)
    );
    passes(&mut out, view);
    apps(&mut out, view);
    requests_of(&mut out, "docker", "the Docker engine", requests.docker);
    requests_of(&mut out, "authentik", "authentik's API", requests.authentik);
    authentik(&mut out, view);
    checks(&mut out, view);
    head(
        &mut out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch in seconds.",
    );
    let _ = writeln!(out, "process_start_time_seconds {}", s.passes.started_at);
    if let Some(rss) = rss_bytes {
        head(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    out
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn passes(out: &mut String, view: &View) {
    let p = &view.snapshot.passes;
    head(
        out,
        "gatehouse_passes_total",
        "counter",
        "Passes (observe, plan, apply) by result: success, or error (failed, or a change could not be made).",
    );
    let _ = writeln!(
        out,
        "gatehouse_passes_total{{result=\"success\"}} {}\ngatehouse_passes_total{{result=\"error\"}} {}",
        p.ok_total, p.failed_total
    );
    let name = "gatehouse_pass_duration_seconds";
    head(out, name, "histogram", "How long passes took, in seconds.");
    let h = &view.durations;
    for (i, bound) in BUCKETS.iter().enumerate() {
        let n = h.cumulative.get(i).copied().unwrap_or(0);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", h.sum, h.count);
    head(
        out,
        "gatehouse_last_successful_pass_timestamp_seconds",
        "gauge",
        "When the last good pass ended, in seconds since the Unix epoch (0: none yet).",
    );
    let _ = writeln!(
        out,
        "gatehouse_last_successful_pass_timestamp_seconds {}",
        p.last_ok_at.unwrap_or(0)
    );
}

fn apps(out: &mut String, view: &View) {
    let s = &view.snapshot;
    head(
        out,
        "gatehouse_apps",
        "gauge",
        "Published apps by state: protected (authentik in front) or exposed.",
    );
    for state in ["protected", "exposed"] {
        let n = s.apps.iter().filter(|a| a.access == state).count();
        let _ = writeln!(out, "gatehouse_apps{{state=\"{state}\"}} {n}");
    }
    head(
        out,
        "gatehouse_rejected_containers",
        "gauge",
        "Containers whose labels are rejected.",
    );
    let _ = writeln!(out, "gatehouse_rejected_containers {}", s.rejected.len());
}

fn requests_of(out: &mut String, system: &str, what: &str, counts: &RequestCounts) {
    let name = format!("gatehouse_{system}_requests_total");
    head(
        out,
        &name,
        "counter",
        &format!("Requests to {what} by method and status code (<error>: no answer)."),
    );
    for (method, code, n) in counts.snapshot() {
        let _ = writeln!(
            out,
            "{name}{{method=\"{method}\",code=\"{}\"}} {n}",
            escape(&code)
        );
    }
}

fn authentik(out: &mut String, view: &View) {
    let a = &view.snapshot.authentik;
    if !a.enabled {
        return;
    }
    head(
        out,
        "gatehouse_authentik_up",
        "gauge",
        "Whether the latest authentik round reached authentik (1) or not (0).",
    );
    let _ = writeln!(
        out,
        "gatehouse_authentik_up {}",
        u8::from(a.reachable == Some(true))
    );
    if let Some(v) = &a.version {
        head(
            out,
            "gatehouse_authentik_info",
            "gauge",
            "authentik's version as last read; always 1.",
        );
        let _ = writeln!(
            out,
            "gatehouse_authentik_info{{version=\"{}\"}} 1",
            escape(v)
        );
    }
}

fn checks(out: &mut String, view: &View) {
    let checks = &view.snapshot.checks;
    head(
        out,
        "gatehouse_checks",
        "gauge",
        "The latest checks of gatehouse check by level: ok, warn, fail.",
    );
    for (level, name) in [
        (crate::model::check::CheckLevel::Ok, "ok"),
        (crate::model::check::CheckLevel::Warn, "warn"),
        (crate::model::check::CheckLevel::Fail, "fail"),
    ] {
        let n = checks.iter().filter(|c| c.level == level).count();
        let _ = writeln!(out, "gatehouse_checks{{level=\"{name}\"}} {n}");
    }
}

/// A label value escaped as the text format wants: backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// This process's resident memory in bytes (Linux: `/proc/self/statm`), read when `/metrics`
/// is asked for.
pub(crate) fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
