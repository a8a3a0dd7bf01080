//! The remote outpost in whole rounds: the provisioner against the in-memory authentik, the
//! keeper against the in-memory engine.

use std::sync::Arc;
use std::time::Duration;

use super::OutpostKeeper;
use crate::config::{
    AuthentikSettings, OutpostMode, RemoteSettings, TokenMode, DEFAULT_AUTHORIZATION_FLOW,
    DEFAULT_INVALIDATION_FLOW,
};
use crate::edge::authentik::memory::{MemoryApi, World};
use crate::edge::docker::fake::FakeEngine;
use crate::labels::authentik::AppWant;
use crate::plan::authentik::remote::OwnOutpost;
use crate::plan::authentik::Desired;
use crate::plan::outpost_container::OUTPOST_LABEL;
use crate::reconcile::authentik::{Instance, Provisioner};

const IMAGE: &str = "ghcr.io/goauthentik/proxy";

fn settings(instance: &str) -> AuthentikSettings {
    AuthentikSettings {
        url: "https://auth.example.com".into(),
        token: "unused".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: DEFAULT_AUTHORIZATION_FLOW.into(),
        invalidation_flow: DEFAULT_INVALIDATION_FLOW.into(),
        instance: Instance::named(instance).unwrap(),
    }
}

fn remote(mode: TokenMode) -> OutpostMode {
    OutpostMode::Remote(RemoteSettings {
        image: IMAGE.into(),
        token_mode: mode,
        host_browser: Some("https://login.example.com".into()),
    })
}

fn want(slug: &str) -> AppWant {
    AppWant {
        container: slug.into(),
        slug: slug.into(),
        name: slug.into(),
        group: None,
        icon: None,
        description: None,
        launch_url: None,
        external_host: format!("https://{slug}.example.com"),
        skip_path_regex: String::new(),
        allow_groups: Vec::new(),
        outpost: None,
        adopt: false,
        mfa: None,
    }
}

fn provisioner(
    api: MemoryApi,
    engine: &Arc<FakeEngine>,
    instance: &str,
    mode: &OutpostMode,
) -> Provisioner<MemoryApi> {
    let s = settings(instance);
    let own = match mode {
        OutpostMode::Remote(r) => Some(OwnOutpost::new(&s.url, r.host_browser.as_deref())),
        OutpostMode::Embedded => None,
    };
    let keeper = OutpostKeeper::new(engine.clone(), Some(instance), mode, &s.url, "swag");
    Provisioner::with_api(api, &s).with_outpost(own, keeper)
}

fn round(prov: &mut Provisioner<MemoryApi>, wants: Vec<AppWant>) {
    let d = Desired {
        wants,
        ..Desired::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(prov.sync(&d, Duration::ZERO))
        .expect("round");
}

#[test]
fn a_remote_host_gets_its_outpost_with_its_providers_and_a_container_with_its_token() {
    let engine = Arc::new(FakeEngine::default());
    let mut prov = provisioner(
        MemoryApi::new(World::current()),
        &engine,
        "nas",
        &remote(TokenMode::Env),
    );
    round(&mut prov, vec![want("jf")]);
    let w = prov.client().world();
    let own = w
        .outposts
        .iter()
        .find(|o| o.name == "gatehouse/nas")
        .expect("outpost");
    assert_eq!(own.providers, [w.providers[0].pk]);
    assert_eq!(own.config["authentik_host"], "https://auth.example.com");
    assert_eq!(
        own.config["authentik_host_browser"],
        "https://login.example.com"
    );
    // Only there: the embedded outpost does not get it.
    assert!(w.outposts[0].providers.is_empty());
    let c = engine.containers();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].name, "gatehouse-outpost-nas");
    assert_eq!(c[0].image, format!("{IMAGE}:2026.5.6"));
    assert_eq!(c[0].state, "running");
    assert_eq!(c[0].labels[OUTPOST_LABEL], "nas");
    assert!(
        engine
            .calls()
            .iter()
            .any(|l| l == "connect gatehouse-outpost-nas swag"),
        "{:?}",
        engine.calls()
    );
    // The next round changes nothing.
    let before = engine.calls().len();
    round(&mut prov, vec![want("jf")]);
    let creates: Vec<String> = engine.calls()[before..]
        .iter()
        .filter(|l| l.starts_with("create") || l.starts_with("remove"))
        .cloned()
        .collect();
    assert!(creates.is_empty(), "{creates:?}");
}

#[test]
fn a_version_bump_recreates_the_container_with_the_new_tag() {
    let engine = Arc::new(FakeEngine::default());
    let mut prov = provisioner(
        MemoryApi::new(World::current()),
        &engine,
        "nas",
        &remote(TokenMode::Env),
    );
    round(&mut prov, vec![want("jf")]);
    prov.client().with(|w| w.version = "2026.8.1".into());
    round(&mut prov, vec![want("jf")]);
    let c = engine.containers();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].image, format!("{IMAGE}:2026.8.1"));
}

#[test]
fn file_mode_puts_the_token_in_a_file_before_the_start() {
    let engine = Arc::new(FakeEngine::default());
    let mut prov = provisioner(
        MemoryApi::new(World::current()),
        &engine,
        "nas",
        &remote(TokenMode::File),
    );
    round(&mut prov, vec![want("jf")]);
    let calls = engine.calls();
    let put = calls
        .iter()
        .position(|l| l.starts_with("put "))
        .expect("put");
    let start = calls
        .iter()
        .position(|l| l.starts_with("start "))
        .expect("start");
    assert!(put < start, "{calls:?}");
}

#[test]
fn mode_off_removes_the_outpost_and_the_container_and_never_another_instances() {
    let engine = Arc::new(FakeEngine::default());
    let api = MemoryApi::new(World::current());
    let mut nas = provisioner(api.clone(), &engine, "nas", &remote(TokenMode::Env));
    let mut pi = provisioner(api.clone(), &engine, "pi", &remote(TokenMode::Env));
    round(&mut nas, vec![want("jf")]);
    round(&mut pi, vec![want("wiki")]);
    assert_eq!(engine.containers().len(), 2);
    let mut nas_off = provisioner(api.clone(), &engine, "nas", &OutpostMode::Embedded);
    round(&mut nas_off, vec![want("jf")]);
    let w = api.world();
    let names: Vec<&str> = w.outposts.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["authentik Embedded Outpost", "gatehouse/pi"]);
    // jf is back on the embedded outpost; wiki stays on pi's.
    let jf = w
        .providers
        .iter()
        .find(|p| p.name.ends_with(":jf"))
        .unwrap()
        .pk;
    let wiki = w
        .providers
        .iter()
        .find(|p| p.name.ends_with(":wiki"))
        .unwrap()
        .pk;
    assert_eq!(w.outposts[0].providers, [jf]);
    assert_eq!(w.outposts[1].providers, [wiki]);
    let left: Vec<String> = engine.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(left, ["gatehouse-outpost-pi"]);
}

#[test]
fn authentik_away_keeps_the_container() {
    let engine = Arc::new(FakeEngine::default());
    let api = MemoryApi::new(World::current());
    let mut prov = provisioner(api.clone(), &engine, "nas", &remote(TokenMode::Env));
    round(&mut prov, vec![want("jf")]);
    api.with(|w| w.down = true);
    let d = Desired {
        wants: vec![want("jf")],
        ..Desired::default()
    };
    let r = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(prov.sync(&d, Duration::ZERO));
    assert!(r.is_err());
    assert_eq!(engine.containers().len(), 1);
    assert_eq!(engine.containers()[0].state, "running");
}

#[test]
fn an_image_the_engine_lacks_is_pulled_then_started() {
    let engine = Arc::new(FakeEngine::default());
    engine.set_images(&[]);
    let mut prov = provisioner(
        MemoryApi::new(World::current()),
        &engine,
        "nas",
        &remote(TokenMode::Env),
    );
    round(&mut prov, vec![want("jf")]);
    let image = format!("{IMAGE}:2026.5.6");
    assert!(
        engine.calls().contains(&format!("pull {image}")),
        "{:?}",
        engine.calls()
    );
    assert_eq!(engine.containers()[0].state, "running");
}
