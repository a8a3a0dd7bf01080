//! Issue 13's load numbers, against the real Docker engine with the release binary: a watching
//! gatehouse over M labelled containers (default 200) passing every second: quiet; while 1,000
//! requests to each of `/` and `/metrics` are spread over about 10 s of passes (200 a second);
//! and under a flood (C clients asking as fast as they can for 10 s). For each: pass time (p50,
//! mean, max), RSS (sampled max and the peak, VmHWM), request latency.
//!
//! `cargo bench --bench status` (GATEHOUSE_BENCH_M, GATEHOUSE_BENCH_R requests per path,
//! GATEHOUSE_BENCH_RATE for the paced phase, GATEHOUSE_BENCH_C clients for the flood). Needs Docker Engine and busybox-static, like the integration
//! tests.

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod bench;
#[path = "../tests/common/docker.rs"]
#[allow(dead_code)]
mod docker;
#[path = "../tests/common/status.rs"]
#[allow(dead_code)]
mod http;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::{env_num, mib, proc_kib};
use docker::{docker_ok, wait_for, Gatehouse, Scope, IMAGE};

/// The `elapsed_ms` of every `pass done` line in the log, in order.
fn pass_times(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("pass done") && l.contains("mode=Watch"))
        .filter_map(|l| l.split("elapsed_ms=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|v| v.parse().ok())
        .collect()
}

fn start_containers(scope: &Scope, m: usize) {
    for i in 0..m {
        let name = scope.name(&format!("app{i}"));
        let access = if i.is_multiple_of(2) {
            "auth.protect=true"
        } else {
            "auth.expose=true"
        };
        docker_ok(&[
            "create",
            "--name",
            &name,
            "--label",
            &scope.scope_label,
            "--label",
            access,
            IMAGE,
        ]);
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
}

/// Samples VmRSS every 20 ms until `stop`; returns the largest.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut max = 0;
        while !stop.load(Ordering::Relaxed) {
            max = max.max(proc_kib(pid, "VmRSS:").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        max
    })
}

struct Phase {
    passes: Vec<u64>,
    rss_max_kib: u64,
    hwm_kib: u64,
}

fn report(label: &str, p: &Phase) {
    let mut sorted = p.passes.clone();
    sorted.sort_unstable();
    let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let max = sorted.last().copied().unwrap_or(0);
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len().max(1) as f64;
    println!(
        "  {label}: {} passes, pass time p50 {p50} ms, mean {mean:.1} ms, max {max} ms; RSS sampled max {}, peak (VmHWM) {}",
        sorted.len(),
        mib(p.rss_max_kib),
        mib(p.hwm_kib)
    );
}

/// Runs `phase` while sampling RSS; returns the passes that ended meanwhile.
fn measure(gh: &Gatehouse, min_passes: usize, phase: impl FnOnce()) -> Phase {
    let before = pass_times(&gh.logs()).len();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(gh.pid(), stop.clone());
    phase();
    assert!(
        wait_for(Duration::from_secs(60), || pass_times(&gh.logs()).len()
            >= before + min_passes),
        "passes stopped:\n{}",
        gh.logs()
    );
    stop.store(true, Ordering::Relaxed);
    let rss_max_kib = sampler.join().unwrap_or(0);
    Phase {
        passes: pass_times(&gh.logs())[before..].to_vec(),
        rss_max_kib,
        hwm_kib: proc_kib(gh.pid(), "VmHWM:").unwrap_or(0),
    }
}

/// `clients` threads fetch `/` and `/metrics` in turn until each path got `per_path` answers,
/// each client waiting `gap` between its requests.
fn load(port: u16, per_path: usize, clients: usize, gap: Duration) -> (Vec<Duration>, Duration) {
    let done = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let t = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let done = done.clone();
            let latencies = latencies.clone();
            std::thread::spawn(move || loop {
                let n = done.fetch_add(1, Ordering::Relaxed);
                if n >= per_path * 2 {
                    return;
                }
                let path = if n.is_multiple_of(2) { "/" } else { "/metrics" };
                let t = Instant::now();
                let answer = http::get(port, path).expect("an answer");
                assert_eq!(answer.status, 200);
                latencies.lock().unwrap().push(t.elapsed());
                std::thread::sleep(gap);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let took = t.elapsed();
    let mut l = std::mem::take(&mut *latencies.lock().unwrap());
    l.sort();
    (l, took)
}

fn print_load(label: &str, (mut latencies, took): (Vec<Duration>, Duration)) {
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "    {label}: {} requests (half `/`, half `/metrics`) in {:.1} s = {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        took.as_secs_f64(),
        latencies.len() as f64 / took.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let m = env_num("GATEHOUSE_BENCH_M", 200);
    let per_path = env_num("GATEHOUSE_BENCH_R", 1000);
    let clients = env_num("GATEHOUSE_BENCH_C", 8);
    let scope = Scope::new("bench-status");
    let cfg = docker::swag_config();
    start_containers(&scope, m);
    let port = http::free_port();
    let mut env = scope.gatehouse_env(cfg.path());
    env.push(("GATEHOUSE_LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("GATEHOUSE_RESYNC_SECS".into(), "1".into()));
    let gh = Gatehouse::start(&["run"], &env);
    let settled = wait_for(Duration::from_secs(60), || {
        http::get(port, "/api/status").is_some_and(|a| a.body.matches("\"container\"").count() >= m)
            && pass_times(&gh.logs()).len() >= 3
    });
    assert!(
        settled,
        "gatehouse did not publish {m} apps:\n{}",
        gh.logs()
    );
    println!(
        "{m} labelled containers, a pass every second (GATEHOUSE_RESYNC_SECS=1), release build:"
    );
    let quiet = measure(&gh, 10, || std::thread::sleep(Duration::from_secs(10)));
    report("no requests     ", &quiet);
    // Issue 13's load: 1,000 requests to each of `/` and `/metrics`, spread over the passes of
    // about 10 s (200 requests a second from 4 clients).
    let rate = env_num("GATEHOUSE_BENCH_RATE", 200);
    let mut paced = (Vec::new(), Duration::ZERO);
    let gap = Duration::from_secs_f64(4.0 / rate.max(1) as f64);
    let loaded = measure(&gh, 5, || paced = load(port, per_path, 4, gap));
    report("paced requests  ", &loaded);
    print_load(&format!("{rate} req/s, 4 clients"), paced);
    // A flood: as fast as `clients` clients can ask, for at least 10 s.
    let mut flood = (Vec::new(), Duration::ZERO);
    let flooded = measure(&gh, 5, || {
        let until = Instant::now() + Duration::from_secs(10);
        while flood.0.is_empty() || Instant::now() < until {
            let (l, t) = load(port, per_path, clients, Duration::ZERO);
            flood.0.extend(l);
            flood.1 += t;
        }
    });
    report("flood           ", &flooded);
    print_load(&format!("flood, {clients} clients"), flood);
    let page = http::get(port, "/").map_or(0, |a| a.body.len());
    let metrics = http::get(port, "/metrics").map_or(0, |a| a.body.len());
    println!("  sizes: `/` {page} bytes, `/metrics` {metrics} bytes with {m} apps");
    drop(gh);
}
