//! The credentials folder of single sign-on apps (`GATEHOUSE_SSO_DIR`, one subfolder per
//! application slug): `client_id`, `client_secret`, `issuer`, `discovery_url` and `oidc.env`,
//! written with the one atomic writer (mode 0640, given to the app's owner), never through a
//! symlink out of the folder, and skipped when unchanged. Only these names are ever removed.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::files::{self, FileSpec};

/// The files gatehouse writes in an app's folder (and the only ones it removes).
pub const FILES: [&str; 5] = [
    "client_id",
    "client_secret",
    "issuer",
    "discovery_url",
    "oidc.env",
];

/// The largest credential file read back for the "same bytes" check.
const MAX: u64 = 64 * 1024;

/// What goes into one app's folder.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    pub(crate) client_id: String,
    /// `None`: a public client (no secret file, no secret line).
    pub(crate) client_secret: Option<String>,
    pub(crate) issuer: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creds")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "(hidden)"),
            )
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl Creds {
    pub(crate) fn discovery_url(&self) -> String {
        format!("{}.well-known/openid-configuration", self.issuer)
    }

    /// Each file's name and content (no final newline: apps reading `*_FILE` take the whole
    /// file as the value).
    pub(crate) fn files(&self) -> Vec<(&'static str, String)> {
        let mut env = format!(
            "OIDC_CLIENT_ID={}\nOIDC_ISSUER={}\nOIDC_DISCOVERY_URL={}\n",
            self.client_id,
            self.issuer,
            self.discovery_url()
        );
        let mut out = vec![("client_id", self.client_id.clone())];
        if let Some(s) = &self.client_secret {
            env.push_str(&format!("OIDC_CLIENT_SECRET={s}\n"));
            out.push(("client_secret", s.clone()));
        }
        out.push(("issuer", self.issuer.clone()));
        out.push(("discovery_url", self.discovery_url()));
        out.push(("oidc.env", env));
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SsoDirError {
    #[error("{path} is a symlink: gatehouse does not write credentials through one (make it a real folder)")]
    Symlink { path: PathBuf },
    #[error("{path} is a {kind}, not a folder")]
    NotADir { path: PathBuf, kind: String },
    #[error("cannot use {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The credentials folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoDir {
    root: PathBuf,
}

/// What writing one app's credentials did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wrote {
    /// Files whose bytes changed (0 on an unchanged resync).
    pub(crate) changed: usize,
    /// The owner could not be given (gatehouse is not root).
    pub(crate) owner_refused: bool,
}

impl SsoDir {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// An app's folder (`slug` is an application slug: `a-z 0-9 - _`, never a path).
    pub(crate) fn folder(&self, slug: &str) -> PathBuf {
        self.root.join(slug)
    }

    /// A real folder at `path` (made when missing, with `mode`, given to `owner`), never a
    /// symlink.
    fn real_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), SsoDirError> {
        let io_err = |source| SsoDirError::Io {
            path: path.to_owned(),
            source,
        };
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(SsoDirError::Symlink {
                path: path.to_owned(),
            }),
            Ok(m) if !m.is_dir() => Err(SsoDirError::NotADir {
                path: path.to_owned(),
                kind: files::kind_of(&m),
            }),
            Ok(m) => {
                if let Some((uid, gid)) = owner.filter(|_| files::effective_uid() == 0) {
                    if (m.uid(), m.gid()) != (uid, gid) {
                        give_dir(path, uid, gid).map_err(io_err)?;
                    }
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(mode).create(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Self::real_dir(path, mode, owner)
                    }
                    Err(e) => return Err(io_err(e)),
                }
                if let Some((uid, gid)) = owner.filter(|_| files::effective_uid() == 0) {
                    give_dir(path, uid, gid).map_err(io_err)?;
                }
                Ok(())
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// Writes `creds` into `slug`'s folder (made when missing), each file atomically with mode
    /// 0640 and given to `owner`; files that already hold the bytes are not touched.
    pub(crate) fn write(
        &self,
        slug: &str,
        creds: &Creds,
        owner: (u32, u32),
    ) -> Result<Wrote, SsoDirError> {
        // The folders above it (`<SWAG config>/gatehouse` by default) may not exist yet.
        if let Some(parent) = self.root.parent() {
            if !parent.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(|source| SsoDirError::Io {
                        path: parent.to_owned(),
                        source,
                    })?;
            }
        }
        Self::real_dir(&self.root, 0o755, None)?;
        let folder = self.folder(slug);
        Self::real_dir(&folder, 0o750, Some(owner))?;
        let spec = FileSpec {
            mode: 0o640,
            owner: Some(owner),
            max: MAX,
        };
        let mut wrote = Wrote::default();
        let wanted = creds.files();
        for (name, content) in &wanted {
            let path = folder.join(name);
            let w = files::write_atomic(&path, content.as_bytes(), &spec)
                .map_err(|source| SsoDirError::Io { path, source })?;
            wrote.changed += usize::from(w.changed);
            wrote.owner_refused |= w.owner_refused.is_some();
        }
        // A secret file left from when the client was confidential goes.
        for name in FILES {
            if !wanted.iter().any(|(n, _)| *n == name) {
                let path = folder.join(name);
                match fs::remove_file(&path) {
                    Ok(()) => wrote.changed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => return Err(SsoDirError::Io { path, source }),
                }
            }
        }
        Ok(wrote)
    }

    /// Removes gatehouse's files from `slug`'s folder, and the folder when that leaves it
    /// empty. Returns how many files went.
    pub(crate) fn remove(&self, slug: &str) -> Result<usize, SsoDirError> {
        let folder = self.folder(slug);
        match fs::symlink_metadata(&folder) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(SsoDirError::Symlink { path: folder });
            }
            Ok(m) if !m.is_dir() => return Ok(0),
            Ok(_) => {}
            Err(source) => {
                return Err(SsoDirError::Io {
                    path: folder,
                    source,
                })
            }
        }
        let mut gone = 0;
        for name in FILES {
            let path = folder.join(name);
            match fs::remove_file(&path) {
                Ok(()) => gone += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(SsoDirError::Io { path, source }),
            }
        }
        // Not empty (the user keeps something there): it stays.
        let _ = fs::remove_dir(&folder);
        Ok(gone)
    }

    /// One file of `slug`'s folder, read whole (bounded); `None` when missing.
    pub(crate) fn read(&self, slug: &str, name: &str) -> Option<String> {
        let folder = self.folder(slug);
        let m = fs::symlink_metadata(&folder).ok()?;
        if !m.is_dir() {
            return None;
        }
        let bytes = files::read_small(&folder.join(name), MAX).ok()??;
        String::from_utf8(bytes).ok()
    }
}

fn give_dir(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    std::os::unix::fs::fchown(&dir, Some(uid), Some(gid))
}

/// A new client secret: 64 characters from the OS CSPRNG (`/dev/urandom`).
pub(crate) fn new_client_secret() -> io::Result<String> {
    use std::io::Read as _;
    let mut f = fs::File::open("/dev/urandom")?;
    let mut failed = None;
    let secret = crate::commands::init::secret(64, &mut |buf| {
        if let Err(e) = f.read_exact(buf) {
            failed = Some(e);
            // The secret made of these is thrown away with the error below.
            buf.fill(0);
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(secret),
    }
}

#[cfg(test)]
#[path = "sso_tests.rs"]
mod tests;
