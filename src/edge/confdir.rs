//! SWAG's proxy-confs folder: which confs gatehouse owns, what names other confs serve, atomic
//! writes and owned-only removal.
//!
//! A file is gatehouse's when its first line is [`render::MARKER`]; everything else is the user's or
//! SWAG's and is only ever read. Writes go to a dot-file that SWAG's `*.subdomain.conf` include
//! cannot match, then are renamed over the target, and are skipped when the bytes are the same.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::model::spec::PresetName;
use crate::model::workload::{ConfDirState, OwnedConf};
use crate::render;

const SUBDOMAIN_CONF: &str = ".subdomain.conf";
const SAMPLE_SUFFIX: &str = ".subdomain.conf.sample";
/// How much of a conf is read: more than any conf gatehouse writes.
const MAX_CONF_BYTES: u64 = 1 << 20;

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
}

/// The proxy-confs folder and the owner new confs get.
#[derive(Debug)]
pub struct ConfDir {
    proxy_confs: PathBuf,
    site_confs: PathBuf,
    owner: (u32, u32),
    chown_warned: AtomicBool,
    unreadable: Mutex<BTreeSet<PathBuf>>,
}

impl ConfDir {
    /// `swag_config` is SWAG's `/config`; new files are owned by `puid:pgid` (SWAG's PUID/PGID).
    pub fn new(swag_config: &Path, puid: u32, pgid: u32) -> Self {
        Self {
            proxy_confs: swag_config.join("nginx").join("proxy-confs"),
            site_confs: swag_config.join("nginx").join("site-confs"),
            owner: (puid, pgid),
            chown_warned: AtomicBool::new(false),
            unreadable: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.proxy_confs
    }

    /// Reads the folder: owned confs with their text, the server names other active confs serve
    /// (proxy-confs and site-confs), and which samples exist.
    pub fn scan(&self) -> Result<ConfDirState, ConfDirError> {
        let mut state = ConfDirState::default();
        let entries = match fs::read_dir(&self.proxy_confs) {
            Ok(e) => e,
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
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if let Some(sample) = name.strip_suffix(SAMPLE_SUFFIX) {
                state.samples.insert(sample.to_owned());
                continue;
            }
            if !name.ends_with(SUBDOMAIN_CONF) || name.starts_with('.') {
                continue;
            }
            let path = self.proxy_confs.join(&name);
            let Some(text) = self.read_or_skip(&path) else {
                continue;
            };
            match render::parse_header(&text) {
                Some(h) => {
                    state.owned.insert(
                        name,
                        OwnedConf {
                            content: text,
                            container: h.container,
                            protected: h.protected,
                        },
                    );
                }
                None => add_server_names(&mut state, &format!("proxy-confs/{name}"), &text),
            }
        }
        if let Ok(entries) = fs::read_dir(&self.site_confs) {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".conf"))
                .collect();
            names.sort();
            for name in names {
                if let Some(text) = self.read_or_skip(&self.site_confs.join(&name)) {
                    add_server_names(&mut state, &format!("site-confs/{name}"), &text);
                }
            }
        }
        Ok(state)
    }

    /// The text of the named samples that exist; a sample that cannot be read is left out.
    pub fn read_samples(&self, names: &BTreeSet<PresetName>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in names {
            let path = self.proxy_confs.join(name.sample_file_name());
            match read_text(&path) {
                Ok(Some(text)) => {
                    out.insert(name.as_str().to_owned(), text);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read SWAG sample"),
            }
        }
        out
    }

    /// Writes `content` to `file` unless it already holds exactly that. Returns whether it wrote.
    /// Refuses to replace a file that lacks gatehouse's marker.
    pub fn write(&self, file: &str, content: &str) -> Result<bool, ConfDirError> {
        let path = self.proxy_confs.join(file);
        match fs::read(&path) {
            Ok(existing) if existing == content.as_bytes() => return Ok(false),
            Ok(existing) => {
                if !String::from_utf8_lossy(&existing).starts_with(render::MARKER) {
                    return Err(ConfDirError::NotOwned { path });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(ConfDirError::Read { path, source }),
        }
        let tmp = self.proxy_confs.join(format!(".gatehouse.{file}.tmp"));
        let werr = |source| ConfDirError::Write {
            path: path.clone(),
            source,
        };
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(content.as_bytes())?;
            f.set_permissions(fs::Permissions::from_mode(0o644))?;
            self.give_to_swag(&tmp);
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(werr(e));
        }
        Ok(true)
    }

    /// Removes `file` if it carries gatehouse's marker. Returns whether it removed anything.
    pub fn remove(&self, file: &str) -> Result<bool, ConfDirError> {
        let path = self.proxy_confs.join(file);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(ConfDirError::Read { path, source }),
        };
        if !String::from_utf8_lossy(&text).starts_with(render::MARKER) {
            return Err(ConfDirError::NotOwned { path });
        }
        fs::remove_file(&path).map_err(|source| ConfDirError::Remove { path, source })?;
        Ok(true)
    }

    /// Reads a conf for the scan. A file that cannot be read (another user's 0600 file, a link
    /// loop) is skipped with a warning, once, so one bad file does not stop every pass.
    fn read_or_skip(&self, path: &Path) -> Option<String> {
        match read_text(path) {
            Ok(t) => t,
            Err(e) => {
                let mut warned = self.unreadable.lock().unwrap_or_else(|p| p.into_inner());
                if warned.insert(path.to_owned()) {
                    tracing::warn!(error = %e, "skipping a conf gatehouse cannot read; its server names are not known to gatehouse");
                }
                None
            }
        }
    }

    /// SWAG runs as PUID:PGID; its files should belong to that user. Without the right to chown
    /// (gatehouse not root), the file keeps gatehouse's own user, which is said once.
    fn give_to_swag(&self, path: &Path) {
        let (uid, gid) = self.owner;
        if let Err(e) = std::os::unix::fs::chown(path, Some(uid), Some(gid)) {
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
}

/// Reads a file's text, at most [`MAX_CONF_BYTES`] of it, bytes that are not UTF-8 replaced (a
/// user's conf in Latin-1 still shows its `server_name`); `None` when it is not a regular file or
/// vanished.
fn read_text(path: &Path) -> Result<Option<String>, ConfDirError> {
    let err = |source| ConfDirError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    if !file.metadata().map_err(err)?.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONF_BYTES)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

fn add_server_names(state: &mut ConfDirState, file: &str, text: &str) {
    for token in render::server_name_tokens(text) {
        state
            .foreign_server_names
            .entry(token)
            .or_insert_with(|| file.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_conf_that_is_not_utf8_still_shows_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let confs = dir.path().join("nginx/proxy-confs");
        fs::create_dir_all(&confs).unwrap();
        let mut latin1 = b"# caf\xe9\nserver {\n    server_name app.*;\n}\n".to_vec();
        latin1.extend_from_slice(b"\n");
        fs::write(confs.join("app.subdomain.conf"), latin1).unwrap();
        fs::write(
            confs.join("gatehouse.web.subdomain.conf"),
            format!(
                "{}\n## gatehouse: container=web access=protected template=builtin\n",
                render::MARKER
            ),
        )
        .unwrap();
        let state = ConfDir::new(dir.path(), 0, 0).scan().unwrap();
        assert_eq!(
            state.foreign_server_names.get("app.*").map(String::as_str),
            Some("proxy-confs/app.subdomain.conf")
        );
        let owned = &state.owned["gatehouse.web.subdomain.conf"];
        assert_eq!(
            (owned.container.as_deref(), owned.protected),
            (Some("web"), true)
        );
    }

    #[test]
    fn writes_are_skipped_when_equal_and_refused_over_a_users_file() {
        let dir = tempfile::tempdir().unwrap();
        let confs = dir.path().join("nginx/proxy-confs");
        fs::create_dir_all(&confs).unwrap();
        let cd = ConfDir::new(dir.path(), crate_uid(), crate_gid());
        let text = format!("{}\nserver {{}}\n", render::MARKER);
        assert!(cd.write("gatehouse.a.subdomain.conf", &text).unwrap());
        assert!(!cd.write("gatehouse.a.subdomain.conf", &text).unwrap());
        fs::write(confs.join("gatehouse.b.subdomain.conf"), "# mine\n").unwrap();
        assert!(matches!(
            cd.write("gatehouse.b.subdomain.conf", &text),
            Err(ConfDirError::NotOwned { .. })
        ));
        assert!(matches!(
            cd.remove("gatehouse.b.subdomain.conf"),
            Err(ConfDirError::NotOwned { .. })
        ));
        assert_eq!(
            fs::read_to_string(confs.join("gatehouse.b.subdomain.conf")).unwrap(),
            "# mine\n"
        );
        assert!(cd.remove("gatehouse.a.subdomain.conf").unwrap());
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(&confs)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    fn crate_uid() -> u32 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0)
    }

    fn crate_gid() -> u32 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata("/proc/self").map(|m| m.gid()).unwrap_or(0)
    }
}
