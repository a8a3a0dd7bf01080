//! `gatehouse db dump`: `pg_dump -Fc` in the database container, streamed into a file on this
//! host. The file appears under its name only once complete (a temporary dot-file until then),
//! with its side file `<dump>.json` beside it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::AsyncWriteExt as _;

use super::engine::Docker;
use super::meta::{self, DumpInfo};
use super::progress::{size, Progress};
use super::{locate, steps, DbError, Interrupts};
use crate::config::Settings;

pub(crate) async fn dump(
    docker: &Docker,
    settings: &Settings,
    out: Option<PathBuf>,
) -> Result<(), DbError> {
    let mut interrupts = Interrupts::catch();
    let found = locate(docker, settings).await?;
    let target = &found.target;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = out
        .unwrap_or_else(|| meta::default_name(Path::new(""), &found.version, now, |p| p.exists()));
    let side = meta::side_file(&path);
    for p in [&path, &side] {
        if p.exists() {
            return Err(DbError::Refused(format!(
                "{} exists: gatehouse never overwrites a dump; name another with --out",
                p.display()
            )));
        }
    }
    let tables = steps::count_tables(docker, target).await?;
    println!(
        "dumping database {} ({tables} tables) of container {} (authentik {}) to {}",
        target.database,
        target.name,
        found.version,
        path.display()
    );
    let bytes = stream_to_file(docker, target, &path, &mut interrupts).await?;
    let info = DumpInfo {
        format: meta::FORMAT.to_owned(),
        authentik_version: found.version.clone(),
        database: target.database.clone(),
        tables,
        bytes,
        created: meta::utc(now),
        container: target.name.clone(),
    };
    write_side_file(&side, &info).await?;
    println!(
        "wrote {} ({}) and {}",
        path.display(),
        size(bytes),
        side.display()
    );
    Ok(())
}

/// The temporary name a dump is written under: `.<name>.partial` in the same folder.
fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// Streams `pg_dump`'s output into `path` (through its temporary name); its size.
async fn stream_to_file(
    docker: &Docker,
    target: &super::Target,
    path: &Path,
    interrupts: &mut Interrupts,
) -> Result<u64, DbError> {
    let partial = partial_name(path);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .await
        .map_err(|e| DbError::io(format!("cannot create {}", partial.display()), e))?;
    let mut writer = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut progress = Progress::new("dumped");
    let cmd = steps::dump_command(target);
    let mut tell = |b| progress.update(b);
    let outcome = tokio::select! {
        r = docker.exec(&target.id, &cmd, None, &mut writer, &mut tell) => Some(r),
        () = interrupts.recv() => None,
    };
    let finished = match outcome {
        Some(Ok(f)) if f.ok() => f,
        other => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(match other {
                None => DbError::Failed("interrupted: no dump was written".into()),
                Some(Err(e)) => e,
                Some(Ok(f)) => {
                    DbError::Failed(format!("{}; no dump was written", f.failure("pg_dump")))
                }
            });
        }
    };
    progress.finish(finished.stdout_bytes);
    let file = writer.into_inner();
    let synced = file.sync_all().await;
    let renamed = match synced {
        Ok(()) => tokio::fs::rename(&partial, path).await,
        Err(e) => Err(e),
    };
    if let Err(e) = renamed {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(DbError::io(format!("cannot write {}", path.display()), e));
    }
    Ok(finished.stdout_bytes)
}

async fn write_side_file(side: &Path, info: &DumpInfo) -> Result<(), DbError> {
    let text = serde_json::to_string_pretty(info)
        .map_err(|e| DbError::Failed(format!("cannot write the side file: {e}")))?;
    let tmp = partial_name(side);
    let write = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(text.as_bytes()).await?;
        f.write_all(b"\n").await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, side).await
    };
    write.await.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DbError::io(format!("cannot write {}", side.display()), e)
    })
}
