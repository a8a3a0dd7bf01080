//! Issue 2's numbers, against the real Docker engine, with the release binary:
//!
//! 1. reaction latency from `docker start` to the conf on disk, over N containers (p50, p99);
//! 2. a full resync with M labelled containers: wall time, Docker API requests, peak RSS, files
//!    written when nothing changed.
//!
//! 3. a `docker-compose up -d` of K labelled services: how many passes it takes.
//!
//! `cargo bench --bench core` (defaults N=60, M=200, K=20; override with GATEHOUSE_BENCH_N / _M /
//! _K).
//! Needs Docker Engine and busybox-static, like the integration tests.

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod bench;
#[path = "../tests/common/docker.rs"]
#[allow(dead_code)]
mod docker;
#[path = "common/passes.rs"]
mod passes;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bench::{env_num, files_written, log_field, ms, spread};
use docker::{docker_ok, wait_for, Gatehouse, Scope, IMAGE};
use passes::{peak, run_once, watch_passes};

fn create(scope: &Scope, short: &str, labels: &[(&str, &str)]) -> String {
    let name = scope.name(short);
    let mut args: Vec<String> = vec![
        "create".into(),
        "--name".into(),
        name.clone(),
        "--label".into(),
        scope.scope_label.clone(),
    ];
    for (k, v) in labels {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    args.push(IMAGE.into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    docker_ok(&refs);
    name
}

/// gatehouse watching `scope`, once its first pass is done.
fn watching(scope: &Scope, cfg: &Path) -> Gatehouse {
    let gh = Gatehouse::start(&["run"], &scope.gatehouse_env(cfg));
    assert!(
        wait_for(Duration::from_secs(10), || gh.logs().contains("pass done")),
        "gatehouse did not start:\n{}",
        gh.logs()
    );
    gh
}

fn latency(n: usize) {
    let scope = Scope::new("bench-lat");
    let cfg = docker::swag_config();
    let dir = cfg.path().join("nginx/proxy-confs");
    let names: Vec<String> = (0..n)
        .map(|i| create(&scope, &format!("app{i}"), &[("auth.protect", "true")]))
        .collect();
    let gh = watching(&scope, cfg.path());
    let mut from_issue = Vec::new();
    let mut from_started = Vec::new();
    let mut from_engine = Vec::new();
    for name in &names {
        // Lone starts, more than a second apart: a start right after another counts as a burst
        // and waits the longer burst quiet period (measured by the burst runs below).
        std::thread::sleep(Duration::from_millis(1100));
        let file = dir.join(format!("gatehouse.{name}.subdomain.conf"));
        let t0 = Instant::now();
        let out = Command::new("docker")
            .args(["start", name])
            .output()
            .expect("docker start");
        assert!(out.status.success());
        let started = t0.elapsed();
        let ok = wait_until_exists(&file, Duration::from_secs(10));
        assert!(ok, "conf for {name} did not appear:\n{}", gh.logs());
        let total = t0.elapsed();
        from_issue.push(total);
        from_started.push(total.saturating_sub(started));
        let started_at = docker_ok(&["inspect", "--format", "{{.State.StartedAt}}", name]);
        let written = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("mtime");
        if let Some(engine_start) = parse_rfc3339(&started_at) {
            from_engine.push(written.duration_since(engine_start).unwrap_or_default());
        }
    }
    drop(gh);
    from_issue.sort();
    from_started.sort();
    from_engine.sort();
    println!("reaction latency over {n} lone container starts (default debounce: 100 ms quiet, 400 ms in a burst, 5 s cap):");
    println!("  from `docker start` issued:   {}", spread(&from_issue));
    println!("  from `docker start` returned: {}", spread(&from_started));
    println!(
        "  from the engine's StartedAt to the conf's mtime: {}",
        spread(&from_engine)
    );
}

/// `2026-11-22T20:30:01.123456789Z` -> SystemTime (UTC only, as Docker reports it).
fn parse_rfc3339(s: &str) -> Option<std::time::SystemTime> {
    let s = s.trim().strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    Some(std::time::UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}

fn wait_until_exists(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

fn resync(m: usize) {
    let scope = Scope::new("bench-sync");
    let cfg = docker::swag_config();
    let t = Instant::now();
    for i in 0..m {
        let short = format!("app{i}");
        let labels: &[(&str, &str)] = if i % 2 == 0 {
            &[("auth.protect", "true"), ("auth.bypass", "/api")]
        } else {
            &[("auth.expose", "true")]
        };
        create(&scope, &short, labels);
    }
    let ids = docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label={}", scope.scope_label),
    ]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    for chunk in ids.chunks(50) {
        let mut args = vec!["start"];
        args.extend(chunk);
        docker_ok(&args);
    }
    eprintln!(
        "started {m} containers in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let env = scope.gatehouse_env(cfg.path());
    let once = |label: &str| {
        let (wall, log) = run_once(&env, &[]);
        let written = files_written(&log);
        println!(
            "  {label}: wall {} (process start to exit), {} Docker API requests, {} files written",
            ms(wall),
            log_field(&log, "docker_requests").map_or("?".into(), |n| n.to_string()),
            written
        );
    };
    println!("full resync with {m} labelled containers (`gatehouse run --once`):");
    once("first pass (empty proxy-confs)");
    once("second pass (nothing changed)");
    let (hwm, logs) = watch_passes(&env, 4, Duration::from_secs(30));
    println!(
        "  watch mode, 4 full resyncs: peak RSS (VmHWM) {}, files written {}",
        peak(hwm),
        files_written(&logs)
    );
}

/// A `docker-compose up -d` of `k` labelled services: how many passes it takes until every conf
/// is on disk.
fn compose_burst(k: usize) {
    let scope = Scope::new("bench-burst");
    let cfg = docker::swag_config();
    let dir = cfg.path().join("nginx/proxy-confs");
    let project = scope.prefix.clone();
    let mut yml = String::from("version: \"2.4\"\nservices:\n");
    for i in 0..k {
        yml.push_str(&format!(
            "  s{i}:\n    image: {IMAGE}\n    labels:\n      {}: \"{}\"\n      auth.protect: \"true\"\n      auth.subdomain: \"{project}-s{i}\"\n",
            scope.scope_label.split('=').next().unwrap_or_default(),
            scope.scope_label.split('=').nth(1).unwrap_or_default()
        ));
    }
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("compose.yml");
    std::fs::write(&file, yml).expect("compose file");
    let file_s = file.display().to_string();
    let gh = watching(&scope, cfg.path());
    let before = gh.logs().matches("pass done").count();
    let t = Instant::now();
    let up = Command::new("docker-compose")
        .args(["-p", &project, "-f", &file_s, "up", "-d"])
        .output()
        .expect("docker-compose");
    let up_took = t.elapsed();
    let all = || {
        (0..k).all(|i| {
            dir.join(format!("gatehouse.{project}-s{i}.subdomain.conf"))
                .exists()
        })
    };
    let ok = wait_for(Duration::from_secs(30), all);
    let until_all = t.elapsed();
    std::thread::sleep(Duration::from_millis(2500));
    let passes = gh.logs().matches("pass done").count() - before;
    let _ = Command::new("docker-compose")
        .args(["-p", &project, "-f", &file_s, "down", "-t", "0"])
        .output();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(ok, "not every conf appeared:\n{}", gh.logs());
    println!(
        "docker-compose up -d of {k} labelled services: up took {}, all confs on disk after {}, {passes} pass(es)",
        ms(up_took),
        ms(until_all)
    );
}

/// `k` labelled containers started at once from parallel threads (as compose v2 does): how many
/// passes until every conf is on disk.
fn parallel_burst(k: usize) {
    let scope = Scope::new("bench-par");
    let cfg = docker::swag_config();
    let dir = cfg.path().join("nginx/proxy-confs");
    let names: Vec<String> = (0..k)
        .map(|i| create(&scope, &format!("p{i}"), &[("auth.protect", "true")]))
        .collect();
    let gh = watching(&scope, cfg.path());
    let before = gh.logs().matches("pass done").count();
    let t = Instant::now();
    let threads: Vec<_> = names
        .iter()
        .cloned()
        .map(|n| std::thread::spawn(move || Command::new("docker").args(["start", &n]).output()))
        .collect();
    for th in threads {
        let out = th.join().expect("thread").expect("docker start");
        assert!(out.status.success());
    }
    let all = || {
        names
            .iter()
            .all(|n| dir.join(format!("gatehouse.{n}.subdomain.conf")).exists())
    };
    let ok = wait_for(Duration::from_secs(30), all);
    let until_all = t.elapsed();
    std::thread::sleep(Duration::from_millis(2500));
    let passes = gh.logs().matches("pass done").count() - before;
    assert!(ok, "not every conf appeared:\n{}", gh.logs());
    println!("{k} labelled containers started at once (parallel `docker start`): all confs on disk after {}, {passes} pass(es)", ms(until_all));
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_num("GATEHOUSE_BENCH_N", 60);
    let m = env_num("GATEHOUSE_BENCH_M", 200);
    let k = env_num("GATEHOUSE_BENCH_K", 20);
    latency(n);
    compose_burst(k);
    parallel_burst(k);
    resync(m);
}
