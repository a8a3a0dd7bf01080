//! The one bounded reader and the one atomic writer for every file gatehouse reads or writes in a
//! folder someone else can write (SWAG's `/config`: proxy-confs, site-confs, samples, the state
//! folder; and the health record).
//!
//! Reading: only a regular file is read, opened without following a symlink and without
//! blocking on a FIFO, and never past a size bound (a FIFO, a device, a link to `/dev/zero` or a
//! huge sparse file planted there could hang gatehouse or flood its memory).
//!
//! Writing: a temp file of an unpredictable dot-name in the target's folder (SWAG's
//! `*.subdomain.conf` include cannot match it) created with `O_CREAT|O_EXCL|O_NOFOLLOW` (a link
//! planted at any name is never followed), owner and mode set on the open file (never by path),
//! written, fsynced, renamed over the target, then the folder fsynced. Skipped when the target
//! already holds the bytes; the temp file is removed on any failure.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("it is a {0}, not a regular file")]
    NotAFile(String),
    #[error("it is larger than {0} bytes")]
    TooLarge(u64),
}

/// The bytes of `path`, or `None` when it does not exist. Only a regular file of at most `max`
/// bytes is read: a symlink, FIFO, device or folder is refused (a symlink before anything is
/// opened through it), the open does not block on a FIFO swapped in meanwhile, and at most
/// `max + 1` bytes are ever read.
pub(crate) fn read_small(path: &Path, max: u64) -> Result<Option<Vec<u8>>, ReadError> {
    match read_head(path, max)? {
        None => Ok(None),
        Some(Head {
            bytes,
            complete: true,
        }) => Ok(Some(bytes)),
        Some(_) => Err(ReadError::TooLarge(max)),
    }
}

/// The first bytes of a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// At most the bound asked for.
    pub(crate) bytes: Vec<u8>,
    /// The file ends there (false: it is larger than the bound).
    pub(crate) complete: bool,
}

/// Like [`read_small`], but a file over `max` bytes gives its first `max` bytes (marked
/// incomplete) instead of an error.
pub(crate) fn read_head(path: &Path, max: u64) -> Result<Option<Head>, ReadError> {
    // lstat first, so that a device is refused without even being opened.
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
        Ok(m) if !m.file_type().is_file() => return Err(ReadError::NotAFile(kind_of(&m))),
        Ok(_) => {}
    }
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
    {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadError::NotAFile("symlink".into()))
        }
        Err(e) => return Err(e.into()),
        Ok(f) => f,
    };
    let m = file.metadata()?;
    if !m.file_type().is_file() {
        return Err(ReadError::NotAFile(kind_of(&m)));
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let complete = bytes.len() as u64 <= max;
    bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    Ok(Some(Head { bytes, complete }))
}

/// What a file system entry is, in words.
pub(crate) fn kind_of(m: &fs::Metadata) -> String {
    let t = m.file_type();
    let kind = if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() || t.is_block_device() {
        "device"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    };
    kind.to_owned()
}

/// How a file is written: its mode, the owner it is given, and the bound used to read the
/// target back for the "same bytes" check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileSpec {
    pub(crate) mode: u32,
    /// `(uid, gid)` given to the file with `fchown`; `None` keeps gatehouse's own.
    pub(crate) owner: Option<(u32, u32)>,
    pub(crate) max: u64,
}

impl FileSpec {
    /// A file SWAG (or anyone) may read: `0644`.
    pub(crate) fn readable(max: u64) -> Self {
        Self {
            mode: 0o644,
            owner: None,
            max,
        }
    }

    pub(crate) fn owned_by(self, owner: Option<(u32, u32)>) -> Self {
        Self { owner, ..self }
    }
}

/// What [`write_atomic`] did.
#[derive(Debug)]
pub(crate) struct Written {
    /// The file changed (false: it already held the bytes).
    pub(crate) changed: bool,
    /// The owner could not be given (gatehouse is not root): the file keeps gatehouse's user.
    pub(crate) owner_refused: Option<io::Error>,
}

/// Writes `value` as pretty JSON (with a final newline) through [`write_atomic`].
pub(crate) fn write_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    spec: &FileSpec,
) -> io::Result<Written> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, spec)
}

/// Writes `bytes` to `path` atomically (see the module's doc); skipped when the file already
/// holds them. The folder must exist.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], spec: &FileSpec) -> io::Result<Written> {
    if read_small(path, spec.max).ok().flatten().as_deref() == Some(bytes) {
        return Ok(Written {
            changed: false,
            owner_refused: None,
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (tmp, mut file) = create_temp(dir, spec.mode)?;
    let written = (|| {
        let owner_refused = give(&file, spec)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        Ok(owner_refused)
    })();
    match written {
        Ok(owner_refused) => {
            sync_dir(dir);
            Ok(Written {
                changed: true,
                owner_refused,
            })
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Creates a new temp file of an unpredictable dot-name in `dir`, exclusively: a name taken
/// (by a planted link or anything else) is never opened, another is drawn.
fn create_temp(dir: &Path, mode: u32) -> io::Result<(PathBuf, fs::File)> {
    let mut last = None;
    for _ in 0..16 {
        let tmp = dir.join(temp_name());
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temp name")))
}

/// How old a temp file must be before [`sweep_temps`] takes it for one a crash left behind: a
/// write takes milliseconds, and another gatehouse sharing the folder may be mid-write.
pub(crate) const TEMP_LEFT_BEHIND: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `name` is one of [`temp_name`]'s.
fn is_temp_name(name: &[u8]) -> bool {
    name.strip_prefix(b".gatehouse-")
        .and_then(|rest| rest.strip_suffix(b".tmp"))
        .is_some_and(|hex| hex.len() == 32 && hex.iter().all(u8::is_ascii_hexdigit))
}

/// Removes the temp files in `dir` that a crash (`kill -9` between a temp file's creation and
/// its rename) left behind: only names [`temp_name`] gives, only regular files or links (the
/// link is removed, never what it points to), only when older than `age`. Returns the names
/// removed.
pub(crate) fn sweep_temps(dir: &Path, age: std::time::Duration) -> Vec<OsString> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let names: Vec<OsString> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    sweep_temps_among(dir, &names, age)
}

/// [`sweep_temps`] among `names`, the folder's entries as a caller already listed them.
pub(crate) fn sweep_temps_among(
    dir: &Path,
    names: &[OsString],
    age: std::time::Duration,
) -> Vec<OsString> {
    let now = std::time::SystemTime::now();
    let mut removed = Vec::new();
    for name in names {
        if !is_temp_name(name.as_bytes()) {
            continue;
        }
        let path = dir.join(name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|d| d >= age);
        let plain = meta.file_type().is_file() || meta.file_type().is_symlink();
        if old && plain && fs::remove_file(&path).is_ok() {
            removed.push(name.clone());
        }
    }
    removed
}

/// `.gatehouse-<32 random hex digits>.tmp`: short (a long target name cannot push it past the
/// file system's limit), a dot-file that no `*.conf` include matches, and not guessable.
pub(crate) fn temp_name() -> OsString {
    let mut buf = [0u8; 16];
    fill_random(&mut buf);
    let mut name = b".gatehouse-".to_vec();
    for b in buf {
        name.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    name.extend_from_slice(b".tmp");
    OsString::from_vec(name)
}

/// The kernel's randomness; should it fail, a mix of the clock, the pid and a counter (the
/// exclusive create is what keeps a guessed name harmless anyway).
fn fill_random(buf: &mut [u8]) {
    // SAFETY: getrandom writes at most `buf.len()` bytes into `buf`, which is valid for writes.
    let got = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if usize::try_from(got).is_ok_and(|n| n == buf.len()) {
        return;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seed = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed.rotate_left((i as u32 * 8) % 64) & 0xff) as u8;
    }
}

/// Sets the mode (exactly, whatever the umask) and the owner on the open file. A refused
/// `fchown` (not root) is returned for the caller to mention, not an error.
fn give(file: &fs::File, spec: &FileSpec) -> io::Result<Option<io::Error>> {
    use std::os::fd::AsRawFd as _;
    let fd = file.as_raw_fd();
    let mut refused = None;
    if let Some((uid, gid)) = spec.owner {
        // SAFETY: fd is an open descriptor owned by `file` for the duration of the call.
        if unsafe { libc::fchown(fd, uid, gid) } != 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EINVAL) => refused = Some(e),
                _ => return Err(e),
            }
        }
    }
    // SAFETY: as above.
    if unsafe { libc::fchmod(fd, spec.mode as libc::mode_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(refused)
}

/// fsyncs a folder so a rename in it survives a crash. Best effort: the rename is done already,
/// and some file systems refuse to fsync a folder.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Why the state folder `<SWAG config>/gatehouse/` is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateDirError {
    #[error("the state folder {path} is a symlink; gatehouse writes nothing through it: remove the link (`rm {path}`) and gatehouse creates a real folder")]
    Symlink { path: PathBuf },
    #[error("the state folder {path} is a {kind}, not a folder: remove it and gatehouse creates the folder")]
    NotADir { path: PathBuf, kind: String },
    #[error("the state folder {path} belongs to uid {uid}, not to gatehouse's user ({allowed}); gatehouse writes nothing into it: `chown {owner} {path}` or remove it")]
    Foreign {
        path: PathBuf,
        uid: u32,
        allowed: String,
        owner: String,
    },
    #[error("cannot create the state folder {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
}

/// Why a state file in [`StateDir`] could not be read or written.
#[derive(Debug)]
pub(crate) enum StateFileError {
    Dir(StateDirError),
    Read(ReadError),
    Write(io::Error),
}

/// `<SWAG config>/gatehouse/`, where the state files live, and the owner gatehouse gives what it
/// writes there (SWAG's PUID/PGID when gatehouse runs as root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateDir {
    path: PathBuf,
    owner: Option<(u32, u32)>,
}

impl StateDir {
    pub(crate) fn new(swag_config: &Path, owner: Option<(u32, u32)>) -> Self {
        Self {
            path: swag_config.join("gatehouse"),
            owner,
        }
    }

    /// The same folder, its files given to `owner`.
    pub(crate) fn with_owner(self, owner: Option<(u32, u32)>) -> Self {
        Self { owner, ..self }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn owner(&self) -> Option<(u32, u32)> {
        self.owner
    }

    /// The state file `file` in this folder, read whole (bounded by `max`); `Ok(None)` when it,
    /// or the folder, does not exist yet.
    pub(crate) fn read(&self, file: &Path, max: u64) -> Result<Option<Vec<u8>>, StateFileError> {
        if self.checked(false).map_err(StateFileError::Dir)?.is_none() {
            return Ok(None);
        }
        read_small(file, max).map_err(StateFileError::Read)
    }

    /// Writes `value` as JSON to the state file `file` in this folder (the folder made when
    /// missing; both given to the owner); whether the bytes changed.
    pub(crate) fn write_json<T: serde::Serialize>(
        &self,
        file: &Path,
        value: &T,
        max: u64,
    ) -> Result<bool, StateFileError> {
        self.checked(true).map_err(StateFileError::Dir)?;
        let spec = FileSpec::readable(max).owned_by(self.owner);
        write_json(file, value, &spec)
            .map(|w| w.changed)
            .map_err(StateFileError::Write)
    }

    /// The folder, checked: a real folder (not a symlink) owned by gatehouse's user, root or the
    /// owner gatehouse gives its files. `create`: make it when missing (given to that owner).
    /// `Ok(None)`: missing and not created.
    pub(crate) fn checked(&self, create: bool) -> Result<Option<&Path>, StateDirError> {
        let path = &self.path;
        let m = match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.create().map(Some),
            Err(source) => {
                return Err(StateDirError::Create {
                    path: path.clone(),
                    source,
                })
            }
            Ok(m) => m,
        };
        if m.file_type().is_symlink() {
            return Err(StateDirError::Symlink { path: path.clone() });
        }
        if !m.is_dir() {
            return Err(StateDirError::NotADir {
                path: path.clone(),
                kind: kind_of(&m),
            });
        }
        let me = effective_uid();
        let mut allowed = vec![me, 0];
        allowed.extend(self.owner.map(|(uid, _)| uid));
        if !allowed.contains(&m.uid()) {
            allowed.dedup();
            return Err(StateDirError::Foreign {
                path: path.clone(),
                uid: m.uid(),
                allowed: allowed
                    .iter()
                    .map(|u| format!("uid {u}"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                owner: match self.owner {
                    Some((u, g)) => format!("{u}:{g}"),
                    None => me.to_string(),
                },
            });
        }
        Ok(Some(path))
    }

    fn create(&self) -> Result<&Path, StateDirError> {
        use std::os::unix::fs::DirBuilderExt as _;
        let err = |source| StateDirError::Create {
            path: self.path.clone(),
            source,
        };
        match fs::DirBuilder::new().mode(0o755).create(&self.path) {
            Ok(()) => {}
            // Made meanwhile (another instance): checked like any other.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return self.checked(false).map(|p| p.unwrap_or(&self.path))
            }
            Err(e) => return Err(err(e)),
        }
        if let Some((uid, gid)) = self.owner.filter(|_| effective_uid() == 0) {
            let dir = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&self.path)
                .map_err(err)?;
            std::os::unix::fs::fchown(&dir, Some(uid), Some(gid)).map_err(err)?;
        }
        Ok(&self.path)
    }
}

/// gatehouse's effective user id.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
