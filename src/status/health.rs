//! Health: the running `gatehouse run` records when it last finished a pass and how it went, in a
//! small file; `gatehouse health` reads that file and answers for the process, not the network.
//!
//! The record is a few `key=value` lines, written atomically after every pass. The check is pure
//! ([`Record::verdict`]): healthy while the last successful pass is recent, where "recent" follows
//! from the resync interval the writer ran with (a watching gatehouse passes at least once per
//! resync interval, so two intervals plus slack without a good pass means it is stuck or failing).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::edge::files;

/// A record is a few short lines; anything larger is not one.
const MAX_BYTES: u64 = 64 << 10;

/// Where the health record lives unless `GATEHOUSE_HEALTH_FILE` says otherwise.
pub const DEFAULT_PATH: &str = "/tmp/gatehouse.health";

/// Extra time beyond two resync intervals before a quiet process counts as stuck.
const SLACK: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("no health record at {path}: gatehouse run has not finished a pass yet (or writes elsewhere: GATEHOUSE_HEALTH_FILE)")]
    Missing { path: PathBuf },
    #[error("cannot read the health record {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the health record {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
}

/// What the running process last recorded. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub pid: u32,
    pub resync_secs: u64,
    /// When the last pass (good or bad) finished.
    pub last_pass: u64,
    /// When the last good pass finished; `None` if none has yet.
    pub last_ok: Option<u64>,
    /// Why the last pass failed; `None` when it succeeded.
    pub last_error: Option<String>,
}

/// The answer `gatehouse health` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Healthy { message: String },
    Unhealthy { message: String },
}

impl Verdict {
    pub fn is_healthy(&self) -> bool {
        matches!(self, Self::Healthy { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Healthy { message } => write!(f, "healthy: {message}"),
            Self::Unhealthy { message } => write!(f, "unhealthy: {message}"),
        }
    }
}

impl Record {
    /// The longest a watching process may go without a good pass.
    pub fn limit(&self) -> Duration {
        Duration::from_secs(self.resync_secs.saturating_mul(2)) + SLACK
    }

    /// Judges the record at time `now` (seconds since the epoch).
    pub fn verdict(&self, now: u64) -> Verdict {
        let limit = self.limit().as_secs();
        let error = self
            .last_error
            .as_deref()
            .map(|e| format!("; last pass failed: {e}"))
            .unwrap_or_default();
        match self.last_ok {
            None => Verdict::Unhealthy {
                message: format!("no pass has succeeded yet{error}"),
            },
            Some(ok) => {
                let age = now.saturating_sub(ok);
                if age <= limit {
                    Verdict::Healthy {
                        message: format!("last good pass {age}s ago (limit {limit}s){error}"),
                    }
                } else {
                    Verdict::Unhealthy {
                        message: format!(
                            "last good pass {age}s ago, over the limit of {limit}s (twice GATEHOUSE_RESYNC_SECS={} plus {}s){error}",
                            self.resync_secs,
                            SLACK.as_secs()
                        ),
                    }
                }
            }
        }
    }

    /// The file's text. Error messages are folded onto one line.
    pub fn render(&self) -> String {
        let mut s = format!(
            "pid={}\nresync_secs={}\nlast_pass={}\n",
            self.pid, self.resync_secs, self.last_pass
        );
        if let Some(ok) = self.last_ok {
            s.push_str(&format!("last_ok={ok}\n"));
        }
        if let Some(e) = &self.last_error {
            let one_line: String = e
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            s.push_str(&format!("last_error={one_line}\n"));
        }
        s
    }

    /// Parses what [`Record::render`] wrote. Unknown keys are ignored (a newer writer).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pid = None;
        let mut resync = None;
        let mut last_pass = None;
        let mut last_ok = None;
        let mut last_error = None;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line without '=': {line:?}"))?;
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{k} is not a number: {v:?}"))
            };
            match k {
                "pid" => pid = Some(num(v)?),
                "resync_secs" => resync = Some(num(v)?),
                "last_pass" => last_pass = Some(num(v)?),
                "last_ok" => last_ok = Some(num(v)?),
                "last_error" => last_error = Some(v.to_owned()),
                _ => {}
            }
        }
        Ok(Record {
            pid: pid
                .and_then(|p| u32::try_from(p).ok())
                .ok_or("pid missing")?,
            resync_secs: resync.ok_or("resync_secs missing")?,
            last_pass: last_pass.ok_or("last_pass missing")?,
            last_ok,
            last_error,
        })
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the record at `path`.
pub fn read(path: &Path) -> Result<Record, HealthError> {
    let bytes = match files::read_small(path, MAX_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(HealthError::Missing {
                path: path.to_owned(),
            })
        }
        Err(files::ReadError::Io(source)) => {
            return Err(HealthError::Read {
                path: path.to_owned(),
                source,
            })
        }
        Err(e) => {
            return Err(HealthError::Damaged {
                path: path.to_owned(),
                reason: e.to_string(),
            })
        }
    };
    Record::parse(&String::from_utf8_lossy(&bytes)).map_err(|reason| HealthError::Damaged {
        path: path.to_owned(),
        reason,
    })
}

/// `gatehouse health`: the verdict for the record at `path`, now. A record whose writer is no
/// longer running is not healthy, however recent its last pass.
pub fn check(path: &Path) -> Verdict {
    match read(path) {
        Ok(record) if !process_runs(record.pid) => Verdict::Unhealthy {
            message: format!(
                "the gatehouse that wrote {} (pid {}) is not running",
                path.display(),
                record.pid
            ),
        },
        Ok(record) => record.verdict(now_secs()),
        Err(e) => Verdict::Unhealthy {
            message: e.to_string(),
        },
    }
}

/// Whether a process `pid` exists (in this PID namespace: the health check runs in gatehouse's
/// own container).
fn process_runs(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The writer side, held by the watch loop: remembers the last good pass and rewrites the file
/// after every pass. A file that cannot be written is logged once and never stops the loop.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    resync_secs: u64,
    last_ok: Option<u64>,
    warned: AtomicBool,
}

impl Recorder {
    pub fn new(path: PathBuf, resync: Duration) -> Self {
        Self {
            path,
            resync_secs: resync.as_secs().max(1),
            last_ok: None,
            warned: AtomicBool::new(false),
        }
    }

    /// Records a finished pass: `Ok(())` or the error it failed with.
    pub fn record<E: fmt::Display>(&mut self, outcome: Result<(), E>) {
        let now = now_secs();
        let last_error = match outcome {
            Ok(()) => {
                self.last_ok = Some(now);
                None
            }
            Err(e) => Some(e.to_string()),
        };
        let record = Record {
            pid: std::process::id(),
            resync_secs: self.resync_secs,
            last_pass: now,
            last_ok: self.last_ok,
            last_error,
        };
        match files::write_atomic(&self.path, record.render().as_bytes(), &spec()) {
            Ok(_) => {
                if self.warned.swap(false, Ordering::Relaxed) {
                    tracing::info!(path = %self.path.display(), "health record written again");
                }
            }
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        path = %self.path.display(),
                        error = %e,
                        "cannot write the health record; `gatehouse health` will report unhealthy (set GATEHOUSE_HEALTH_FILE to a writable path)"
                    );
                }
            }
        }
    }
}

impl Recorder {
    /// On a clean stop: the record goes, so `gatehouse health` does not speak for a process that
    /// has ended.
    pub fn clear(&self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove the health record")
            }
        }
    }
}

/// The record: small, readable by anyone (the health check may run as another user).
fn spec() -> files::FileSpec {
    files::FileSpec::readable(MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(last_ok: Option<u64>, last_error: Option<&str>) -> Record {
        Record {
            pid: 7,
            resync_secs: 60,
            last_pass: 1_000,
            last_ok,
            last_error: last_error.map(str::to_owned),
        }
    }

    #[test]
    fn a_recent_good_pass_is_healthy() {
        let v = record(Some(1_000), None).verdict(1_010);
        assert!(v.is_healthy(), "{v}");
        assert_eq!(
            v.to_string(),
            "healthy: last good pass 10s ago (limit 150s)"
        );
    }

    #[test]
    fn the_limit_is_two_resyncs_plus_slack() {
        let r = record(Some(1_000), None);
        assert!(r.verdict(1_150).is_healthy());
        let v = r.verdict(1_151);
        assert!(!v.is_healthy());
        assert!(v.to_string().contains("over the limit of 150s"), "{v}");
    }

    #[test]
    fn one_failed_pass_after_a_recent_good_one_is_still_healthy_but_says_so() {
        let v = record(Some(1_000), Some("engine unreachable")).verdict(1_020);
        assert!(v.is_healthy());
        assert!(v
            .to_string()
            .contains("last pass failed: engine unreachable"));
    }

    #[test]
    fn never_a_good_pass_is_unhealthy() {
        let v = record(None, Some("permission denied")).verdict(1_000);
        assert_eq!(
            v.to_string(),
            "unhealthy: no pass has succeeded yet; last pass failed: permission denied"
        );
    }

    #[test]
    fn render_and_parse_round_trip_and_fold_newlines() {
        let r = record(Some(990), Some("two\nlines"));
        let text = r.render();
        assert_eq!(text.lines().count(), 5);
        let back = Record::parse(&text).unwrap();
        assert_eq!(back.last_error.as_deref(), Some("two lines"));
        assert_eq!(back.last_ok, Some(990));
        assert_eq!(back.resync_secs, 60);
    }

    #[test]
    fn damaged_records_are_reported() {
        assert!(Record::parse("pid=1\nresync_secs=x\nlast_pass=1\n")
            .unwrap_err()
            .contains("resync_secs is not a number"));
        assert!(Record::parse("pid=1\n").unwrap_err().contains("missing"));
        assert!(Record::parse("garbage").is_err());
    }

    #[test]
    fn recorder_writes_and_check_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let v = check(&path);
        assert!(!v.is_healthy());
        assert!(v.to_string().contains("has not finished a pass yet"), "{v}");
        let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
        rec.record(Err("boom"));
        assert!(!check(&path).is_healthy());
        rec.record(Ok::<(), String>(()));
        let v = check(&path);
        assert!(v.is_healthy(), "{v}");
        rec.record(Err("engine gone"));
        let r = read(&path).unwrap();
        assert_eq!(r.last_error.as_deref(), Some("engine gone"));
        assert!(r.last_ok.is_some());
        assert_eq!(r.pid, std::process::id());
        // no temp files left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_link_planted_at_the_old_temp_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let old_tmp = dir.path().join(format!(".h.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
        let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
        rec.record(Ok::<(), String>(()));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(check(&path).is_healthy());
    }

    #[test]
    fn a_fifo_in_place_of_the_record_does_not_hang_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let v = check(&path);
        assert!(v.to_string().contains("FIFO"), "{v}");
    }

    #[test]
    fn a_record_whose_process_is_gone_is_unhealthy_and_a_clean_stop_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
        rec.record(Ok::<(), String>(()));
        assert!(check(&path).is_healthy(), "{}", check(&path));
        // The same record, written by a process that has ended.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mut r = read(&path).unwrap();
        r.pid = dead;
        std::fs::write(&path, r.render()).unwrap();
        let v = check(&path);
        assert!(!v.is_healthy(), "{v}");
        assert!(v.to_string().contains("is not running"), "{v}");
        rec.clear();
        assert!(!path.exists());
        assert!(check(&path).to_string().contains("no health record"));
    }
}
