//! Small state files under `<SWAG config>/gatehouse/`: read with a size bound, only when they are
//! regular files (a FIFO, a device or a symlink planted there could hang or flood gatehouse), and
//! written atomically (a temp file of a name nobody else uses, then a rename), only when the
//! bytes differ.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("it is a {0}, not a regular file")]
    NotAFile(String),
    #[error("larger than {0} bytes")]
    TooLarge(u64),
}

/// The bytes of `path`, or `None` when it does not exist. Only a regular file of at most `max`
/// bytes is read: a symlink, FIFO or device is refused before it is opened, and the open follows
/// no symlink and does not block on a FIFO swapped in meanwhile.
pub fn read_small(path: &Path, max: u64) -> Result<Option<Vec<u8>>, ReadError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
        Ok(m) if !m.file_type().is_file() => return Err(ReadError::NotAFile(kind_of(&m))),
        Ok(m) if m.len() > max => return Err(ReadError::TooLarge(max)),
        Ok(_) => {}
    }
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
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
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(Some(bytes))
}

fn kind_of(m: &fs::Metadata) -> String {
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
    } else {
        "special file"
    };
    kind.to_owned()
}

/// Writes `value` as pretty JSON (with a final newline) through [`write_atomic`]. Returns
/// whether the file changed.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T, max: u64) -> io::Result<bool> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, max)
}

/// Writes `bytes` to `path` through a temp file and a rename, creating the folder; skipped when
/// the file already holds them. Returns whether the file changed.
pub fn write_atomic(path: &Path, bytes: &[u8], max: u64) -> io::Result<bool> {
    if read_small(path, max).ok().flatten().as_deref() == Some(bytes) {
        return Ok(false);
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        // create_new: never follows a link planted at the temp name, never shares it.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_reads_back_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("state.json");
        assert_eq!(read_small(&path, 100).unwrap(), None);
        assert!(write_atomic(&path, b"{}\n", 100).unwrap());
        assert!(!write_atomic(&path, b"{}\n", 100).unwrap());
        assert_eq!(
            read_small(&path, 100).unwrap().as_deref(),
            Some(&b"{}\n"[..])
        );
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 101]).unwrap();
        assert!(read_small(&big, 100).is_err());
        // A FIFO would block a plain read forever; a link to a device would never end.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert!(read_small(&fifo, 100).is_err());
        }
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_small(&link, 100).is_err());
        assert!(read_small(dir.path(), 100).is_err());
    }

    #[test]
    fn a_link_planted_where_a_temp_file_could_be_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        let path = dir.path().join("state.json");
        for n in 0..4 {
            let _ = std::os::unix::fs::symlink(
                &target,
                dir.path()
                    .join(format!(".state.json.{}.{n}.tmp", std::process::id())),
            );
        }
        // Whatever temp name comes up, the victim is never written through.
        for i in 0..8u8 {
            let _ = write_atomic(&path, &[b'0' + i], 100);
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }
}
