//! Native single sign-on benchmark, against the schema-checked fake authentik: requests for one
//! new OIDC app, requests and credential-file writes on a resync of 100 unchanged OIDC apps
//! (must be 0 writes), and the time from `docker start` to the app's credential files on disk
//! (real Docker engine, gatehouse as a child process), p50 and p99 over `GATEHOUSE_BENCH_N`
//! (default 30) lone starts.
//!
//! Run: `cargo bench --bench oidc` (needs Docker Engine).

#[path = "common/authentik.rs"]
mod bench_authentik;
#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bench_authentik::{containers, counts, desired};
use common::docker::{docker_ok, wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};
use gatehouse::edge::sso::SsoDir;
use gatehouse::reconcile::authentik::sso::Credentials;
use gatehouse::reconcile::authentik::Provisioner;

/// The containers' labels.
const OIDC: &[(&str, &str)] = &[
    ("auth.expose", "true"),
    ("auth.oidc", "true"),
    ("auth.oidc.redirect", "/oauth/callback"),
];

fn provisioner(fake: &FakeAuthentik, dir: &Path) -> Provisioner {
    // SAFETY: no preconditions.
    let me = unsafe { (libc::geteuid(), libc::getegid()) };
    Provisioner::new(&fake.settings())
        .expect("client")
        .with_credentials(Credentials::new(
            SsoDir::new(dir.join("sso")),
            "https://auth.example.com".into(),
            me,
        ))
}

fn in_process(rt: &tokio::runtime::Runtime) {
    // 1. One new OIDC app, from a fresh gatehouse (reads the server version too).
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut prov = provisioner(&fake, dir.path());
    let d = desired(&fake, &containers(1, OIDC));
    let r = rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
    let (reads, writes) = counts(&fake);
    println!(
        "one new OIDC app: {} requests ({reads} reads, {writes} writes), {} credential files written",
        reads + writes,
        r.sso_writes
    );
    drop(fake);

    // 2. Resync of 100 unchanged OIDC apps.
    let fake = FakeAuthentik::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut prov = provisioner(&fake, dir.path());
    let d = desired(&fake, &containers(100, OIDC));
    rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
    fake.clear_requests();
    let rounds = 10;
    let mut times = Vec::new();
    let mut file_writes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = rt.block_on(prov.sync(&d, Duration::ZERO)).expect("sync");
        times.push(t.elapsed());
        file_writes += r.sso_writes;
    }
    let (reads, writes) = counts(&fake);
    times.sort();
    println!(
        "resync of 100 unchanged OIDC apps: {} requests per round ({} reads, {} writes), {} credential files written in {rounds} rounds, p50 {:.1} ms, max {:.1} ms",
        (reads + writes) / rounds,
        reads / rounds,
        writes / rounds,
        file_writes,
        times[rounds / 2].as_secs_f64() * 1e3,
        times[rounds - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    in_process(&rt);

    // 3. docker start -> credential files on disk, with gatehouse watching.
    let n: usize = std::env::var("GATEHOUSE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .max(2);
    let scope = Scope::new("oidcbench");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let mut env = scope.gatehouse_env(swag.path());
    env.push(("GATEHOUSE_AUTHENTIK_URL".into(), fake.url()));
    env.push((
        "GATEHOUSE_AUTHENTIK_TOKEN".into(),
        fake_authentik::TOKEN.into(),
    ));
    env.push(("GATEHOUSE_DOMAIN".into(), "example.com".into()));
    env.push(("GATEHOUSE_LOG_LEVEL".into(), "info".into()));
    let gh = Gatehouse::start(&["run"], &env);
    std::thread::sleep(Duration::from_secs(1));
    let sso = swag.path().join("gatehouse/sso");
    let mut lat = Vec::new();
    for i in 0..n {
        let name = scope.name(&format!("c{i}"));
        let slug = format!("oidcbench{i}");
        let labels = [
            "auth.expose=true".to_owned(),
            format!("auth.subdomain={slug}"),
            "auth.oidc=true".to_owned(),
            "auth.oidc.redirect=/cb".to_owned(),
        ];
        let mut args = vec!["create", "--name", &name, "--label", &scope.scope_label];
        for l in &labels {
            args.extend(["--label", l.as_str()]);
        }
        args.push(common::docker::IMAGE);
        docker_ok(&args);
        // Lone starts, more than a second apart (see benches/authentik.rs).
        std::thread::sleep(Duration::from_millis(1100));
        let env_file = sso.join(&slug).join("oidc.env");
        let t = Instant::now();
        docker_ok(&["start", &name]);
        let ok = wait_for(Duration::from_secs(20), || env_file.exists());
        assert!(ok, "{} never written:\n{}", env_file.display(), gh.logs());
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = lat[((n * 99).div_ceil(100)).min(n) - 1];
    println!(
        "docker start -> credential files on disk over {n} containers: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (lone starts; includes the `docker start` CLI call, the 100 ms debounce and a 20 ms poll)",
        ms(lat[n / 2]),
        ms(p99),
        ms(lat[n - 1])
    );
    let (reads, writes) = counts(&fake);
    println!("  requests to authentik during that run: {reads} reads, {writes} writes");
    drop(gh);
}
