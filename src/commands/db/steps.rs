//! The SQL gatehouse runs with `psql` inside the database container: counting tables, ending
//! connections, dropping and recreating the database. Names come from the container's
//! environment; they are quoted, and go as one argument each (no shell in between).

use super::engine::Docker;
use super::{DbError, Target};

/// Tables outside PostgreSQL's own schemas.
const COUNT_TABLES: &str = "SELECT count(*) FROM information_schema.tables \
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')";

/// `"name"`, with any `"` doubled: an SQL identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with any `'` doubled: an SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The `psql` command line running `sql` in `database`: unaligned, tuples only, no `.psqlrc`,
/// stopping at the first error.
pub(crate) fn psql_command(target: &Target, database: &str, sql: &str) -> Vec<String> {
    [
        "psql",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        &target.user,
        "-d",
        database,
        "-c",
        sql,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs `sql` with `psql` in the database container; its output, trimmed.
pub(crate) async fn psql(
    docker: &Docker,
    target: &Target,
    database: &str,
    sql: &str,
) -> Result<String, DbError> {
    let mut out: Vec<u8> = Vec::new();
    let cmd = psql_command(target, database, sql);
    let finished = docker
        .exec(&target.id, &cmd, None, &mut out, &mut |_| {})
        .await?;
    if !finished.ok() {
        return Err(DbError::Failed(finished.failure("psql")));
    }
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

/// Tables in the target's database.
pub(crate) async fn count_tables(docker: &Docker, target: &Target) -> Result<u64, DbError> {
    let out = psql(docker, target, &target.database, COUNT_TABLES).await?;
    out.parse()
        .map_err(|_| DbError::Failed(format!("psql answered {out:?} for the table count")))
}

/// Whether authentik's migrations table (Django's `django_migrations`) is there.
pub(crate) async fn has_migrations(docker: &Docker, target: &Target) -> Result<bool, DbError> {
    let sql = "SELECT to_regclass('django_migrations') IS NOT NULL";
    Ok(psql(docker, target, &target.database, sql).await? == "t")
}

/// Ends every other connection to the target's database; how many there were.
pub(crate) async fn end_connections(docker: &Docker, target: &Target) -> Result<u64, DbError> {
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = {} AND pid <> pg_backend_pid()",
        literal(&target.database)
    );
    let out = psql(docker, target, "postgres", &sql).await?;
    Ok(out.parse().unwrap_or(0))
}

/// Drops the target's database and creates it again, empty, owned by the target's user.
pub(crate) async fn recreate(docker: &Docker, target: &Target) -> Result<(), DbError> {
    let db = ident(&target.database);
    psql(
        docker,
        target,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db}"),
    )
    .await?;
    let create = format!("CREATE DATABASE {db} OWNER {}", ident(&target.user));
    psql(docker, target, "postgres", &create).await?;
    Ok(())
}

/// `pg_dump` of the target's database in the custom format, to stdout.
pub(crate) fn dump_command(target: &Target) -> Vec<String> {
    ["pg_dump", "-Fc", "-U", &target.user, "-d", &target.database]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// `pg_restore` from stdin into the target's database: objects owned by the target's user
/// (the new stack's may differ from the old one's), stopping at the first error.
pub(crate) fn restore_command(target: &Target) -> Vec<String> {
    [
        "pg_restore",
        "--exit-on-error",
        "--no-owner",
        "-U",
        &target.user,
        "-d",
        &target.database,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}
