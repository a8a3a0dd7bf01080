//! Remote-host benchmark (`GATEHOUSE_OUTPOST=remote`), real Docker engine, gatehouse as a child
//! process, the schema-checked fake authentik as the central one and the stand-in outpost image:
//! the time from `docker start` of a remote app to its outpost serving it (the app's provider in
//! this host's outpost and the outpost container answering its ping), for the first app (the
//! outpost object and container are made then) and for the next ones (already running).
//!
//! Run: `cargo bench --bench remote` (needs Docker Engine). `GATEHOUSE_BENCH_K` apps after the
//! first (default 10).

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod bench;
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::docker::{wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};
use common::outpost::{self, ip_of, Cleanup, REPO};

fn in_own_outpost(fake: &FakeAuthentik, instance: &str, slug: &str) -> bool {
    let outpost = format!("gatehouse/{instance}");
    let provider = format!("gatehouse/{instance}:{slug}");
    fake.with(|s| {
        let Some(pk) = s
            .providers
            .iter()
            .find(|p| p["name"] == provider.as_str())
            .map(|p| p["pk"].clone())
        else {
            return false;
        };
        s.outposts.iter().any(|o| {
            o["name"] == outpost.as_str()
                && o["providers"].as_array().is_some_and(|a| a.contains(&pk))
        })
    })
}

fn serving(fake: &FakeAuthentik, instance: &str, slug: &str) -> bool {
    let c = format!("gatehouse-outpost-{instance}");
    in_own_outpost(fake, instance, slug)
        && outpost::get(&ip_of(&c, &c), "/outpost.goauthentik.io/ping").0 == 204
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let k: usize = bench::env_num("GATEHOUSE_BENCH_K", 10);
    outpost::build(&["2026.5.6"]);
    let fake = FakeAuthentik::start();
    // Dropped last (declared first): the scope's SWAG stand-in must have left the outpost's
    // network before it is removed.
    let instance = format!("bench{}", std::process::id());
    let _cleanup = Cleanup(instance.clone());
    let scope = Scope::new("benchremote");
    let (swag, _) = scope.swag();
    let cfg = common::docker::swag_config();
    let mut env = scope.gatehouse_env(cfg.path());
    for (key, v) in [
        ("GATEHOUSE_AUTHENTIK_URL", fake.url()),
        ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN.into()),
        ("GATEHOUSE_DOMAIN", "example.com".into()),
        ("GATEHOUSE_INSTANCE", instance.clone()),
        ("GATEHOUSE_OUTPOST", "remote".into()),
        ("GATEHOUSE_OUTPOST_IMAGE", REPO.into()),
        ("GATEHOUSE_SWAG_CONTAINER", swag),
        ("GATEHOUSE_NETWORK_MODE", "off".into()),
    ] {
        env.push((key.into(), v));
    }
    let gh = Gatehouse::start(&["run"], &env);
    let limit = Duration::from_secs(60);
    let mut times: Vec<Duration> = Vec::new();
    for i in 0..=k {
        let slug = format!("app{i}");
        let started = Instant::now();
        scope
            .container(&slug)
            .labels(&[("auth.protect", "true"), ("auth.subdomain", slug.as_str())])
            .start();
        assert!(
            wait_for(limit, || serving(&fake, &instance, &slug)),
            "{slug} never served; log:\n{}",
            gh.logs()
        );
        times.push(started.elapsed());
    }
    let first = times.remove(0);
    times.sort();
    let ms = |d: Duration| d.as_millis();
    println!(
        "remote outpost: docker start -> outpost serving the app: first app {} ms (outpost object and container made), next {k}: median {} ms, max {} ms",
        ms(first),
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap_or(&first)),
    );
}
