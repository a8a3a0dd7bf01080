//! authentik provisioning benchmark, against the schema-checked fake authentik:
//! requests for one new app, requests and time for a resync of 100 unchanged protected apps, and
//! the time from `docker start` to the provider being in the outpost (real Docker engine,
//! gatehouse as a child process).
//!
//! Run: `cargo bench --bench authentik` (needs Docker Engine).

#[path = "common/authentik.rs"]
mod bench_authentik;
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bench_authentik::{containers, counts, desired};
use common::docker::{docker_ok, wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};
use gatehouse::reconcile::authentik::Provisioner;

/// The containers' labels.
const PROTECTED: &[(&str, &str)] = &[("auth.protect", "true")];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // 1. One new app, from a fresh gatehouse (reads the server version too).
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).expect("client");
    let d = desired(&fake, &containers(1, PROTECTED));
    rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
    let (reads, writes) = counts(&fake);
    println!(
        "one new app: {} requests ({reads} reads, {writes} writes)",
        reads + writes
    );
    for r in fake.requests() {
        println!("  {} {} -> {}", r.method, r.path, r.status);
    }
    drop(fake);

    // 2. 100 protected apps: first round, then unchanged resyncs.
    let fake = FakeAuthentik::start();
    let mut prov = Provisioner::new(&fake.settings()).expect("client");
    let d = desired(&fake, &containers(100, PROTECTED));
    let t = Instant::now();
    rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
    let first = t.elapsed();
    let (reads, writes) = counts(&fake);
    println!(
        "100 new apps: {} requests ({reads} reads, {writes} writes) in {:.1} ms",
        reads + writes,
        first.as_secs_f64() * 1e3
    );
    let rounds = 20;
    let mut times = Vec::new();
    fake.clear_requests();
    for _ in 0..rounds {
        let t = Instant::now();
        rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
        times.push(t.elapsed());
    }
    let (reads, writes) = counts(&fake);
    times.sort();
    println!(
        "resync of 100 unchanged protected apps: {} requests per round ({} reads, {} writes), p50 {:.1} ms, max {:.1} ms over {rounds} rounds",
        (reads + writes) / rounds,
        reads / rounds,
        writes / rounds,
        times[rounds / 2].as_secs_f64() * 1e3,
        times[rounds - 1].as_secs_f64() * 1e3
    );
    drop(fake);

    // 3. docker start -> provider in the embedded outpost, with gatehouse watching.
    let scope = Scope::new("akbench");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let mut env = scope.gatehouse_env(swag.path());
    env.push(("GATEHOUSE_AUTHENTIK_URL".into(), fake.url()));
    env.push((
        "GATEHOUSE_AUTHENTIK_TOKEN".into(),
        fake_authentik::TOKEN.into(),
    ));
    env.push(("GATEHOUSE_DOMAIN".into(), "example.com".into()));
    let gh = Gatehouse::start(&["run"], &env);
    std::thread::sleep(Duration::from_secs(1));
    let n = 30;
    let mut lat = Vec::new();
    for i in 0..n {
        let name = scope.name(&format!("c{i}"));
        let sub = format!("bench{i}");
        let protect = "auth.protect=true".to_owned();
        let sublabel = format!("auth.subdomain={sub}");
        docker_ok(&[
            "create",
            "--name",
            &name,
            "--label",
            &scope.scope_label,
            "--label",
            &protect,
            "--label",
            &sublabel,
            common::docker::IMAGE,
        ]);
        let provider = format!("gatehouse:{sub}");
        // Lone starts, more than a second apart (a start right after another is part of a burst
        // and waits the longer burst quiet period; see benches/core.rs for bursts).
        std::thread::sleep(Duration::from_millis(1100));
        let t = Instant::now();
        docker_ok(&["start", &name]);
        let ok = wait_for(Duration::from_secs(20), || {
            let pk = fake
                .providers()
                .into_iter()
                .find(|p| p["name"] == provider.as_str())
                .and_then(|p| p["pk"].as_i64());
            pk.is_some_and(|pk| fake.embedded_providers().contains(&pk))
        });
        assert!(
            ok,
            "provider {provider} never reached the outpost:\n{}",
            gh.logs()
        );
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "docker start -> provider in outpost over {n} containers: p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms (lone starts; includes the `docker start` CLI call, the 100 ms debounce and a 20 ms poll)",
        ms(lat[n / 2]),
        ms(lat[n * 9 / 10]),
        ms(lat[n - 1])
    );
    let (reads, writes) = counts(&fake);
    println!("  requests to authentik during that run: {reads} reads, {writes} writes");
    drop(gh);
}
