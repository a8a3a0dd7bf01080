//! `gatehouse render` against the real Docker engine and the schema-checked fake authentik: it
//! prints every change a pass would make (confs, networks, authentik) and makes none: no file
//! written, no network attached, detached or created, no request but GET sent to authentik. Then
//! `run --once` makes the same changes, logged in the same words. Needs Docker Engine.

mod common;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::docker::{docker_ok, env_with, gatehouse_once, on, Scope};
use common::fake_authentik::{self, FakeAuthentik};

/// Every file below `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let modified = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                out.push((p.clone(), std::fs::read(&p).expect("read"), modified));
            }
        }
    }
    out.sort();
    out
}

fn state_file(cfg: &Path) -> PathBuf {
    cfg.join("gatehouse/networks.json")
}

fn conf(cfg: &Path, sub: &str) -> PathBuf {
    cfg.join(format!("nginx/proxy-confs/gatehouse.{sub}.subdomain.conf"))
}

/// The lines of the dry run that announce a change (`# would …`), as the log would say them
/// done: `# would attach x` -> `attached x`.
fn done_forms(stdout: &str, verbs: &[(&str, &str)]) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# would "))
        .filter_map(|l| {
            verbs.iter().find_map(|(base, past)| {
                l.strip_prefix(&format!("{base} "))
                    .map(|rest| format!("{past} {}", rest.trim_end_matches(':')))
            })
        })
        .collect()
}

fn network_id(name: &str) -> String {
    docker_ok(&["network", "inspect", "-f", "{{.Id}}", name])
}

#[test]
fn docker_render_shows_swag_joining_an_app_network_and_attaches_nothing() {
    let scope = Scope::new("drynet");
    let cfg = common::docker::swag_config();
    let (swag, _) = scope.swag();
    let net_a = scope.network("a");
    let app = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    let env = env_with(
        &scope,
        cfg.path(),
        &[("GATEHOUSE_SWAG_CONTAINER", swag.as_str())],
    );
    let before = snapshot(cfg.path());

    let out = gatehouse_once(&["render"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        format!("\n== networks: per-app mode, SWAG is container {swag}\n"),
        format!("\n# would attach {swag} to network {net_a} (needed by {app})\n"),
        format!(
            "\n# would write gatehouse.{app}.subdomain.conf for container {app} (exposed without authentik):\n"
        ),
        "\n== authentik: provisioning is off (GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN are not set)\n".to_owned(),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
    // The sections come in a fixed order.
    let (c, n, a) = (
        stdout.find("== proxy-confs").unwrap(),
        stdout.find("== networks").unwrap(),
        stdout.find("== authentik").unwrap(),
    );
    assert!(c < n && n < a, "{stdout}");

    // Nothing happened: SWAG is not on the app's network, no state file, no conf, no file at all.
    assert!(!on(&swag, &net_a), "render attached SWAG");
    assert!(
        !state_file(cfg.path()).exists(),
        "render wrote the state file"
    );
    assert!(!cfg.path().join("gatehouse").exists());
    assert!(!conf(cfg.path(), &app).exists());
    assert_eq!(
        snapshot(cfg.path()),
        before,
        "render changed SWAG's config folder"
    );

    // A real pass does what the dry run said, and logs it in the same words.
    let once = gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    let said = done_forms(&stdout, &[("attach", "attached"), ("write", "wrote")]);
    assert_eq!(said.len(), 2, "{said:?}");
    for line in &said {
        assert!(log.contains(line.as_str()), "log lacks {line:?}:\n{log}");
    }
    assert!(on(&swag, &net_a));
    assert!(state_file(cfg.path()).exists());
}

#[test]
fn docker_render_in_shared_mode_shows_the_network_to_create_and_a_detach_and_changes_nothing() {
    let scope = Scope::new("dryshared");
    let cfg = common::docker::swag_config();
    let (swag, _) = scope.swag();
    let net_a = scope.network("a");
    let app = scope
        .container("a")
        .label("auth.expose", "true")
        .network(&net_a)
        .start();
    // gatehouse attached SWAG to `old` earlier (per the record); nothing needs it any more.
    let old = scope.network("old");
    docker_ok(&["network", "connect", &old, &swag]);
    let swag_id = docker_ok(&["inspect", "-f", "{{.Id}}", &swag]);
    let record = serde_json::json!({"joined": [{
        "container_id": swag_id,
        "container": swag,
        "network_id": network_id(&old),
        "network": old,
    }]});
    std::fs::create_dir_all(cfg.path().join("gatehouse")).unwrap();
    std::fs::write(
        state_file(cfg.path()),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();
    let shared = scope.name("shared");
    let env = env_with(
        &scope,
        cfg.path(),
        &[
            ("GATEHOUSE_SWAG_CONTAINER", swag.as_str()),
            ("GATEHOUSE_NETWORK_MODE", "shared"),
            ("GATEHOUSE_SHARED_NETWORK", shared.as_str()),
        ],
    );
    let before = snapshot(cfg.path());

    let out = gatehouse_once(&["render"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let section =
        &stdout[stdout.find("== networks").unwrap()..stdout.find("== authentik").unwrap()];
    let expected = format!(
        "== networks: shared mode (network {shared}), SWAG is container {swag}
# would create network {shared} (the shared network of GATEHOUSE_NETWORK_MODE=shared, labelled gatehouse.managed=true)
# would detach {swag} from network {old}: no running published app needs it any more
# would attach {swag} to network {shared} (needed by {app}, GATEHOUSE_NETWORK_MODE=shared)
# would attach {app} to network {shared} (needed by {app})
"
    );
    assert!(section.starts_with(&expected), "{section}");

    // Nothing happened: no network made, SWAG still on `old`, the record untouched.
    let inspect = std::process::Command::new("docker")
        .args(["network", "inspect", &shared])
        .output()
        .unwrap();
    assert!(
        !inspect.status.success(),
        "render created the shared network"
    );
    assert!(on(&swag, &old), "render detached SWAG");
    assert!(!on(&app, &shared));
    assert_eq!(
        snapshot(cfg.path()),
        before,
        "render changed SWAG's config folder"
    );

    // The real pass: the same changes in the same words.
    let once = gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    let said = done_forms(
        &stdout,
        &[
            ("create", "created"),
            ("detach", "detached"),
            ("attach", "attached"),
        ],
    );
    assert_eq!(said.len(), 4, "{said:?}");
    for line in &said {
        assert!(log.contains(line.as_str()), "log lacks {line:?}:\n{log}");
    }
    assert!(on(&app, &shared) && on(&swag, &shared) && !on(&swag, &old));
}

fn authentik_env(scope: &Scope, cfg: &Path, fake: &FakeAuthentik) -> Vec<(String, String)> {
    let url = fake.url();
    env_with(
        scope,
        cfg,
        &[
            ("GATEHOUSE_AUTHENTIK_URL", url.as_str()),
            ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN),
            ("GATEHOUSE_DOMAIN", "example.com"),
        ],
    )
}

fn non_get(fake: &FakeAuthentik) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn docker_render_shows_authentik_creations_and_deletions_and_sends_only_gets() {
    let scope = Scope::new("dryak");
    let cfg = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    fake.add_user_app("wiki");
    let app = scope
        .container("app")
        .labels(&[
            ("auth.protect", "true"),
            ("auth.subdomain", "jelly"),
            ("auth.bypass", "/api"),
        ])
        .start();
    let wiki = scope
        .container("wiki")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "wiki")])
        .start();
    let env = authentik_env(&scope, cfg.path(), &fake);

    let out = gatehouse_once(&["render"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = fake.url();
    for expected in [
        format!("\n== authentik: {url}, authentik 2026.5\n"),
        format!("\n# would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$)) for container {app}\n"),
        format!("\n# would create authentik application jelly with provider gatehouse:jelly for container {app} (name: \"{app}\")\n"),
        format!("\n# would add provider gatehouse:jelly (container {app}) to authentik outpost \"authentik Embedded Outpost\"\n"),
        format!("\n# container {wiki}: application wiki already exists in authentik and was not made by gatehouse"),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!fake.requests().is_empty(), "render did not read authentik");
    assert_eq!(non_get(&fake), Vec::<String>::new());
    assert!(fake.providers().is_empty());
    assert_eq!(fake.applications().len(), 1);
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    assert!(!conf(cfg.path(), "jelly").exists());

    // The real pass makes those requests and logs them in the same words.
    let once = gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    let said = done_forms(&stdout, &[("create", "created"), ("add", "added")]);
    assert_eq!(said.len(), 3, "{said:?}");
    for line in &said {
        assert!(log.contains(line.as_str()), "log lacks {line:?}:\n{log}");
    }

    // The app goes: render shows the removals (no grace period, like --once) and removes nothing.
    scope.rm(&app);
    fake.clear_requests();
    let out = gatehouse_once(&["render"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in [
        "\n# would remove gatehouse.jelly.subdomain.conf: container ".to_owned(),
        "\n# would take provider gatehouse:jelly (no container publishes it any more) out of authentik outpost \"authentik Embedded Outpost\"\n".to_owned(),
        "\n# would delete authentik application jelly: no container publishes it any more\n".to_owned(),
        "\n# would delete authentik provider gatehouse:jelly: no container publishes it any more\n".to_owned(),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
    assert_eq!(non_get(&fake), Vec::<String>::new());
    assert_eq!(fake.providers().len(), 1, "render deleted the provider");
    assert!(
        conf(cfg.path(), "jelly").exists(),
        "render removed the conf"
    );
}

#[test]
fn docker_render_says_when_authentik_does_not_answer_and_still_shows_the_rest() {
    let scope = Scope::new("dryakdown");
    let cfg = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    fake.stop();
    let app = scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "vault")])
        .start();
    let out = gatehouse_once(&["render"], &authentik_env(&scope, cfg.path(), &fake));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // Incomplete: exit 1, as `run --once` does when it cannot reach authentik.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let url = fake.url();
    for expected in [
        format!("\n# would write gatehouse.vault.subdomain.conf for container {app} (protected by authentik):\n"),
        "\n== networks: ".to_owned(),
        format!("\n== authentik: {url}: cannot reach authentik: "),
        "; what would change there cannot be shown\n".to_owned(),
        format!("\n# wanted in authentik: application vault (container {app})\n"),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!conf(cfg.path(), "vault").exists());
}

#[test]
fn docker_render_shows_a_group_cleared_after_its_label_goes_and_writes_no_record() {
    let scope = Scope::new("dryfield");
    let cfg = common::docker::swag_config();
    let fake = FakeAuthentik::start();
    let labels = [("auth.protect", "true"), ("auth.subdomain", "jelly")];
    let mut with_group = labels.to_vec();
    with_group.push(("auth.group", "Media"));
    let app = scope.container("app").labels(&with_group).start();
    let env = authentik_env(&scope, cfg.path(), &fake);
    let once = gatehouse_once(&["run", "--once"], &env);
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
    let record = cfg.path().join("gatehouse/authentik.json");
    let text = std::fs::read_to_string(&record).expect("run --once keeps a record");
    assert!(text.contains("\"group\": \"Media\""), "{text}");

    // The container is recreated without auth.group.
    scope.rm(&app);
    scope.container("app").labels(&labels).start();
    let before = snapshot(cfg.path());
    fake.clear_requests();
    let out = gatehouse_once(&["render"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = format!("\n# would update authentik application jelly for container {app} (group: \"\"; cleared: auth.group is no longer set, and authentik still held what gatehouse had set from it)\n");
    assert!(
        stdout.contains(&expected),
        "missing {expected:?} in:\n{stdout}"
    );
    assert_eq!(non_get(&fake), Vec::<String>::new());
    assert_eq!(
        snapshot(cfg.path()),
        before,
        "render changed the config folder"
    );

    // The real pass clears it, in the same words, and forgets it.
    let once = gatehouse_once(&["run", "--once"], &env);
    let log = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{log}");
    let said = done_forms(&stdout, &[("update", "updated")]);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        log.contains(said[0].as_str()),
        "log lacks {:?}:\n{log}",
        said[0]
    );
    let group = fake
        .applications()
        .into_iter()
        .find(|a| a["slug"] == "jelly")
        .map(|a| a["group"].clone());
    assert_eq!(group, Some(serde_json::json!("")));
    assert!(!std::fs::read_to_string(&record).unwrap().contains("Media"));
    assert!(fake.schema_rejections().is_empty());
}
