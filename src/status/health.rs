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
pub(crate) const DEFAULT_PATH: &str = "/tmp/gatehouse.health";

/// Extra time beyond two resync intervals before a quiet process counts as stuck.
const SLACK: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub(crate) enum HealthError {
    #[error("no health record at {path}: gatehouse run has not finished a pass yet (or writes elsewhere: GATEHOUSE_HEALTH_FILE)")]
    Missing { path: PathBuf },
    #[error("cannot read the health record {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the health record {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
}

/// What the running process last recorded. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) pid: u32,
    pub(crate) resync_secs: u64,
    /// When the last pass (good or bad) finished.
    pub(crate) last_pass: u64,
    /// When the last good pass finished; `None` if none has yet.
    pub(crate) last_ok: Option<u64>,
    /// Why the last pass failed; `None` when it succeeded.
    pub(crate) last_error: Option<String>,
    /// How authentik provisioning goes, when it is on.
    pub(crate) authentik: Option<AuthentikHealth>,
}

/// authentik provisioning's part of the record: its worker runs beside the passes, so a pass
/// can be good while authentik is unreachable or refuses the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthentikHealth {
    /// Since when the writer has been provisioning (the grace for the first round).
    pub(crate) since: u64,
    /// When the last round that went through ended.
    pub(crate) last_ok: Option<u64>,
    /// Why the last round failed; `None` when it went through (or none has ended yet).
    pub(crate) error: Option<String>,
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
    pub(crate) fn limit(&self) -> Duration {
        Duration::from_secs(self.resync_secs.saturating_mul(2)) + SLACK
    }

    /// Judges the record at time `now` (seconds since the epoch): the passes, then authentik.
    pub(crate) fn verdict(&self, now: u64) -> Verdict {
        let passes = self.pass_verdict(now);
        match (&passes, &self.authentik) {
            (Verdict::Healthy { message }, Some(ak)) => ak.verdict(now, self.limit(), message),
            _ => passes,
        }
    }

    fn pass_verdict(&self, now: u64) -> Verdict {
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
    pub(crate) fn render(&self) -> String {
        let mut s = self.render_passes();
        if let Some(ak) = &self.authentik {
            s.push_str(&format!("authentik_since={}\n", ak.since));
            if let Some(ok) = ak.last_ok {
                s.push_str(&format!("authentik_last_ok={ok}\n"));
            }
            if let Some(e) = &ak.error {
                s.push_str(&format!("authentik_error={}\n", one_line(e)));
            }
        }
        s
    }

    fn render_passes(&self) -> String {
        let mut s = format!(
            "pid={}\nresync_secs={}\nlast_pass={}\n",
            self.pid, self.resync_secs, self.last_pass
        );
        if let Some(ok) = self.last_ok {
            s.push_str(&format!("last_ok={ok}\n"));
        }
        if let Some(e) = &self.last_error {
            s.push_str(&format!("last_error={}\n", one_line(e)));
        }
        s
    }

    /// Parses what [`Record::render`] wrote. Unknown keys are ignored (a newer writer).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pid = None;
        let mut resync = None;
        let mut last_pass = None;
        let mut last_ok = None;
        let mut last_error = None;
        let (mut ak_since, mut ak_ok, mut ak_error) = (None, None, None);
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
                "authentik_since" => ak_since = Some(num(v)?),
                "authentik_last_ok" => ak_ok = Some(num(v)?),
                "authentik_error" => ak_error = Some(v.to_owned()),
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
            authentik: ak_since.map(|since| AuthentikHealth {
                since,
                last_ok: ak_ok,
                error: ak_error,
            }),
        })
    }
}

impl AuthentikHealth {
    /// Healthy while a round went through within `limit` (or provisioning started less than
    /// `limit` ago); `passes` is what the passes' verdict said.
    fn verdict(&self, now: u64, limit: Duration, passes: &str) -> Verdict {
        let limit = limit.as_secs();
        let since = self.last_ok.unwrap_or(self.since);
        let age = now.saturating_sub(since);
        let error = self
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        if age <= limit {
            let ak = match self.last_ok {
                Some(_) if self.error.is_none() => format!("authentik: last round {age}s ago"),
                Some(_) => {
                    format!("authentik: last good round {age}s ago, the last one failed{error}")
                }
                None => format!("authentik: no round has gone through yet{error}"),
            };
            Verdict::Healthy {
                message: format!("{passes}; {ak}"),
            }
        } else {
            let what = match self.last_ok {
                Some(_) => format!("no authentik round has gone through for {age}s"),
                None => format!("no authentik round has gone through in the {age}s since start"),
            };
            Verdict::Unhealthy {
                message: format!("{what}, over the limit of {limit}s{error}"),
            }
        }
    }
}

/// Control characters folded to spaces: a record line is one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the record at `path`.
pub(crate) fn read(path: &Path) -> Result<Record, HealthError> {
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
pub(crate) struct Recorder {
    path: PathBuf,
    resync_secs: u64,
    last_ok: Option<u64>,
    authentik: Option<AuthentikHealth>,
    warned: AtomicBool,
}

impl Recorder {
    pub(crate) fn new(path: PathBuf, resync: Duration) -> Self {
        Self {
            path,
            resync_secs: resync.as_secs().max(1),
            last_ok: None,
            authentik: None,
            warned: AtomicBool::new(false),
        }
    }

    /// authentik provisioning runs from now on: its rounds count for health too.
    pub(crate) fn with_authentik(mut self) -> Self {
        self.authentik = Some(AuthentikHealth {
            since: now_secs(),
            last_ok: None,
            error: None,
        });
        self
    }

    /// Notes how the latest authentik round ended (`at`, seconds since the epoch): `None` when
    /// it went through, else why not. Written with the next pass's record.
    pub(crate) fn authentik_round(&mut self, at: u64, error: Option<String>) {
        if let Some(ak) = &mut self.authentik {
            if error.is_none() {
                ak.last_ok = Some(at);
            }
            ak.error = error;
        }
    }

    /// Records a finished pass: `Ok(())` or the error it failed with.
    pub(crate) fn record<E: fmt::Display>(&mut self, outcome: Result<(), E>) {
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
            authentik: self.authentik.clone(),
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
    pub(crate) fn clear(&self) {
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
#[path = "health_tests.rs"]
mod tests;
