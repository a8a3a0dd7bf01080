//! A remote host's own authentik outpost end to end (`GATEHOUSE_OUTPOST=remote`): the real
//! Docker engine, gatehouse as a child process, the schema-checked fake authentik as the central
//! one, a stand-in outpost image (tests/common/outpost.rs: no registry here) and a real nginx with
//! SWAG's tree sending `auth_request` to the outpost container.
//!
//! "Two hosts" are two gatehouse instances (`GATEHOUSE_INSTANCE` a and b) on the same engine,
//! each with its own `GATEHOUSE_SCOPE_LABEL`, SWAG stand-in and config folder: a second dockerd
//! is not started here. nginx runs in the machine's network namespace (it must reach the
//! container on its bridge) on free loopback ports; the test points the conf's upstream names at
//! the containers' addresses (nginx here has no Docker DNS), nothing else of the generated files
//! changes. Needs Docker Engine, nginx with the set-misc module, and root.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::docker::{react, wait_for, Gatehouse, Scope};
use common::fake_authentik::{self, outposts, FakeAuthentik};
use common::nginx::SwagTree;
use common::outpost::{self, inspect, ip_of, Cleanup, REPO};
use serde_json::Value;

const SESSION: &str = "authentik_proxy_test=valid-session";

/// One "host": its scope on the engine, SWAG config folder, SWAG stand-in and instance name.
struct Host {
    scope: Scope,
    cfg: tempfile::TempDir,
    swag: String,
    instance: String,
    _cleanup: Cleanup,
}

impl Host {
    fn new(short: &str) -> Self {
        let scope = Scope::new(&format!("remote{short}"));
        let (swag, _) = scope.swag();
        let instance = format!("{short}{}", std::process::id());
        Self {
            cfg: common::docker::swag_config(),
            swag,
            _cleanup: Cleanup(instance.clone()),
            instance,
            scope,
        }
    }

    fn outpost_container(&self) -> String {
        format!("gatehouse-outpost-{}", self.instance)
    }

    fn env(&self, fake: &FakeAuthentik, mode: &str) -> Vec<(String, String)> {
        let mut env = self.scope.gatehouse_env(self.cfg.path());
        for (k, v) in [
            ("GATEHOUSE_AUTHENTIK_URL", fake.url()),
            ("GATEHOUSE_AUTHENTIK_TOKEN", fake_authentik::TOKEN.into()),
            ("GATEHOUSE_DOMAIN", "example.com".into()),
            ("GATEHOUSE_INSTANCE", self.instance.clone()),
            ("GATEHOUSE_OUTPOST", mode.into()),
            ("GATEHOUSE_OUTPOST_IMAGE", REPO.into()),
            ("GATEHOUSE_SWAG_CONTAINER", self.swag.clone()),
            ("GATEHOUSE_NETWORK_MODE", "off".into()),
            ("GATEHOUSE_RESYNC_SECS", "1".into()),
            ("GATEHOUSE_REMOVE_GRACE_SECS", "1".into()),
        ] {
            env.push((k.into(), v));
        }
        env
    }

    fn conf(&self, sub: &str) -> String {
        let path = self
            .cfg
            .path()
            .join(format!("nginx/proxy-confs/gatehouse.{sub}.subdomain.conf"));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn include(&self) -> Option<String> {
        std::fs::read_to_string(
            self.cfg
                .path()
                .join("nginx/gatehouse/authentik-server.conf"),
        )
        .ok()
    }
}

fn outpost_of(fake: &FakeAuthentik, instance: &str) -> Option<Value> {
    let name = format!("gatehouse/{instance}");
    fake.with(|s| {
        s.outposts
            .iter()
            .find(|o| o["name"] == name.as_str())
            .cloned()
    })
}

fn provider_pk(fake: &FakeAuthentik, instance: &str, slug: &str) -> Option<i64> {
    let name = format!("gatehouse/{instance}:{slug}");
    fake.providers()
        .into_iter()
        .find(|p| p["name"] == name.as_str())
        .and_then(|p| p["pk"].as_i64())
}

fn providers_in(outpost: &Value) -> Vec<i64> {
    outpost["providers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// Whether `instance`'s outpost holds exactly the provider of `slug`.
fn outpost_serves(fake: &FakeAuthentik, instance: &str, slug: &str) -> bool {
    match (
        outpost_of(fake, instance),
        provider_pk(fake, instance, slug),
    ) {
        (Some(o), Some(pk)) => providers_in(&o) == [pk],
        _ => false,
    }
}

fn running_image(container: &str) -> String {
    match inspect(container, "{{.State.Running}} {{.Config.Image}}").split_once(' ') {
        Some(("true", image)) => image.to_owned(),
        _ => String::new(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// nginx in this network namespace on `port` (443's place) and a second port (80's place).
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// SWAG's tree with this host's generated include and conf, upstreams pointed at addresses.
fn swag_tree(host: &Host, sub: &str, app_ip: &str, outpost_ip: &str, port: u16) -> SwagTree {
    let tree = SwagTree::new();
    let http_port = free_port();
    tree.edit("nginx/site-confs/default.conf", |t| {
        t.replace(
            "listen 443 ssl default_server;",
            &format!("listen 127.0.0.1:{port} ssl default_server;"),
        )
        .replace(
            "listen 80 default_server;",
            &format!("listen 127.0.0.1:{http_port} default_server;"),
        )
        .replace("listen [::]:443 ssl default_server;", "")
        .replace("listen [::]:80 default_server;", "")
    });
    let include = host
        .include()
        .expect("gatehouse wrote its server include")
        .replace(&host.outpost_container(), outpost_ip)
        .replace("/config/", &format!("{}/", tree.config().display()));
    std::fs::create_dir_all(tree.config().join("nginx/gatehouse")).expect("mkdir");
    std::fs::write(
        tree.config().join("nginx/gatehouse/authentik-server.conf"),
        include,
    )
    .expect("write include");
    let app = host.scope.name("app");
    let conf = host
        .conf(sub)
        .replace(
            &format!("set $upstream_app {app};"),
            &format!("set $upstream_app {app_ip};"),
        )
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
        .replace("listen [::]:443 ssl;", "");
    tree.add_conf(&format!("gatehouse.{sub}.subdomain.conf"), &conf);
    tree.assert_nginx_t("the remote host's conf and server include");
    tree
}

fn serve(tree: &SwagTree, port: u16) -> Nginx {
    let conf = tree.config().join("nginx/nginx.conf");
    let child = Command::new("nginx")
        .args(["-e", "stderr", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx(child);
    assert!(
        wait_for(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nginx did not listen on {port}"
    );
    nginx
}

/// `curl` through nginx: status, Location and body.
fn get(port: u16, host: &str, cookie: Option<&str>) -> (u16, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sk",
        "-m",
        "5",
        "-o",
        "-",
        "-w",
        "\n%{http_code} %{redirect_url}",
    ])
    .arg("--resolve")
    .arg(format!("{host}:{port}:127.0.0.1"))
    .arg(format!("https://{host}:{port}/"));
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = cmd.output().expect("curl (apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (status, location) = last.split_once(' ').unwrap_or((last, ""));
    (
        status.parse().unwrap_or(0),
        location.to_owned(),
        body.trim().to_owned(),
    )
}

#[test]
fn docker_remote_outpost_serves_this_hosts_apps_follows_the_server_and_leaves_with_the_mode() {
    outpost::build(&["2026.5.6", "2026.8.1"]);
    let fake = FakeAuthentik::start();
    let a = Host::new("a");
    let gh = Gatehouse::start(&["run"], &a.env(&fake, "remote"));
    let started = Instant::now();
    let app = a
        .scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "jelly")])
        .start();
    let outpost = a.outpost_container();
    let ready = wait_for(react() * 3, || {
        outpost_serves(&fake, &a.instance, "jelly")
            && running_image(&outpost) == format!("{REPO}:2026.5.6")
            && outpost::get(&ip_of(&outpost, &outpost), "/outpost.goauthentik.io/ping").0 == 204
    });
    assert!(ready, "the outpost never served jelly; log:\n{}", gh.logs());
    eprintln!(
        "docker start of the app -> outpost serving it: {} ms",
        started.elapsed().as_millis()
    );
    // The container runs with the token the fake handed out for this outpost, nothing else.
    let op = outpost_of(&fake, &a.instance).unwrap();
    let identifier = op["token_identifier"].as_str().unwrap().to_owned();
    let token = fake.with(|s| s.outpost_tokens[&identifier].clone());
    let (_, env) = outpost::get(&ip_of(&outpost, &outpost), "/gatehouse-test/env");
    assert!(env.contains(&format!("token={token}\n")), "{env}");
    assert!(env.contains(&format!("host={}\n", fake.url())), "{env}");
    assert!(env.contains("insecure=false\n"), "{env}");
    assert_eq!(op["config"]["authentik_host"], fake.url().as_str());
    assert!(!gh.logs().contains(&token), "the token reached the log");
    // `render` shows the outpost's health (its ping, when authentik last saw it), not its token.
    let pk = op["pk"].as_str().unwrap().to_owned();
    fake.with(|s| {
        s.outpost_seen.insert(
            pk,
            vec![outposts::seen(
                "2026-11-30T10:00:00Z",
                "2026.5.6",
                "2026.5.6",
            )],
        )
    });
    let out = common::docker::gatehouse_once(&["render"], &a.env(&fake, "remote"));
    let text = String::from_utf8_lossy(&out.stdout);
    let healthy = format!(
        "# healthy: outpost \"gatehouse/{}\": container running (",
        a.instance
    );
    assert!(text.contains(&healthy), "{text}");
    assert!(
        text.contains(
            "ping answered 204, authentik last saw it at 2026-11-30T10:00:00Z (version 2026.5.6)"
        ),
        "{text}"
    );
    assert!(!text.contains(&token) && !String::from_utf8_lossy(&out.stderr).contains(&token));
    // The embedded outpost does not get this host's app.
    assert!(fake.embedded_providers().is_empty());
    // SWAG is on the outpost's network; the conf includes gatehouse's include.
    assert!(common::docker::on(&a.swag, &outpost));
    assert!(a
        .conf("jelly")
        .contains("include /config/nginx/gatehouse/authentik-server.conf;"));
    assert!(!a
        .conf("jelly")
        .contains("include /config/nginx/authentik-server.conf;"));
    assert!(a
        .include()
        .unwrap()
        .contains(&format!("set $upstream_authentik {outpost};")));

    // Real nginx: 401 → sign-in redirect, 200 → the app, outpost stopped → not the app.
    let port = free_port();
    let tree = swag_tree(
        &a,
        "jelly",
        &ip_of(&app, "bridge"),
        &ip_of(&outpost, &outpost),
        port,
    );
    {
        let _nginx = serve(&tree, port);
        let (status, location, _) = get(port, "jelly.example.com", None);
        assert_eq!(status, 302, "{location}");
        assert!(
            location.contains("/outpost.goauthentik.io/start?rd="),
            "{location}"
        );
        let (status, _, body) = get(port, "jelly.example.com", Some(SESSION));
        assert_eq!((status, body.as_str()), (200, "hello-from-app"));
        common::docker::docker_ok(&["stop", "-t", "1", &outpost]);
        let (status, _, body) = get(port, "jelly.example.com", Some(SESSION));
        assert_ne!(status, 200, "served without its outpost: {body}");
        assert_ne!(body, "hello-from-app");
    }
    assert!(
        wait_for(react(), || gh
            .logs()
            .contains("gatehouse does not start a stopped outpost")),
        "the stopped outpost was not reported; log:\n{}",
        gh.logs()
    );
    common::docker::docker_ok(&["start", &outpost]);

    // A new server version: the container is recreated with the new tag.
    fake.with(|s| s.version = "2026.8.1".into());
    assert!(
        wait_for(react() * 3, || running_image(&outpost)
            == format!("{REPO}:2026.8.1")),
        "not recreated with the new version; log:\n{}",
        gh.logs()
    );

    // A second host with its own instance and outpost.
    let b = Host::new("b");
    let gh_b = Gatehouse::start(&["run"], &b.env(&fake, "remote"));
    b.scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "wiki")])
        .start();
    assert!(
        wait_for(react() * 3, || outpost_serves(&fake, &b.instance, "wiki")
            && running_image(&b.outpost_container()).starts_with(REPO)),
        "b's outpost never served wiki; log:\n{}",
        gh_b.logs()
    );
    assert!(
        outpost_serves(&fake, &a.instance, "jelly"),
        "b touched a's outpost"
    );

    // a goes back to the embedded outpost: its outpost and container go, b's stay.
    let log_a = gh.stop();
    let gh = Gatehouse::start(&["run"], &a.env(&fake, "embedded"));
    let jelly = provider_pk(&fake, &a.instance, "jelly").unwrap();
    assert!(
        wait_for(react() * 3, || outpost_of(&fake, &a.instance).is_none()
            && inspect(&outpost, "{{.Id}}").is_empty()
            && fake.embedded_providers() == [jelly]
            && a.include().is_none()),
        "mode off did not clean up (outpost {:?}, container {:?}, embedded {:?}, include {}); log:\n{}\nbefore:\n{log_a}",
        outpost_of(&fake, &a.instance),
        inspect(&outpost, "{{.Id}}"),
        fake.embedded_providers(),
        a.include().is_some(),
        gh.logs()
    );
    assert!(a
        .conf("jelly")
        .contains("include /config/nginx/authentik-server.conf;"));
    assert!(outpost_serves(&fake, &b.instance, "wiki"));
    assert!(running_image(&b.outpost_container()).starts_with(REPO));
    assert!(
        fake.schema_rejections().is_empty(),
        "{:?}",
        fake.schema_rejections()
    );
    drop(gh_b);
}

#[test]
fn docker_remote_file_mode_keeps_the_token_out_of_docker_inspect_and_authentik_away_changes_nothing(
) {
    outpost::build(&["2026.5.6"]);
    let fake = FakeAuthentik::start();
    let a = Host::new("f");
    let mut env = a.env(&fake, "remote");
    env.push(("GATEHOUSE_OUTPOST_TOKEN_MODE".into(), "file".into()));
    let gh = Gatehouse::start(&["run"], &env);
    a.scope
        .container("app")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "files")])
        .start();
    let outpost = a.outpost_container();
    assert!(
        wait_for(react() * 3, || running_image(&outpost).starts_with(REPO)),
        "no outpost container; log:\n{}",
        gh.logs()
    );
    let op = outpost_of(&fake, &a.instance).unwrap();
    let identifier = op["token_identifier"].as_str().unwrap().to_owned();
    let token = fake.with(|s| s.outpost_tokens[&identifier].clone());
    let inspected = inspect(&outpost, "{{json .}}");
    assert!(
        !inspected.contains(&token),
        "the token is in docker inspect"
    );
    assert!(inspected.contains("AUTHENTIK_TOKEN=file:///gatehouse-outpost-token"));
    let ok = wait_for(react(), || {
        outpost::get(&ip_of(&outpost, &outpost), "/gatehouse-test/env")
            .1
            .contains(&format!("token={token}\n"))
    });
    assert!(ok, "the outpost did not read its token from the file");

    // The central authentik goes away: the outpost container and the confs stay as they are; a
    // new app's conf is written meanwhile, and it reaches the outpost once authentik is back,
    // without a restart.
    let id = inspect(&outpost, "{{.Id}}");
    fake.stop();
    a.scope
        .container("app2")
        .labels(&[("auth.protect", "true"), ("auth.subdomain", "later")])
        .start();
    assert!(
        wait_for(react(), || a
            .conf("later")
            .contains("gatehouse/authentik-server.conf")),
        "the conf loop waited on authentik; log:\n{}",
        gh.logs()
    );
    std::thread::sleep(common::docker::after(Duration::from_secs(2)));
    assert_eq!(
        inspect(&outpost, "{{.Id}}"),
        id,
        "the outpost container changed"
    );
    assert!(running_image(&outpost).starts_with(REPO));
    assert!(a.include().is_some());
    fake.resume();
    let later = || {
        let pk = provider_pk(&fake, &a.instance, "later");
        outpost_of(&fake, &a.instance)
            .is_some_and(|o| pk.is_some_and(|pk| providers_in(&o).contains(&pk)))
    };
    assert!(
        wait_for(react() * 3, later),
        "did not converge once authentik came back; log:\n{}",
        gh.logs()
    );
    assert_eq!(
        inspect(&outpost, "{{.Id}}"),
        id,
        "recreated although nothing changed"
    );
}
