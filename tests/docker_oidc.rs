//! Native single sign-on end to end: the real Docker engine, gatehouse as a child process and the
//! schema-checked fake authentik. The credential files appear in the app container's mount with
//! the owner, mode and content asked for; `auth.oidc.restart=true` restarts it exactly once; the
//! secret is in no log line at trace level, no `render` output and no `docker inspect`. Needs
//! Docker Engine (fails loudly without it).

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::docker::{after, docker_ok, react, wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, FakeAuthentik};

fn env(scope: &Scope, swag: &Path, fake: &FakeAuthentik) -> Vec<(String, String)> {
    let mut env = scope.gatehouse_env(swag);
    env.extend([
        ("GATEHOUSE_AUTHENTIK_URL".into(), fake.url()),
        (
            "GATEHOUSE_AUTHENTIK_TOKEN".into(),
            fake_authentik::TOKEN.into(),
        ),
        ("GATEHOUSE_DOMAIN".into(), "example.com".into()),
        (
            "GATEHOUSE_AUTHENTIK_PUBLIC_URL".into(),
            "https://auth.example.com".into(),
        ),
        ("GATEHOUSE_RESYNC_SECS".into(), "1".into()),
        ("GATEHOUSE_LOG_LEVEL".into(), "trace".into()),
    ]);
    env
}

fn exec(container: &str, cmd: &str) -> Option<String> {
    let out = std::process::Command::new("docker")
        .args(["exec", container, "sh", "-c", cmd])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn restarts_since(container: &str, since: u64) -> usize {
    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    docker_ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        &format!("container={container}"),
        "--filter",
        "event=restart",
        "--format",
        "{{.Action}}",
    ])
    .lines()
    .filter(|l| !l.trim().is_empty())
    .count()
}

#[test]
fn docker_oidc_credentials_reach_the_app_restart_it_once_and_the_secret_stays_hidden() {
    let scope = Scope::new("oidc");
    let swag = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let env = env(&scope, swag.path(), &fake);
    let slug = scope.name("graf").replace('.', "-");
    let folder = swag.path().join("gatehouse/sso").join(&slug);
    std::fs::create_dir_all(&folder).unwrap();
    let mount = format!("{}:/run/secrets/oidc:ro", folder.display());
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let app = scope
        .container("graf")
        .labels(&[
            ("auth.expose", "true"),
            ("auth.slug", &slug),
            ("auth.oidc", "true"),
            ("auth.oidc.redirect", "/login/generic_oauth"),
            ("auth.oidc.owner", "4321:4322"),
            ("auth.oidc.restart", "true"),
        ])
        .option(["-v", mount.as_str()])
        .start();

    // the dry run says what it would make, the secret hidden (none exists yet)
    let render = common::docker::gatehouse_once(&["render"], &env);
    let render_out = String::from_utf8_lossy(&render.stdout).into_owned();
    assert!(
        render_out.contains("client secret: (hidden)"),
        "{render_out}\n{}",
        String::from_utf8_lossy(&render.stderr)
    );

    let gh = Gatehouse::start(&["run"], &env);
    let secret = || {
        fake.with(|st| st.oauth2.first().map(|p| p["client_secret"].clone()))
            .and_then(|s| s.as_str().map(str::to_owned))
    };
    assert!(
        wait_for(react(), || exec(
            &app,
            "cat /run/secrets/oidc/client_secret"
        )
        .is_some_and(|s| Some(s) == secret())),
        "the secret never reached the container; log:\n{}",
        gh.logs()
    );
    let secret = secret().unwrap();
    assert_eq!(secret.len(), 64);
    let stat = exec(&app, "stat -c '%n %u:%g %a' /run/secrets/oidc/*").unwrap();
    for name in [
        "client_id",
        "client_secret",
        "issuer",
        "discovery_url",
        "oidc.env",
    ] {
        let line = stat
            .lines()
            .find(|l| {
                l.ends_with(&format!("{name} 4321:4322 640")) || l.contains(&format!("/{name} "))
            })
            .unwrap_or_else(|| panic!("{name} missing: {stat}"));
        assert!(line.ends_with("4321:4322 640"), "{line}");
    }
    assert_eq!(exec(&app, "cat /run/secrets/oidc/client_id").unwrap(), slug);
    assert_eq!(
        exec(&app, "cat /run/secrets/oidc/issuer").unwrap(),
        format!("https://auth.example.com/application/o/{slug}/")
    );
    let env_file = exec(&app, "cat /run/secrets/oidc/oidc.env").unwrap();
    assert!(
        env_file.contains(&format!("OIDC_CLIENT_ID={slug}\n")),
        "{env_file}"
    );

    // restarted exactly once: resyncs (every second) and the restart's own events write
    // nothing and restart nothing more
    assert!(
        wait_for(react(), || restarts_since(&app, since) >= 1),
        "never restarted; log:\n{}",
        gh.logs()
    );
    fake.clear_requests();
    std::thread::sleep(after(Duration::from_secs(2)));
    assert_eq!(restarts_since(&app, since), 1, "log:\n{}", gh.logs());
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());

    // the secret is nowhere it must not be
    let inspect = docker_ok(&["inspect", &app]);
    assert!(
        !inspect.contains(&secret),
        "docker inspect shows the secret"
    );
    let render = common::docker::gatehouse_once(&["render"], &env);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&render.stdout),
        String::from_utf8_lossy(&render.stderr)
    );
    assert!(!all.contains(&secret), "render shows the secret:\n{all}");
    let log = gh.stop();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "not a trace log:\n{log}"
    );
    for line in log.lines() {
        assert!(!line.contains(&secret), "the secret in a log line: {line}");
    }
    assert!(log.contains("client secret: (hidden)"), "{log}");
}
