//! `gatehouse db restore FILE --yes`: replaces authentik's database with a dump, in steps that
//! each say what they do; a failed or interrupted step stops the rest, and authentik's
//! containers are started again whatever happened.

use std::cell::Cell;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::engine::Docker;
use super::find::Seen;
use super::meta::{self, DumpInfo};
use super::progress::{size, Progress};
use super::{locate, steps, wait, DbError, Interrupts, Located};
use crate::config::Settings;

pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) yes: bool,
    pub(crate) skip_version_check: bool,
    pub(crate) wait: Duration,
}

/// The steps of a restore, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Stop,
    EndConnections,
    Recreate,
    Restore,
    Check,
    Start,
    Wait,
}

const STEPS: usize = 7;

impl Step {
    fn number(self) -> usize {
        self as usize + 1
    }
}

/// The first bytes of every `pg_dump -Fc` archive.
const MAGIC: &[u8] = b"PGDMP";

pub(crate) async fn restore(
    docker: &Docker,
    settings: &Settings,
    opts: &Options,
) -> Result<(), DbError> {
    let info = read_side_file(&opts.file, opts.skip_version_check)?;
    let bytes = check_archive(&opts.file)?;
    let found = locate(docker, settings).await?;
    check_versions(info.as_ref(), &found.version, opts.skip_version_check)?;
    print!("{}", plan(&found, opts, info.as_ref(), bytes));
    if !opts.yes {
        return Err(DbError::Refused(
            "nothing done: this replaces the database; run again with --yes to do it".into(),
        ));
    }
    let mut interrupts = Interrupts::catch();
    say(
        Step::Stop,
        &format!("stopping {}", names(&found.stack.authentik)),
    );
    let running = found.stack.authentik.iter().filter(|c| c.running);
    let stops = futures_util::future::join_all(running.map(|c| docker.stop(&c.id))).await;
    if let Some(Err(e)) = stops.into_iter().find(Result::is_err) {
        let started = start_again(docker, &found.stack.authentik).await;
        return Err(failed(Step::Stop, &e.to_string(), &opts.file, started));
    }
    let current = Cell::new(Step::EndConnections);
    let outcome = tokio::select! {
        r = replace(docker, &found, opts, info.as_ref(), &current) => r.err().map(|e| e.to_string()),
        () = interrupts.recv() => Some("interrupted (SIGINT or SIGTERM)".to_owned()),
    };
    say(
        Step::Start,
        &format!("starting {}", names(&found.stack.authentik)),
    );
    let started = start_again(docker, &found.stack.authentik).await;
    if let Some(why) = outcome {
        return Err(failed(current.get(), &why, &opts.file, started));
    }
    if !started {
        return Err(failed(Step::Start, "see above", &opts.file, false));
    }
    say(
        Step::Wait,
        &format!(
            "waiting up to {} s for authentik to answer",
            opts.wait.as_secs()
        ),
    );
    let servers = wait::servers(&found.stack.authentik);
    tokio::select! {
        r = wait::answering(docker, &servers, opts.wait) => r.map_err(|e| failed(Step::Wait, &e, &opts.file, true))?,
        () = interrupts.recv() => return Err(DbError::Failed(
            "the restore is complete and authentik started; stopped waiting for it to answer (interrupted)".into(),
        )),
    }
    println!("done: authentik answers with the restored database");
    Ok(())
}

/// Steps 2 to 5: end connections, drop and recreate, pg_restore, check.
async fn replace(
    docker: &Docker,
    found: &Located,
    opts: &Options,
    info: Option<&DumpInfo>,
    current: &Cell<Step>,
) -> Result<(), DbError> {
    let target = &found.target;
    current.set(Step::EndConnections);
    say(
        Step::EndConnections,
        &format!(
            "ending the other connections to database {}",
            target.database
        ),
    );
    let ended = steps::end_connections(docker, target).await?;
    println!("  ended {ended} connection(s)");
    current.set(Step::Recreate);
    say(
        Step::Recreate,
        &format!("dropping and recreating database {}", target.database),
    );
    steps::recreate(docker, target).await?;
    current.set(Step::Restore);
    say(
        Step::Restore,
        &format!("restoring {} with pg_restore", opts.file.display()),
    );
    let file = tokio::fs::File::open(&opts.file)
        .await
        .map_err(|e| DbError::io(format!("cannot read {}", opts.file.display()), e))?;
    let mut progress = Progress::new("restored");
    let mut input = wait::Counting::new(file, &mut progress);
    let cmd = steps::restore_command(target);
    let finished = docker
        .exec(
            &target.id,
            &cmd,
            Some(&mut input),
            &mut tokio::io::sink(),
            &mut |_| {},
        )
        .await?;
    let sent = input.read();
    progress.finish(sent);
    if !finished.ok() {
        return Err(DbError::Failed(finished.failure("pg_restore")));
    }
    current.set(Step::Check);
    say(Step::Check, "checking the restored database");
    let tables = steps::count_tables(docker, target).await?;
    let expected = info.map(|i| i.tables);
    if expected.is_some_and(|t| t != tables) || tables == 0 {
        return Err(DbError::Failed(format!(
            "{tables} tables restored, the dump had {}",
            expected.map_or_else(|| "some".to_owned(), |t| t.to_string())
        )));
    }
    if !steps::has_migrations(docker, target).await? {
        return Err(DbError::Failed(
            "no django_migrations table: this is not a dump of authentik's database".into(),
        ));
    }
    println!("  {tables} tables, django_migrations present");
    Ok(())
}

fn say(step: Step, what: &str) {
    println!("[{}/{STEPS}] {what}", step.number());
}

fn names(containers: &[Seen]) -> String {
    containers
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts every authentik container of the stack (also those a restore killed with -9 left
/// stopped); whether all started.
async fn start_again(docker: &Docker, containers: &[Seen]) -> bool {
    let mut all = true;
    for c in containers {
        if let Err(e) = docker.start(&c.id).await {
            eprintln!("gatehouse db restore: cannot start {}: {e}", c.name);
            all = false;
        }
    }
    all
}

/// The error for a failed step, saying what is left.
fn failed(step: Step, why: &str, file: &Path, started: bool) -> DbError {
    let database = match step {
        Step::Stop | Step::EndConnections => "The database was not changed.",
        Step::Recreate | Step::Restore | Step::Check => {
            "The database is as that step left it (incomplete): authentik will not work until a restore succeeds."
        }
        Step::Start | Step::Wait => "The database is restored.",
    };
    let containers = if started {
        "authentik's containers were started again."
    } else {
        "Not all of authentik's containers could be started: start them with `docker start`."
    };
    DbError::Failed(format!(
        "step {}/{STEPS} failed: {why}\n{database} The dump {} is untouched. {containers}\nFix the cause and run the restore again.",
        step.number(),
        file.display()
    ))
}

/// What the restore will do, printed before it does anything (and without --yes).
fn plan(found: &Located, opts: &Options, info: Option<&DumpInfo>, bytes: u64) -> String {
    let t = &found.target;
    let from = info.map_or_else(
        || "a dump without side file".to_owned(),
        |i| {
            format!(
                "authentik {}, database {}, {} tables, made {}",
                i.authentik_version, i.database, i.tables, i.created
            )
        },
    );
    let authentik = names(&found.stack.authentik);
    format!(
        "gatehouse db restore replaces database {db} in container {c} (authentik {v}) with {file} ({size}; {from}):\n\
         \x20 1. stop {authentik}\n\
         \x20 2. end the other connections to database {db}\n\
         \x20 3. drop database {db} and create it again, empty\n\
         \x20 4. restore the dump into it with pg_restore\n\
         \x20 5. check the result (tables, django_migrations)\n\
         \x20 6. start {authentik}\n\
         \x20 7. wait up to {wait} s for authentik to answer\n",
        db = t.database,
        c = t.name,
        v = found.version,
        file = opts.file.display(),
        size = size(bytes),
        wait = opts.wait.as_secs(),
    )
}

/// The dump's side file; `None` when missing and the version check is skipped.
fn read_side_file(file: &Path, skip_version_check: bool) -> Result<Option<DumpInfo>, DbError> {
    let side = meta::side_file(file);
    let text = match std::fs::read_to_string(&side) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && skip_version_check => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DbError::Refused(format!(
                "{} is missing: it says which authentik made the dump (a dump from a newer authentik cannot be restored). Put it beside the dump, or pass --skip-version-check if you know the dump is not newer than this stack's authentik",
                side.display()
            )))
        }
        Err(e) => return Err(DbError::io(format!("cannot read {}", side.display()), e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        DbError::Refused(format!(
            "{} is not a gatehouse dump's side file: {e}",
            side.display()
        ))
    })
}

/// The dump is readable and a `pg_dump -Fc` archive; its size.
fn check_archive(file: &Path) -> Result<u64, DbError> {
    use std::io::Read as _;
    let cannot = |e| DbError::io(format!("cannot read {}", file.display()), e);
    let mut f = std::fs::File::open(file).map_err(cannot)?;
    let size = f.metadata().map_err(cannot)?.len();
    let mut head = [0u8; 5];
    if f.read_exact(&mut head).is_err() || head != MAGIC {
        return Err(DbError::Refused(format!(
            "{} is not a pg_dump archive in the custom format (gatehouse db dump makes those)",
            file.display()
        )));
    }
    Ok(size)
}

/// Refuses a dump from a newer authentik than the stack's (authentik cannot migrate down).
fn check_versions(info: Option<&DumpInfo>, stack: &str, skip: bool) -> Result<(), DbError> {
    if skip {
        return Ok(());
    }
    let dump = info.map_or(meta::UNKNOWN, |i| i.authentik_version.as_str());
    match meta::compare(dump, stack) {
        Some(Ordering::Less | Ordering::Equal) => Ok(()),
        Some(Ordering::Greater) => Err(DbError::Refused(format!(
            "the dump comes from authentik {dump}, newer than this stack's {stack}: authentik cannot migrate its database down. Run authentik {dump} or later (AUTHENTIK_TAG in .env), then restore"
        ))),
        None => Err(DbError::Refused(format!(
            "cannot compare the dump's authentik version ({dump}) with this stack's ({stack}): pass --skip-version-check if you know the dump is not newer"
        ))),
    }
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
