use super::*;

fn record(last_ok: Option<u64>, last_error: Option<&str>) -> Record {
    Record {
        pid: 7,
        resync_secs: 60,
        last_pass: 1_000,
        last_ok,
        last_error: last_error.map(str::to_owned),
        authentik: None,
    }
}

#[test]
fn a_recent_good_pass_is_healthy() {
    let v = record(Some(1_000), None).verdict(1_010);
    assert!(v.is_healthy(), "{v}");
    assert_eq!(
        v.to_string(),
        "healthy: last good pass 10s ago (limit 150s)"
    );
}

#[test]
fn the_limit_is_two_resyncs_plus_slack() {
    let r = record(Some(1_000), None);
    assert!(r.verdict(1_150).is_healthy());
    let v = r.verdict(1_151);
    assert!(!v.is_healthy());
    assert!(v.to_string().contains("over the limit of 150s"), "{v}");
}

#[test]
fn one_failed_pass_after_a_recent_good_one_is_still_healthy_but_says_so() {
    let v = record(Some(1_000), Some("engine unreachable")).verdict(1_020);
    assert!(v.is_healthy());
    assert!(v
        .to_string()
        .contains("last pass failed: engine unreachable"));
}

#[test]
fn never_a_good_pass_is_unhealthy() {
    let v = record(None, Some("permission denied")).verdict(1_000);
    assert_eq!(
        v.to_string(),
        "unhealthy: no pass has succeeded yet; last pass failed: permission denied"
    );
}

#[test]
fn render_and_parse_round_trip_and_fold_newlines() {
    let r = record(Some(990), Some("two\nlines"));
    let text = r.render();
    assert_eq!(text.lines().count(), 5);
    let back = Record::parse(&text).unwrap();
    assert_eq!(back.last_error.as_deref(), Some("two lines"));
    assert_eq!(back.last_ok, Some(990));
    assert_eq!(back.resync_secs, 60);
}

#[test]
fn damaged_records_are_reported() {
    assert!(Record::parse("pid=1\nresync_secs=x\nlast_pass=1\n")
        .unwrap_err()
        .contains("resync_secs is not a number"));
    assert!(Record::parse("pid=1\n").unwrap_err().contains("missing"));
    assert!(Record::parse("garbage").is_err());
}

#[test]
fn recorder_writes_and_check_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h");
    let v = check(&path);
    assert!(!v.is_healthy());
    assert!(v.to_string().contains("has not finished a pass yet"), "{v}");
    let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
    rec.record(Err("boom"));
    assert!(!check(&path).is_healthy());
    rec.record(Ok::<(), String>(()));
    let v = check(&path);
    assert!(v.is_healthy(), "{v}");
    rec.record(Err("engine gone"));
    let r = read(&path).unwrap();
    assert_eq!(r.last_error.as_deref(), Some("engine gone"));
    assert!(r.last_ok.is_some());
    assert_eq!(r.pid, std::process::id());
    // no temp files left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_link_planted_at_the_old_temp_name_is_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let old_tmp = dir.path().join(format!(".h.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
    let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
    rec.record(Ok::<(), String>(()));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(check(&path).is_healthy());
}

#[test]
fn a_fifo_in_place_of_the_record_does_not_hang_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h");
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let v = check(&path);
    assert!(v.to_string().contains("FIFO"), "{v}");
}

#[test]
fn a_record_whose_process_is_gone_is_unhealthy_and_a_clean_stop_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h");
    let mut rec = Recorder::new(path.clone(), Duration::from_secs(5));
    rec.record(Ok::<(), String>(()));
    assert!(check(&path).is_healthy(), "{}", check(&path));
    // The same record, written by a process that has ended.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let mut r = read(&path).unwrap();
    r.pid = dead;
    std::fs::write(&path, r.render()).unwrap();
    let v = check(&path);
    assert!(!v.is_healthy(), "{v}");
    assert!(v.to_string().contains("is not running"), "{v}");
    rec.clear();
    assert!(!path.exists());
    assert!(check(&path).to_string().contains("no health record"));
}

#[test]
fn authentik_counts_once_provisioning_is_on() {
    let ak = |last_ok: Option<u64>, error: Option<&str>| {
        let mut r = record(Some(1_000), None);
        r.authentik = Some(AuthentikHealth {
            since: 900,
            last_ok,
            error: error.map(str::to_owned),
        });
        r
    };
    // Within the limit of the start, no round yet: healthy, and it says so.
    let v = ak(None, None).verdict(1_010);
    assert!(v.is_healthy(), "{v}");
    assert!(
        v.to_string().contains("no round has gone through yet"),
        "{v}"
    );
    // authentik down since start, past the limit: unhealthy, naming why.
    let v = ak(None, Some("connection refused")).verdict(1_060);
    assert!(!v.is_healthy(), "{v}");
    assert!(v.to_string().contains("connection refused"), "{v}");
    // A good round long ago, failing since: unhealthy.
    let v = ak(Some(900), Some("401 token expired")).verdict(1_051);
    assert!(!v.is_healthy(), "{v}");
    assert!(v.to_string().contains("for 151s"), "{v}");
    // A recent good round: healthy.
    assert!(ak(Some(1_000), None).verdict(1_010).is_healthy());
    // It survives the file.
    let r = ak(Some(950), Some("x\ny"));
    let back = Record::parse(&r.render()).unwrap();
    assert_eq!(back.authentik.as_ref().unwrap().last_ok, Some(950));
    assert_eq!(back.authentik.unwrap().error.as_deref(), Some("x y"));
}
