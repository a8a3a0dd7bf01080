//! Issue 14's numbers, on a swarm of its own (a second `dockerd`, as the `docker_swarm` tests
//! start it), with gatehouse as a child process:
//!
//! 1. the time from `docker service create` to the conf on disk, over N services (p50, p99);
//! 2. a full pass over M labelled services: wall time, Docker API requests, peak RSS, files
//!    written when nothing changed.
//!
//! `cargo bench --bench swarm` (defaults N=20, M=200; override with GATEHOUSE_BENCH_N / _M).
//! Needs root, `dockerd`, `ip`, Docker Engine and busybox-static, like the swarm tests.

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod bench;
#[path = "../tests/common/docker.rs"]
#[allow(dead_code)]
mod docker;
#[path = "common/passes.rs"]
mod passes;
#[path = "../tests/common/swarm.rs"]
#[allow(dead_code)]
mod swarm;

use std::path::Path;
use std::time::{Duration, Instant};

use bench::{env_num, files_written, log_field, ms, percentile, spread};
use docker::{wait_for, Gatehouse, IMAGE};
use passes::{peak, run_once, watch_passes};
use swarm::Swarm;

fn env(swarm: &Swarm, cfg: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("DOCKER_HOST".into(), swarm.host()),
        ("GATEHOUSE_SWAG_CONFIG".into(), cfg.display().to_string()),
        ("GATEHOUSE_NETWORK_MODE".into(), "off".into()),
        (
            "GATEHOUSE_HEALTH_FILE".into(),
            cfg.join("health.json").display().to_string(),
        ),
        ("PUID".into(), docker::current_uid().to_string()),
        ("PGID".into(), docker::current_gid().to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    env
}

fn create_service(swarm: &Swarm, name: &str) {
    swarm.ok(&[
        "service",
        "create",
        "-d",
        "--no-resolve-image",
        "--name",
        name,
        "--label",
        "auth.protect=true",
        "--label",
        "auth.port=8080",
        IMAGE,
    ]);
}

fn latency(swarm: &Swarm, n: usize) {
    let cfg = docker::swag_config();
    let dir = cfg.path().join("nginx/proxy-confs");
    let gh = Gatehouse::start(&["run"], &env(swarm, cfg.path(), &[]));
    assert!(
        wait_for(Duration::from_secs(30), || gh.logs().contains("pass done")),
        "gatehouse did not start:\n{}",
        gh.logs()
    );
    let mut total = Vec::new();
    let mut after_running = Vec::new();
    for i in 0..n {
        std::thread::sleep(Duration::from_millis(1100));
        let name = format!("lat{i}");
        let file = dir.join(format!("gatehouse.{name}.subdomain.conf"));
        let t0 = Instant::now();
        create_service(swarm, &name);
        let mut running_at = None;
        let ok = wait_for(Duration::from_secs(60), || {
            if running_at.is_none() && swarm.running_tasks(&name) > 0 {
                running_at = Some(t0.elapsed());
            }
            file.exists()
        });
        assert!(ok, "conf for {name} did not appear:\n{}", gh.logs());
        let took = t0.elapsed();
        total.push(took);
        if let Some(r) = running_at {
            after_running.push(took.saturating_sub(r));
        }
    }
    drop(gh);
    total.sort();
    after_running.sort();
    println!("time from `docker service create` to the conf on disk, {n} services one by one:");
    println!("  {}", spread(&total));
    if !after_running.is_empty() {
        println!(
            "  of which after `docker service ps` first showed the task running (polled, so an upper bound of gatehouse's share): p50 {}  max {}",
            ms(percentile(&after_running, 0.5)),
            ms(*after_running.last().expect("samples"))
        );
    }
    for i in 0..n {
        let _ = swarm.docker(&["service", "rm", &format!("lat{i}")]);
    }
}

fn full_pass(swarm: &Swarm, m: usize) {
    let cfg = docker::swag_config();
    let t = Instant::now();
    for i in 0..m {
        create_service(swarm, &format!("svc{i}"));
    }
    let all_running = wait_for(Duration::from_secs(1200), || {
        let out = swarm.ok(&["service", "ls", "--format", "{{.Replicas}}"]);
        out.lines().filter(|l| l.starts_with("1/1")).count() >= m
    });
    assert!(all_running, "the {m} services did not all start");
    eprintln!(
        "created {m} services, each with its task running, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let env = env(swarm, cfg.path(), &[]);
    let once = |label: &str| {
        let (wall, log) = run_once(&env, &[("GATEHOUSE_LOG_LEVEL", "debug")]);
        let written = files_written(&log);
        println!(
            "  {label}: wall {} (process start to exit), {} Docker API requests, {} files written, pass {} ms",
            ms(wall),
            log_field(&log, "docker_requests").map_or("?".into(), |n| n.to_string()),
            written,
            log_field(&log, "elapsed_ms").map_or("?".into(), |n| n.to_string()),
        );
    };
    println!("full pass over {m} labelled services (`gatehouse run --once`):");
    once("first pass (empty proxy-confs)");
    once("second pass (nothing changed)");
    let (hwm, logs) = watch_passes(&env, 4, Duration::from_secs(60));
    println!(
        "  watch mode, 4 full passes: peak RSS (VmHWM) {}, files written {}, {} Docker API requests per pass",
        peak(hwm),
        files_written(&logs),
        requests_per_pass(&logs).map_or("?".into(), |n| n.to_string()),
    );
}

/// The difference between the last two passes' cumulative request counts.
fn requests_per_pass(log: &str) -> Option<u64> {
    let counts: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("pass done"))
        .filter_map(|l| l.split("docker_requests=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    match counts.as_slice() {
        [.., a, b] => Some(b - a),
        _ => None,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; with a filter argument that is not this bench, do nothing.
    let n = env_num("GATEHOUSE_BENCH_N", 20);
    let m = env_num("GATEHOUSE_BENCH_M", 200);
    let swarm = Swarm::start();
    latency(&swarm, n);
    full_pass(&swarm, m);
}
