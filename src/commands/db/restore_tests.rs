use super::*;

fn info(version: &str) -> DumpInfo {
    DumpInfo {
        format: meta::FORMAT.into(),
        authentik_version: version.into(),
        database: "authentik".into(),
        tables: 3,
        bytes: 10,
        created: "2026-11-30T00:00:00Z".into(),
        container: "db".into(),
    }
}

#[test]
fn a_dump_from_a_newer_authentik_is_refused() {
    let newer = check_versions(Some(&info("2026.10.1")), "2026.8.3", false);
    let e = newer.expect_err("newer");
    assert!(matches!(e, DbError::Refused(_)));
    assert!(
        e.to_string().contains("cannot migrate its database down"),
        "{e}"
    );
    assert!(check_versions(Some(&info("2026.5.6")), "2026.8.3", false).is_ok());
    assert!(check_versions(Some(&info("2026.8.3")), "2026.8.3", false).is_ok());
    assert!(
        check_versions(None, "2026.8.3", false).is_err(),
        "unknown: refused"
    );
    assert!(check_versions(Some(&info("2026.10.1")), "2026.8.3", true).is_ok());
}

#[test]
fn a_file_that_is_not_a_custom_format_dump_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sql = dir.path().join("plain.sql");
    std::fs::write(&sql, "CREATE TABLE x();").expect("write");
    assert!(matches!(check_archive(&sql), Err(DbError::Refused(_))));
    let dump = dir.path().join("a.dump");
    std::fs::write(&dump, b"PGDMP\x01\x0e").expect("write");
    assert_eq!(check_archive(&dump).expect("archive"), 7);
    let missing = dir.path().join("missing.dump");
    assert!(matches!(check_archive(&missing), Err(DbError::Io { .. })));
    // No side file: refused, unless the version check is skipped.
    assert!(matches!(
        read_side_file(&dump, false),
        Err(DbError::Refused(_))
    ));
    assert_eq!(read_side_file(&dump, true).expect("skipped"), None);
}

#[test]
fn a_failed_step_says_which_and_what_is_left() {
    let e = failed(
        Step::Restore,
        "pg_restore exited 1: boom",
        Path::new("a.dump"),
        true,
    );
    let text = e.to_string();
    assert!(
        text.starts_with("step 4/7 failed: pg_restore exited 1: boom"),
        "{text}"
    );
    assert!(text.contains("The dump a.dump is untouched"), "{text}");
    assert!(text.contains("started again"), "{text}");
}
