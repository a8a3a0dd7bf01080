//! Single sign-on rounds on the in-memory authentik: the provider, application and credential
//! files made, nothing written on a resync, a restart once, removal after the grace period, and
//! the secret in no log line at trace level.

use std::sync::Arc;
use std::time::Duration;

use super::sso::Credentials;
use super::*;
use crate::edge::authentik::memory::{MemoryApi, World};
use crate::edge::docker::fake::FakeEngine;
use crate::edge::sso::SsoDir;
use crate::labels::authentik::AppWant;
use crate::labels::oidc::{OidcWant, Redirect};

fn settings() -> AuthentikSettings {
    AuthentikSettings {
        url: "http://authentik.invalid".into(),
        token: "unused".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: crate::config::DEFAULT_AUTHORIZATION_FLOW.into(),
        invalidation_flow: crate::config::DEFAULT_INVALIDATION_FLOW.into(),
        instance: Instance::unnamed(),
    }
}

fn oidc(restart: bool) -> OidcWant {
    OidcWant {
        app: AppWant {
            container: "grafana".into(),
            slug: "grafana".into(),
            name: "Grafana".into(),
            group: None,
            icon: None,
            description: None,
            launch_url: None,
            external_host: "https://grafana.example.com".into(),
            skip_path_regex: String::new(),
            allow_groups: Vec::new(),
            outpost: None,
            adopt: false,
        },
        container_id: "id-grafana".into(),
        redirects: vec![Redirect {
            regex: false,
            url: "https://grafana.example.com/login/generic_oauth".into(),
        }],
        client_id: None,
        public: false,
        scopes: Vec::new(),
        owner: None,
        restart,
        email_verified: false,
    }
}

fn me() -> (u32, u32) {
    // SAFETY: no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

struct Stack {
    prov: Provisioner<MemoryApi>,
    api: MemoryApi,
    engine: Arc<FakeEngine>,
    dir: tempfile::TempDir,
}

fn stack() -> Stack {
    let api = MemoryApi::new(World::current());
    let engine = Arc::new(FakeEngine::default());
    let dir = tempfile::tempdir().unwrap();
    let creds = Credentials::new(
        SsoDir::new(dir.path().join("sso")),
        "https://auth.example.com".into(),
        me(),
    )
    .with_engine(engine.clone());
    let prov = Provisioner::with_api(api.clone(), &settings()).with_credentials(creds);
    Stack {
        prov,
        api,
        engine,
        dir,
    }
}

fn round(prov: &mut Provisioner<MemoryApi>, d: &Desired, grace: Duration) -> SyncReport {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(prov.sync(d, grace))
        .expect("round")
}

fn with(oidc: Vec<OidcWant>) -> Desired {
    Desired {
        oidc,
        ..Desired::default()
    }
}

#[test]
fn a_new_app_gets_provider_application_and_files_and_a_resync_writes_nothing() {
    let mut s = stack();
    let d = with(vec![oidc(true)]);
    let r = round(&mut s.prov, &d, Duration::ZERO);
    assert_eq!((r.writes, r.failed, r.problems), (2, 0, 0), "{r:?}");
    assert_eq!((r.sso_writes, r.restarts), (5, 1));
    let w = s.api.world();
    assert_eq!(w.oauth2.len(), 1);
    assert_eq!(w.applications[0].provider, Some(w.oauth2[0].pk));
    let secret = w.oauth2[0].client_secret.expose().to_owned();
    assert_eq!(secret.len(), 64);
    let folder = s.dir.path().join("sso/grafana");
    assert_eq!(
        std::fs::read_to_string(folder.join("client_secret")).unwrap(),
        secret
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("issuer")).unwrap(),
        "https://auth.example.com/application/o/grafana/"
    );
    assert_eq!(s.engine.calls(), ["restart id-grafana"]);
    // unchanged: no request that writes, no file written, no restart
    let r = round(&mut s.prov, &d, Duration::ZERO);
    assert_eq!((r.writes, r.sso_writes, r.restarts), (0, 0, 0), "{r:?}");
    assert_eq!(s.engine.calls().len(), 1);
}

#[test]
fn a_gone_app_loses_provider_application_and_files_after_the_grace_period() {
    let mut s = stack();
    round(&mut s.prov, &with(vec![oidc(false)]), Duration::ZERO);
    let grace = Duration::from_secs(3600);
    let r = round(&mut s.prov, &with(Vec::new()), grace);
    assert_eq!(
        (r.writes, r.sso_writes),
        (0, 0),
        "kept during the grace period"
    );
    assert!(s.dir.path().join("sso/grafana/client_id").exists());
    let r = round(&mut s.prov, &with(Vec::new()), Duration::ZERO);
    assert_eq!((r.writes, r.sso_writes), (2, 5), "{r:?}");
    let w = s.api.world();
    assert!(w.oauth2.is_empty() && w.applications.is_empty());
    assert!(!s.dir.path().join("sso/grafana").exists());
}

fn traced<R>(f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let r = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (r, text)
}

#[test]
fn the_secret_is_in_no_log_line_at_trace_level() {
    let mut s = stack();
    let d = with(vec![oidc(true)]);
    let (secret, log) = traced(|| {
        round(&mut s.prov, &d, Duration::ZERO);
        let secret = s.api.world().oauth2[0].client_secret.expose().to_owned();
        round(&mut s.prov, &d, Duration::ZERO);
        round(&mut s.prov, &with(Vec::new()), Duration::ZERO);
        secret
    });
    assert_eq!(secret.len(), 64);
    assert!(
        log.contains("wrote the single sign-on credentials of container grafana"),
        "{log}"
    );
    assert!(log.contains("client secret: (hidden)"), "{log}");
    assert!(
        log.contains("deleted authentik OAuth2/OpenID provider"),
        "{log}"
    );
    for line in log.lines() {
        assert!(!line.contains(&secret), "the secret in: {line}");
    }
}
