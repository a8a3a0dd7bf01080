//! SWAG's proxy-confs folder: which confs gatehouse owns, what names other confs serve, atomic
//! writes and owned-only removal.
//!
//! A file is gatehouse's when its name is one gatehouse gives (`gatehouse.<name>.subdomain.conf`,
//! see [`render::conf_file_name`]) AND its first line is [`render::MARKER`]; everything else is
//! the user's or SWAG's and is only ever read: a copy of a generated conf kept under another name
//! is the user's even with the marker (said once). Every file here is read with the bounded
//! reader ([`files::read_small`]), found by its bytes (a name that is not UTF-8 still counts),
//! and written with the one atomic writer ([`files::write_atomic`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::edge::files::{self, FileSpec, ReadError};
use crate::model::spec::PresetName;
use crate::model::workload::{ConfDirState, OwnedConf};
use crate::render;

const SUBDOMAIN_CONF: &[u8] = b".subdomain.conf";
const SAMPLE_SUFFIX: &str = ".subdomain.conf.sample";
const OUR_PREFIX: &str = "gatehouse.";
/// The largest conf read: far more than any conf gatehouse writes. A larger one is not
/// gatehouse's (it is never read, rewritten or removed).
const MAX_CONF_BYTES: u64 = 1 << 20;
/// The largest preset sample used. Kept well under [`MAX_CONF_BYTES`], so a conf made from a
/// sample is always small enough to be read back as gatehouse's.
const MAX_SAMPLE_BYTES: u64 = 256 << 10;

#[cfg(test)]
#[path = "confdir_tests.rs"]
mod tests;

#[derive(Debug, thiserror::Error)]
pub enum ConfDirError {
    #[error("SWAG's proxy-confs folder {path} is not there: mount SWAG's /config and point GATEHOUSE_SWAG_CONFIG at it")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
    #[error("{path} does not carry gatehouse's marker; leaving it alone")]
    NotOwned { path: PathBuf },
    #[error("{path} is not a name gatehouse gives its confs (gatehouse.<name>.subdomain.conf); leaving it alone")]
    NotOurName { path: PathBuf },
    #[error("{path}: {reason}; not gatehouse's, leaving it alone")]
    Refused { path: PathBuf, reason: ReadError },
}

impl ConfDirError {
    /// The file system's trouble (exit 74 for `run --once`), as opposed to a file gatehouse
    /// refuses to touch because it is not its own.
    pub(crate) fn is_io(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. } | Self::Read { .. } | Self::Write { .. } | Self::Remove { .. }
        )
    }
}

/// The proxy-confs folder and the owner new confs get.
#[derive(Debug)]
pub(crate) struct ConfDir {
    /// `<SWAG config>/gatehouse`, where the state files are written (swept with the confs).
    state_dir: PathBuf,
    proxy_confs: PathBuf,
    site_confs: PathBuf,
    owner: (u32, u32),
    chown_warned: AtomicBool,
    /// Files already warned about, with the topic: each warning once per file per process.
    warned: Mutex<BTreeSet<(PathBuf, &'static str)>>,
}

/// Whether `name` is one gatehouse gives its confs.
pub(crate) fn is_our_name(name: &str) -> bool {
    name.strip_prefix(OUR_PREFIX)
        .and_then(|rest| rest.strip_suffix(".subdomain.conf"))
        .is_some_and(|middle| !middle.is_empty())
}

impl ConfDir {
    /// `swag_config` is SWAG's `/config`; new files are owned by `puid:pgid` (SWAG's PUID/PGID).
    pub(crate) fn new(swag_config: &Path, puid: u32, pgid: u32) -> Self {
        Self {
            state_dir: swag_config.join("gatehouse"),
            proxy_confs: swag_config.join("nginx").join("proxy-confs"),
            site_confs: swag_config.join("nginx").join("site-confs"),
            owner: (puid, pgid),
            chown_warned: AtomicBool::new(false),
            warned: Mutex::new(BTreeSet::new()),
        }
    }

    /// Removes the temp files a crash left behind in the folders gatehouse writes, one line
    /// each.
    /// `confs` are proxy-confs' entries as the scan listed them.
    fn sweep(&self, confs: &[OsString]) {
        let age = files::TEMP_LEFT_BEHIND;
        let swept = [
            (
                &self.proxy_confs,
                files::sweep_temps_among(&self.proxy_confs, confs, age),
            ),
            (&self.state_dir, files::sweep_temps(&self.state_dir, age)),
        ];
        for (dir, names) in swept {
            for name in names {
                let path = dir.join(&name);
                tracing::info!(path = %path.display(), "removed a temp file an interrupted write left behind");
            }
        }
    }

    /// Reads the folder: owned confs with their text, the server names other active confs serve
    /// (proxy-confs and site-confs), and which samples exist.
    pub(crate) fn scan(&self) -> Result<ConfDirState, ConfDirError> {
        let mut state = ConfDirState::default();
        let names = match names_in(&self.proxy_confs) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ConfDirError::Missing {
                    path: self.proxy_confs.clone(),
                })
            }
            Err(source) => {
                return Err(ConfDirError::Read {
                    path: self.proxy_confs.clone(),
                    source,
                })
            }
        };
        self.sweep(&names);
        for name in names {
            if let Some(sample) = name.to_str().and_then(|n| n.strip_suffix(SAMPLE_SUFFIX)) {
                state.samples.insert(sample.to_owned());
                continue;
            }
            if is_active(&name, SUBDOMAIN_CONF) {
                self.scan_proxy_conf(&mut state, &name);
            }
        }
        // site-confs is optional (a test tree, an old SWAG): nothing to learn when it is absent.
        for name in names_in(&self.site_confs).unwrap_or_default() {
            if !is_active(&name, b".conf") {
                continue;
            }
            if let Some(head) = self.read_or_skip(&self.site_confs.join(&name)) {
                let shown = format!("site-confs/{}", name.to_string_lossy());
                add_server_names(&mut state, &shown, &text_of(&head));
            }
        }
        Ok(state)
    }

    /// One `*.subdomain.conf`: gatehouse's when both its name and its marker say so, else its
    /// server names are someone else's.
    fn scan_proxy_conf(&self, state: &mut ConfDirState, name: &OsString) {
        let path = self.proxy_confs.join(name);
        let Some(head) = self.read_or_skip(&path) else {
            return;
        };
        let text = text_of(&head);
        let header = render::parse_header(&text).filter(|_| head.complete);
        match (name.to_str().filter(|n| is_our_name(n)), header) {
            (Some(ours), Some(h)) => {
                state.owned.insert(
                    ours.to_owned(),
                    OwnedConf {
                        content: text,
                        container: h.container,
                        protected: h.protected,
                    },
                );
            }
            (theirs, header) => {
                if header.is_some() && theirs.is_none() {
                    self.warn_once(&path, "marked copy", || {
                        tracing::warn!(
                            file = %path.display(),
                            "this conf still carries gatehouse's marker (its first line) but is not named gatehouse.<name>.subdomain.conf: it is yours, gatehouse never rewrites or removes it and respects its server names; remove the first line to silence this"
                        );
                    });
                }
                let shown = format!("proxy-confs/{}", name.to_string_lossy());
                add_server_names(state, &shown, &text);
            }
        }
    }

    /// The text of the named samples that exist; a sample that cannot be read is left out.
    pub(crate) fn read_samples(&self, names: &BTreeSet<PresetName>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in names {
            let path = self.proxy_confs.join(name.sample_file_name());
            match files::read_small(&path, MAX_SAMPLE_BYTES) {
                Ok(Some(bytes)) => {
                    out.insert(
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(&bytes).into_owned(),
                    );
                }
                Ok(None) => {}
                Err(e) => self.warn_once(&path, "unreadable", || {
                    tracing::warn!(file = %path.display(), reason = %e, "cannot read SWAG sample; not used");
                }),
            }
        }
        out
    }

    /// Writes `content` to `file` unless it already holds exactly that. Returns whether it wrote.
    /// Refuses to replace a file that is not gatehouse's (name, marker, a regular file small
    /// enough to be one).
    pub(crate) fn write(&self, file: &str, content: &str) -> Result<bool, ConfDirError> {
        let path = self.ours(file)?;
        match self.read_target(&path)? {
            Some(existing) if existing == content.as_bytes() => return Ok(false),
            Some(existing) if !existing.starts_with(render::MARKER.as_bytes()) => {
                return Err(ConfDirError::NotOwned { path })
            }
            _ => {}
        }
        let spec = FileSpec::readable(MAX_CONF_BYTES).owned_by(Some(self.owner));
        let written = files::write_atomic(&path, content.as_bytes(), &spec).map_err(|source| {
            ConfDirError::Write {
                path: path.clone(),
                source,
            }
        })?;
        if let Some(e) = written.owner_refused {
            self.owner_refused(&e);
        }
        Ok(written.changed)
    }

    /// Removes `file` if it is gatehouse's. Returns whether it removed anything.
    pub(crate) fn remove(&self, file: &str) -> Result<bool, ConfDirError> {
        let path = self.ours(file)?;
        let Some(text) = self.read_target(&path)? else {
            return Ok(false);
        };
        if !text.starts_with(render::MARKER.as_bytes()) {
            return Err(ConfDirError::NotOwned { path });
        }
        fs::remove_file(&path).map_err(|source| ConfDirError::Remove { path, source })?;
        Ok(true)
    }

    /// The path of `file`, when it is a name gatehouse gives.
    fn ours(&self, file: &str) -> Result<PathBuf, ConfDirError> {
        let path = self.proxy_confs.join(file);
        if !is_our_name(file) || file.contains('/') {
            return Err(ConfDirError::NotOurName { path });
        }
        Ok(path)
    }

    /// A conf's own target before it is written or removed: its bytes, `None` when absent; a
    /// symlink, FIFO, folder or oversized file is refused.
    fn read_target(&self, path: &Path) -> Result<Option<Vec<u8>>, ConfDirError> {
        match files::read_small(path, MAX_CONF_BYTES) {
            Ok(b) => Ok(b),
            Err(ReadError::Io(source)) => Err(ConfDirError::Read {
                path: path.to_owned(),
                source,
            }),
            Err(reason) => Err(ConfDirError::Refused {
                path: path.to_owned(),
                reason,
            }),
        }
    }

    /// Reads a conf for the scan: its text, `None` when it is not read. A file that cannot be
    /// read (a FIFO, a symlink, a device, another user's 0600 file) is skipped with a warning,
    /// once, so one bad file neither hangs nor stops any pass. One over the size bound is not
    /// gatehouse's; only its first bytes are read, for the names it serves.
    fn read_or_skip(&self, path: &Path) -> Option<files::Head> {
        match files::read_head(path, MAX_CONF_BYTES) {
            Ok(Some(head)) => {
                if !head.complete {
                    self.warn_once(path, "too large", || {
                        tracing::warn!(file = %path.display(), max_bytes = MAX_CONF_BYTES, "this conf is larger than gatehouse reads: not gatehouse's, it is never rewritten or removed; only the server names in its first bytes are known to gatehouse");
                    });
                }
                Some(head)
            }
            Ok(None) => None,
            Err(e) => {
                self.warn_once(path, "unreadable", || {
                    tracing::warn!(file = %path.display(), reason = %e, "skipping a conf gatehouse will not read; the server names it may serve are not known to gatehouse");
                });
                None
            }
        }
    }

    /// Runs `warn` the first time `path` is warned about under `topic` in this process.
    fn warn_once(&self, path: &Path, topic: &'static str, warn: impl FnOnce()) {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.insert((path.to_owned(), topic)) {
            warn();
        }
    }

    /// SWAG runs as PUID:PGID; its files should belong to that user. Without the right to chown
    /// (gatehouse not root), the file keeps gatehouse's own user, which is said once.
    fn owner_refused(&self, e: &io::Error) {
        let (uid, gid) = self.owner;
        if !self.chown_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                uid,
                gid,
                error = %e,
                "cannot give confs to SWAG's user (PUID/PGID); they keep gatehouse's user, which SWAG can still read"
            );
        }
    }
}

/// The entry names of `dir`, by bytes (a name that is not UTF-8 is kept), sorted.
fn names_in(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    Ok(names)
}

/// Whether nginx's `*<suffix>` include loads `name`: the suffix, and not a dot-file (nginx's glob
/// skips those, and gatehouse's temp files are dot-files).
fn is_active(name: &OsString, suffix: &[u8]) -> bool {
    let b = name.as_bytes();
    b.ends_with(suffix) && b.len() > suffix.len() && !b.starts_with(b".")
}

/// A conf's text; bytes that are not UTF-8 replaced (a user's conf in Latin-1 still shows its
/// `server_name`).
fn text_of(head: &files::Head) -> String {
    String::from_utf8_lossy(&head.bytes).into_owned()
}

fn add_server_names(state: &mut ConfDirState, file: &str, text: &str) {
    for token in render::server_name_tokens(text) {
        state
            .foreign_server_names
            .entry(token)
            .or_insert_with(|| file.to_owned());
    }
}
