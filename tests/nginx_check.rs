//! Every kind of conf gatehouse renders is valid nginx inside SWAG's real tree (Debian's nginx,
//! `nginx -t`), and a few representative confs are pinned byte for byte as golden files
//! (`GATEHOUSE_BLESS=1 cargo test --test nginx_check` rewrites them).
//!
//! Confs come from the public pure API: `Workload` with labels -> `plan::desired` with the
//! reference tree's samples, exactly as `gatehouse run` plans them.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::nginx::{reference_samples, SwagTree};
use gatehouse::labels::LabelRules;
use gatehouse::model::spec::{Access, PresetName};
use gatehouse::model::workload::{ConfDirState, Workload};
use gatehouse::plan::{self, Desired, PlannedApp};
use gatehouse::render::check_protected;

const SERVER_INCLUDE: &str = "include /config/nginx/authentik-server.conf;";
const LOCATION_INCLUDE: &str = "include /config/nginx/authentik-location.conf;";

fn container(name: &str, labels: &[(&str, &str)], ports: &[u16]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.to_owned(),
        image: "example/app:1".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        exposed_tcp_ports: ports.to_vec(),
        networks: BTreeMap::new(),
        ..Workload::default()
    }
}

fn plan_with(containers: &[Workload], rules: &LabelRules) -> Desired {
    let samples = reference_samples();
    let confdir = ConfDirState {
        samples: samples.keys().cloned().collect(),
        ..ConfDirState::default()
    };
    plan::desired(containers, &confdir, &samples, rules)
}

fn plan_default(containers: &[Workload]) -> Desired {
    plan_with(containers, &LabelRules::default())
}

/// Plans exactly these containers and expects every one of them to get a conf.
fn all_planned(containers: &[Workload], rules: &LabelRules) -> Vec<PlannedApp> {
    let d = plan_with(containers, rules);
    assert!(d.rejected.is_empty(), "rejected: {:#?}", d.rejected);
    assert_eq!(d.apps.len(), containers.len(), "one conf per container");
    d.apps
}

fn app_for<'a>(apps: &'a [PlannedApp], container: &str) -> &'a PlannedApp {
    apps.iter()
        .find(|a| a.spec.container == container)
        .unwrap_or_else(|| panic!("no conf planned for {container}"))
}

fn active_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn assert_protected(app: &PlannedApp) {
    assert_eq!(app.spec.access, Access::Protected);
    let lines = active_lines(&app.content);
    assert!(lines.contains(&SERVER_INCLUDE), "{}", app.content);
    assert!(lines.contains(&LOCATION_INCLUDE), "{}", app.content);
    check_protected(&app.content).expect("protected conf passes check_protected");
}

fn assert_exposed(app: &PlannedApp) {
    assert_eq!(app.spec.access, Access::Exposed);
    let lines = active_lines(&app.content);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("authentik-server.conf") || l.contains("authentik-location.conf")),
        "exposed conf has an active authentik include:\n{}",
        app.content
    );
}

/// Checks the confs with `nginx -t` in a fresh copy of SWAG's tree.
fn nginx_t(apps: &[PlannedApp], what: &str) {
    let tree = SwagTree::new();
    for app in apps {
        tree.add_conf(&app.file, &app.content);
    }
    tree.assert_nginx_t(what);
}

// ---- the containers, one builder per kind of conf (reused by the all-in-one-tree test) ----

fn protected_app() -> Workload {
    container(
        "whoami",
        &[("auth.protect", "true"), ("auth.port", "8000")],
        &[],
    )
}

fn exposed_app() -> Workload {
    container("gitea", &[("auth.expose", "true")], &[3000])
}

fn bypass_app() -> Workload {
    container(
        "paperless",
        &[
            ("auth.protect", "true"),
            (
                "auth.bypass",
                "/api,/hooks/, /v1.2/web-hook,/~user/x_y,/a/b/c",
            ),
        ],
        &[8000],
    )
}

fn subdomains_app() -> Workload {
    container(
        "media",
        &[
            ("auth.protect", "true"),
            ("auth.subdomain", "media,Films.home,tv-1"),
            ("auth.port", "8096"),
        ],
        &[8096, 8920],
    )
}

fn swag_url_app() -> Workload {
    container(
        "wiki",
        &[
            ("swag", "enable"),
            ("swag_url", "wiki.example.com"),
            ("swag_auth", "authentik"),
            ("swag_auth_bypass", "/feed"),
            ("swag_port", "3000"),
        ],
        &[],
    )
}

fn swag_exposed_app() -> Workload {
    container("blog", &[("swag", "enable"), ("swag_port", "2368")], &[])
}

fn https_app() -> Workload {
    container(
        "unifi",
        &[
            ("auth.protect", "true"),
            ("auth.proto", "https"),
            ("auth.port", "8443"),
            ("auth.address", "unifi-controller.lan"),
        ],
        &[8443, 8080],
    )
}

fn raw_directives_app() -> Workload {
    container(
        "uploads",
        &[
            ("auth.protect", "true"),
            ("auth.bypass", "/public"),
            ("auth.server_directive", "client_max_body_size 10m;"),
            (
                "auth.location_directive",
                "if ($http_x_blocked) { return 403; }",
            ),
        ],
        &[80],
    )
}

fn swag_raw_directives_app() -> Workload {
    container(
        "legacy",
        &[
            ("swag", "enable"),
            ("swag_port", "8080"),
            ("swag_server_custom_directive", "add_header X-Test \"a b\";"),
            ("swag_location_custom_directive", "proxy_buffering off;"),
        ],
        &[],
    )
}

/// A preset has its own `client_max_body_size 0;`: a label setting it must replace it, since
/// nginx refuses the directive twice in one block.
fn preset_raw_directives_app() -> Workload {
    container(
        "dockge",
        &[
            ("auth.protect", "true"),
            ("auth.preset", "dockge"),
            ("auth.server_directive", "client_max_body_size 512m;"),
            ("auth.location_directive", "proxy_buffering off;"),
        ],
        &[],
    )
}

fn raw_rules() -> LabelRules {
    LabelRules {
        allow_raw_directives: true,
        ..LabelRules::default()
    }
}

/// The presets a user can name: the samples whose name fits the label grammar (SWAG's
/// `_template` is not an app; the built-in template is its equivalent).
fn preset_names() -> Vec<String> {
    reference_samples()
        .into_keys()
        .filter(|n| PresetName::parse(n).is_ok())
        .collect()
}

/// Whether SWAG's sample carries both commented authentik includes gatehouse switches on.
fn sample_can_be_protected(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.contains(&format!("#{SERVER_INCLUDE}").as_str())
        && lines.contains(&format!("#{LOCATION_INCLUDE}").as_str())
}

fn preset_exposed(name: &str) -> Workload {
    container(
        &format!("{name}-open"),
        &[("auth.expose", "true"), ("auth.preset", name)],
        &[],
    )
}

fn preset_protected(name: &str) -> Workload {
    container(
        name,
        &[("auth.protect", "true"), ("auth.preset", name)],
        &[],
    )
}

// ---- one kind of conf per test ----

#[test]
fn nginx_protected_builtin() {
    let apps = all_planned(&[protected_app()], &LabelRules::default());
    let app = app_for(&apps, "whoami");
    assert_protected(app);
    assert!(app.content.contains("server_name whoami.*;"));
    assert!(app.content.contains("set $upstream_port 8000;"));
    nginx_t(&apps, "a protected app");
}

#[test]
fn nginx_exposed_builtin() {
    let apps = all_planned(&[exposed_app()], &LabelRules::default());
    assert_exposed(app_for(&apps, "gitea"));
    nginx_t(&apps, "an exposed app");
}

#[test]
fn nginx_bypass_paths() {
    let apps = all_planned(&[bypass_app()], &LabelRules::default());
    let app = app_for(&apps, "paperless");
    assert_protected(app);
    for regex in [
        r"location ~ ^/api(/|$) {",
        r"location ~ ^/hooks(/|$) {",
        r"location ~ ^/v1\.2/web\-hook(/|$) {",
        r"location ~ ^/\~user/x_y(/|$) {",
        r"location ~ ^/a/b/c(/|$) {",
    ] {
        assert!(
            app.content.contains(regex),
            "missing {regex}:\n{}",
            app.content
        );
    }
    // The bypass locations come before `location /` and carry no auth include.
    let root = app.content.find("location / {").expect("location /");
    let last_bypass = app.content.rfind("location ~ ^/").expect("bypass location");
    assert!(last_bypass < root);
    let bypass_part = &app.content[app.content.find("location ~ ^/").unwrap()..root];
    assert!(!bypass_part.contains("authentik-location.conf"));
    nginx_t(&apps, "a protected app with several bypass paths");
}

#[test]
fn nginx_several_subdomains() {
    let apps = all_planned(&[subdomains_app()], &LabelRules::default());
    let app = app_for(&apps, "media");
    assert_protected(app);
    assert!(
        app.content
            .contains("server_name media.* films.home.* tv-1.*;"),
        "{}",
        app.content
    );
    assert_eq!(app.file, "gatehouse.media.subdomain.conf");
    nginx_t(&apps, "an app with several subdomains");
}

#[test]
fn nginx_swag_url_full_host_and_swag_exposed() {
    let apps = all_planned(
        &[swag_url_app(), swag_exposed_app()],
        &LabelRules::default(),
    );
    let wiki = app_for(&apps, "wiki");
    assert_protected(wiki);
    assert!(wiki.content.contains("server_name wiki.example.com;"));
    assert!(wiki.content.contains(r"location ~ ^/feed(/|$) {"));
    assert_eq!(wiki.file, "gatehouse.wiki.example.com.subdomain.conf");
    assert_exposed(app_for(&apps, "blog"));
    nginx_t(
        &apps,
        "swag_url with a full host name, and a swag-labelled exposed app",
    );
}

#[test]
fn nginx_https_upstream() {
    let apps = all_planned(&[https_app()], &LabelRules::default());
    let app = app_for(&apps, "unifi");
    assert_protected(app);
    assert!(app.content.contains("set $upstream_proto https;"));
    assert!(app
        .content
        .contains("set $upstream_app unifi-controller.lan;"));
    nginx_t(&apps, "an https upstream");
}

#[test]
fn nginx_raw_directives_when_allowed() {
    let containers = [
        raw_directives_app(),
        swag_raw_directives_app(),
        preset_raw_directives_app(),
    ];
    // Refused by default ...
    let refused = plan_default(&containers);
    assert!(refused.apps.is_empty(), "{:#?}", refused.apps);
    assert_eq!(refused.rejected.len(), 3);
    assert!(refused
        .rejected
        .iter()
        .all(|r| r.reason.contains("GATEHOUSE_ALLOW_RAW_DIRECTIVES")));
    // ... and valid nginx when allowed.
    let apps = all_planned(&containers, &raw_rules());
    let uploads = app_for(&apps, "uploads");
    assert_protected(uploads);
    assert!(uploads
        .content
        .contains("client_max_body_size 10m; # from a label"));
    // The location directive goes into every location: `location /` and the bypass one.
    assert_eq!(
        uploads
            .content
            .matches("if ($http_x_blocked) { return 403; } # from a label")
            .count(),
        2,
        "{}",
        uploads.content
    );
    assert_exposed(app_for(&apps, "legacy"));
    for app in [uploads, app_for(&apps, "dockge")] {
        let sizes: Vec<&str> = active_lines(&app.content)
            .into_iter()
            .filter(|l| l.starts_with("client_max_body_size"))
            .collect();
        assert_eq!(
            sizes.len(),
            1,
            "one body size per server block:\n{}",
            app.content
        );
        assert!(!sizes[0].starts_with("client_max_body_size 0;"));
    }
    assert_protected(app_for(&apps, "dockge"));
    nginx_t(&apps, "raw directives from labels");
}

#[test]
fn nginx_every_preset_exposed() {
    let names = preset_names();
    assert!(names.len() >= 6, "reference presets: {names:?}");
    let containers: Vec<_> = names.iter().map(|n| preset_exposed(n)).collect();
    let apps = all_planned(&containers, &LabelRules::default());
    let samples = reference_samples();
    for name in &names {
        let app = app_for(&apps, &format!("{name}-open"));
        assert_exposed(app);
        assert!(app.content.contains(&format!("template=preset:{name}")));
        // The sample's port and proto are kept when no label says otherwise.
        let sample = &samples[name];
        let port = gatehouse::render::sample_port(sample).expect("sample port");
        assert_eq!(app.upstream.port, port, "{name}");
        if let Some(proto) = gatehouse::render::sample_proto(sample) {
            assert_eq!(app.upstream.proto, proto, "{name}");
        }
        assert!(app
            .content
            .contains(&format!("set $upstream_app {name}-open;")));
        // Each alone, so a failure names the preset.
        nginx_t(
            std::slice::from_ref(app),
            &format!("preset {name}, exposed"),
        );
    }
}

#[test]
fn nginx_every_preset_protected_or_refused() {
    let samples = reference_samples();
    let names = preset_names();
    let (can, cannot): (Vec<&String>, Vec<&String>) = names
        .iter()
        .partition(|n| sample_can_be_protected(&samples[n.as_str()]));
    // The reference tree has both kinds; pin them so a changed tree is noticed.
    assert_eq!(can, ["dockge", "homeassistant", "portainer"]);
    assert_eq!(cannot, ["authentik", "jellyfin", "nextcloud"]);

    for name in &can {
        let apps = all_planned(&[preset_protected(name)], &LabelRules::default());
        let app = app_for(&apps, name);
        assert_protected(app);
        nginx_t(
            std::slice::from_ref(app),
            &format!("preset {name}, protected"),
        );
    }
    for name in &cannot {
        let d = plan_default(&[preset_protected(name), protected_app()]);
        assert!(
            !d.apps.iter().any(|a| a.spec.container == name.as_str()),
            "preset {name} without authentik lines was published: {:#?}",
            d.apps
        );
        assert_eq!(d.apps.len(), 1, "the other app is still planned");
        let r = d
            .rejected
            .iter()
            .find(|r| r.container == name.as_str())
            .unwrap_or_else(|| panic!("preset {name} not rejected"));
        assert!(r.wants_protection);
        assert!(
            r.reason.contains(&format!("preset {name}"))
                && r.reason.contains("cannot be protected"),
            "{}",
            r.reason
        );
    }
}

/// swag-auto-proxy picks the sample named like the container; when that sample cannot be
/// protected, the built-in template is used (still protected), with a warning.
#[test]
fn nginx_swag_preset_by_name_falls_back_to_builtin_when_unprotectable() {
    let containers = [
        container(
            "jellyfin",
            &[("swag", "enable"), ("swag_auth", "authentik")],
            &[8096],
        ),
        container(
            "portainer",
            &[("swag", "enable"), ("swag_auth", "authentik")],
            &[],
        ),
    ];
    let d = plan_default(&containers);
    assert!(d.rejected.is_empty(), "{:#?}", d.rejected);
    let jellyfin = app_for(&d.apps, "jellyfin");
    assert_protected(jellyfin);
    assert!(jellyfin.content.contains("template=builtin"));
    assert!(d
        .warnings
        .iter()
        .any(|(c, w)| c == "jellyfin" && w.contains("using the built-in template")));
    let portainer = app_for(&d.apps, "portainer");
    assert_protected(portainer);
    assert!(portainer.content.contains("template=preset:portainer"));
    nginx_t(&d.apps, "swag-auto-proxy presets chosen by container name");
}

#[test]
fn nginx_all_confs_in_one_tree() {
    let mut containers = vec![
        protected_app(),
        exposed_app(),
        bypass_app(),
        subdomains_app(),
        swag_url_app(),
        swag_exposed_app(),
        https_app(),
        raw_directives_app(),
        swag_raw_directives_app(),
    ];
    let samples = reference_samples();
    for name in preset_names() {
        containers.push(preset_exposed(&name));
        if sample_can_be_protected(&samples[&name]) {
            containers.push(preset_protected(&name));
        }
    }
    let apps = all_planned(&containers, &raw_rules());
    let mut files: Vec<&str> = apps.iter().map(|a| a.file.as_str()).collect();
    files.dedup();
    assert_eq!(files.len(), containers.len(), "distinct file names");
    nginx_t(&apps, "every kind of conf together");
}

// ---- golden files ----

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn bless() -> bool {
    std::env::var("GATEHOUSE_BLESS").is_ok_and(|v| v == "1")
}

fn golden_cases() -> Vec<(&'static str, Workload, LabelRules)> {
    vec![
        ("protected-bypass.conf", bypass_app(), LabelRules::default()),
        ("exposed.conf", exposed_app(), LabelRules::default()),
        (
            "swag-url-protected.conf",
            swag_url_app(),
            LabelRules::default(),
        ),
        (
            "preset-homeassistant-protected.conf",
            container(
                "homeassistant",
                &[
                    ("auth.protect", "true"),
                    ("auth.preset", "homeassistant"),
                    ("auth.bypass", "/auth/token"),
                ],
                &[],
            ),
            LabelRules::default(),
        ),
        (
            "preset-nextcloud-exposed.conf",
            container(
                "nextcloud",
                &[("auth.expose", "true"), ("auth.preset", "nextcloud")],
                &[80, 443],
            ),
            LabelRules::default(),
        ),
        ("raw-directives.conf", raw_directives_app(), raw_rules()),
    ]
}

#[test]
fn nginx_golden_files() {
    let dir = golden_dir();
    if bless() {
        std::fs::create_dir_all(&dir).expect("create tests/golden");
    }
    let mut mismatches = Vec::new();
    for (file, c, rules) in golden_cases() {
        let apps = all_planned(std::slice::from_ref(&c), &rules);
        let rendered = &apps[0].content;
        let path = dir.join(file);
        if bless() {
            std::fs::write(&path, rendered).expect("write golden");
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "golden {} missing ({e}): run GATEHOUSE_BLESS=1 cargo test --test nginx_check",
                path.display()
            )
        });
        if &golden != rendered {
            mismatches.push(format!(
                "{file} differs from the rendered conf (review, then GATEHOUSE_BLESS=1):\n--- golden\n{golden}\n--- rendered\n{rendered}"
            ));
        }
        // The golden file itself, as it is on disk, is valid nginx in SWAG's tree.
        let tree = SwagTree::new();
        tree.add_conf(&apps[0].file, &golden);
        tree.assert_nginx_t(&format!("golden {file}"));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // No stray golden files that no case produces.
    let expected: Vec<&str> = golden_cases().iter().map(|(f, _, _)| *f).collect();
    for entry in std::fs::read_dir(&dir).expect("read tests/golden") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(expected.contains(&name.as_str()), "stray golden {name}");
    }
}

/// The harness itself must catch a broken conf, or every test above could pass vacuously.
#[test]
fn nginx_harness_rejects_a_broken_conf() {
    let apps = all_planned(&[protected_app()], &LabelRules::default());
    let tree = SwagTree::new();
    let broken = apps[0].content.replacen("location / {", "location / {{", 1);
    tree.add_conf(&apps[0].file, &broken);
    let result = tree.nginx_t();
    assert!(!result.success, "{}", result.output);
    assert!(result.output.contains("[emerg]"), "{}", result.output);
    // Two apps serving the same name make nginx warn; the strict check treats that as failure.
    let tree = SwagTree::new();
    tree.add_conf("a.subdomain.conf", &apps[0].content);
    tree.add_conf("b.subdomain.conf", &apps[0].content);
    let result = tree.nginx_t();
    assert!(result.output.contains("[warn]"), "{}", result.output);
    // And the untouched tree passes.
    SwagTree::new().assert_nginx_t("SWAG's tree with no conf added");
}

/// A name given twice in a label (in another case, or as `<name>.*`) is rendered once: nginx
/// warns about a server name given twice.
#[test]
fn nginx_repeated_names_in_a_label_render_once() {
    let apps = all_planned(
        &[container(
            "app",
            &[
                ("auth.protect", "true"),
                ("auth.subdomain", "app,APP,app.*, app ,two"),
                ("auth.bypass", "/api,/api,/hooks"),
            ],
            &[80],
        )],
        &LabelRules::default(),
    );
    let app = app_for(&apps, "app");
    assert!(
        app.content.contains("server_name app.* two.*;"),
        "{}",
        app.content
    );
    assert_eq!(app.content.matches("location ~ ^/api(/|$) {").count(), 1);
    nginx_t(&apps, "names repeated in a label");
}
