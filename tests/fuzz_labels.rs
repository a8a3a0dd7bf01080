//! A deterministic, generator-based fuzzer for the label parser, the planner and the renderer
//! (issue 8, "Also"). `cargo fuzz` needs a nightly toolchain; this needs nothing but `cargo test`.
//!
//! Each case is 1 to 4 containers whose labels mix valid values with hostile ones (control bytes,
//! nginx's specials `;{}"'$#`, bidi and zero-width characters, very long values) under the keys of
//! every label family (gatehouse's `auth.*`, swag-auto-proxy's `swag*`, authentik's, compose's,
//! typos and hostile keys). The case goes through `labels::parse`, `plan::desired`,
//! `plan::authentik::desired`, a second pass over the confs the first would write, and the dry-run
//! printout, and must hold these:
//! - nothing panics;
//! - every rendered conf is ASCII printable plus newline, starts with the marker, and its header
//!   names its container and protection;
//! - every protected conf passes `render::check_protected`;
//! - every rejection names its container and the label at fault (or the name it clashes over);
//! - no line meant for a log or the printout carries a control or bidi/zero-width character;
//! - the pass after writing the confs changes nothing.
//!
//! `cargo test --test fuzz_labels` runs 2,000 seeded cases. The ignored
//! `fuzz_for_a_while` runs for `GATEHOUSE_FUZZ_SECS` (default 180) from a time-based seed
//! (or `GATEHOUSE_FUZZ_SEED`) and prints executions and failures:
//! `GATEHOUSE_FUZZ_SECS=180 cargo test --release --test fuzz_labels -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use gatehouse::config::AuthentikSettings;
use gatehouse::labels::{self, LabelRules, Parsed, KNOWN_KEYS};
use gatehouse::model::spec::Access;
use gatehouse::model::workload::{ConfDirState, OwnedConf, Workload};
use gatehouse::plan::{self, authentik::Instance, GraceClock};
use gatehouse::render::dryrun::{self, AuthentikPreview, DryRun, NetPreview};
use gatehouse::render::{self, check_protected};

/// xorshift64*: small, fast, and the same sequence everywhere for a seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `pct` times in 100.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const SWAG_KEYS: &[&str] = &[
    "swag",
    "swag_auth",
    "swag_url",
    "swag_address",
    "swag_port",
    "swag_proto",
    "swag_auth_bypass",
    "swag_server_custom_directive",
    "swag_location_custom_directive",
    "swag_preset_conf",
];

const COMPOSE_KEYS: &[&str] = &[
    "com.docker.compose.project",
    "com.docker.compose.service",
    "com.docker.compose.container-number",
];

/// Keys no family reads, some of them hostile themselves (log injection through a key).
const ODD_KEYS: &[&str] = &[
    "auth.subdomian",
    "auth.prot",
    "auth.",
    "AUTH.protect",
    "auth.\u{202E}tcetorp",
    "auth.x\n2026-01-01T00:00:00Z INFO wrote gatehouse.bank.subdomain.conf",
    "auth.a\u{1b}[2K",
    "swag_urll",
    "",
];

/// Values each key is meant to take.
fn good_values(key: &str) -> &'static [&'static str] {
    let bare = key.rsplit('.').next().unwrap_or(key);
    match bare {
        "protect" | "expose" | "adopt" => &["true", "false", "yes", "1", "TRUE", "off"],
        "subdomain" => &[
            "app",
            "a,b",
            "web-1",
            "vault",
            "x.y",
            "app, app",
            "nextcloud",
        ],
        "port" | "swag_port" => &["80", "8080", "65535", "443", "0"],
        "proto" | "swag_proto" => &["http", "https"],
        "address" | "swag_address" => &["app-server", "10.0.0.1", "app", "vault"],
        "bypass" | "swag_auth_bypass" => &["/api", "/api,/public", "/", "/a/b.c"],
        "preset" | "swag_preset_conf" => &["jellyfin", "homeassistant", "portainer", "nosuch"],
        "server_directive"
        | "location_directive"
        | "swag_server_custom_directive"
        | "swag_location_custom_directive" => &[
            "client_max_body_size 0;",
            "proxy_buffering off;",
            "location /open { proxy_pass http://app:80; }",
        ],
        "network" => &["app_default", "frontend"],
        "slug" => &["app", "my-app", "a_b"],
        "name" | "description" => &["My App", "Files & photos"],
        "group" => &["Media"],
        "icon" | "launch_url" => &["https://example.com/icon.png", "fa://home"],
        "allow_groups" => &["admins", "admins, family"],
        "outpost" => &["authentik Embedded Outpost"],
        "swag" => &["enable", "disable"],
        "swag_auth" => &["authentik", "authelia", "none"],
        "swag_url" => &["app.example.com", "app", "vault.example.org"],
        "project" => &["media", "proj"],
        "service" => &["jellyfin", "vault", "my_films"],
        "container-number" => &["1", "2"],
        _ => &["true", "app", "80"],
    }
}

/// Pieces that nginx, a shell, a terminal or a log reader treat specially.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\0",
    "\t",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    ";",
    "{",
    "}",
    "\"",
    "'",
    "$",
    "#",
    "\\",
    " ",
    "$host",
    "`",
    "\u{202E}",
    "\u{2066}",
    "\u{200B}",
    "\u{FEFF}",
    "\u{00A0}",
    "é",
    "а",
    "🦀",
    "..",
    "/",
    "*",
    "~",
    ",",
    ",,",
    "%0a",
    "include /etc/passwd;",
    "}\nlocation / {",
    "-",
    "_",
    ".",
    "A",
];

/// Lengths around the limits of the grammars (DNS label 63, file name 255, server name).
const LENGTHS: &[usize] = &[
    62, 63, 64, 200, 214, 215, 216, 252, 253, 254, 256, 1000, 5000,
];

fn insert_at_char(s: &mut String, rng: &mut Rng, piece: &str) {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    let at = *rng.pick(&bounds);
    s.insert_str(at, piece);
}

fn value(rng: &mut Rng, key: &str) -> String {
    let good = *rng.pick(good_values(key));
    match rng.below(100) {
        0..=39 => good.to_owned(),
        40..=64 => {
            let mut v = good.to_owned();
            for _ in 0..=rng.below(3) {
                let piece = *rng.pick(HOSTILE);
                insert_at_char(&mut v, rng, piece);
            }
            v
        }
        65..=79 => (0..=rng.below(5))
            .map(|_| {
                if rng.chance(50) {
                    (*rng.pick(HOSTILE)).to_owned()
                } else {
                    {
                        let k = *rng.pick(KNOWN_KEYS);
                        (*rng.pick(good_values(k))).to_owned()
                    }
                }
            })
            .collect(),
        80..=89 => {
            let len = *rng.pick(LENGTHS);
            let unit = if rng.chance(50) { "a" } else { "ab." };
            let mut v = unit.repeat(len / unit.len() + 1);
            v.truncate(len);
            if rng.chance(30) {
                v.push_str(".example.com");
            }
            v
        }
        90..=94 => String::new(),
        _ => (0..rng.below(12))
            .map(|_| char::from_u32(rng.below(0x2100) as u32).unwrap_or('\u{FFFD}'))
            .collect(),
    }
}

const NAMES: &[&str] = &[
    "app",
    "web",
    "vault",
    "media-jellyfin-1",
    "proj-vault-2",
    "jellyfin",
    "portainer",
    "Portainer",
    "a.b",
    "x_y",
    "nextcloud",
];

/// One container: a family's base labels, then up to six labels of any family.
fn container(rng: &mut Rng, name: &str, prefix: &str) -> Workload {
    let mut labels = BTreeMap::new();
    let own = |k: &str| format!("{prefix}.{k}");
    match rng.below(5) {
        0 => {
            labels.insert(own("protect"), "true".to_owned());
        }
        1 => {
            labels.insert(own("expose"), "true".to_owned());
        }
        2 => {
            labels.insert("swag".to_owned(), "enable".to_owned());
            if rng.chance(60) {
                labels.insert("swag_auth".to_owned(), "authentik".to_owned());
            }
        }
        3 => {
            labels.insert(own("protect"), "true".to_owned());
            labels.insert("swag".to_owned(), "enable".to_owned());
        }
        _ => {}
    }
    for _ in 0..rng.below(7) {
        let key = match rng.below(10) {
            0..=5 => own(rng.pick::<&str>(KNOWN_KEYS)),
            6 | 7 => (*rng.pick(SWAG_KEYS)).to_owned(),
            8 => (*rng.pick(COMPOSE_KEYS)).to_owned(),
            _ => (*rng.pick(ODD_KEYS)).to_owned(),
        };
        let v = value(rng, &key);
        labels.insert(key, v);
    }
    let ports: Vec<u16> = [80u16, 443, 8080, 9000]
        .into_iter()
        .filter(|_| rng.chance(30))
        .collect();
    Workload {
        id: format!("id-{name}"),
        name: name.to_owned(),
        image: "example/app:1".into(),
        labels,
        exposed_tcp_ports: ports,
        ..Workload::default()
    }
}

/// One generated case.
#[derive(Debug)]
struct Case {
    containers: Vec<Workload>,
    confdir: ConfDirState,
    rules: LabelRules,
}

fn case(rng: &mut Rng) -> Case {
    let rules = LabelRules {
        prefix: if rng.chance(90) { "auth" } else { "gh" }.into(),
        allow_raw_directives: rng.chance(30),
    };
    let mut names: Vec<&str> = (0..=rng.below(4)).map(|_| *rng.pick(NAMES)).collect();
    names.sort_unstable();
    names.dedup();
    let containers = names
        .iter()
        .map(|n| container(rng, n, &rules.prefix))
        .collect();
    let mut confdir = ConfDirState::default();
    if rng.chance(20) {
        let token = *rng.pick(&["app.*", "vault.example.org", "web.*", "jellyfin.*"]);
        confdir
            .foreign_server_names
            .insert(token.into(), "proxy-confs/mine.subdomain.conf".into());
    }
    if rng.chance(25) {
        reserve(rng, &mut confdir);
    }
    Case {
        containers,
        confdir,
        rules,
    }
}

/// The container of every conf left by a workload that is gone (no generated container or
/// compose service matches it).
const GONE: &str = "old-holder-1";

/// A protected conf written earlier for a container that is gone: its names are reserved.
fn reserve(rng: &mut Rng, confdir: &mut ConfDirState) {
    let sub = *rng.pick(&["app", "vault", "web", "jellyfin"]);
    let holder = Workload {
        name: GONE.into(),
        labels: BTreeMap::from([
            ("auth.protect".to_owned(), "true".to_owned()),
            ("auth.subdomain".to_owned(), sub.to_owned()),
            ("auth.port".to_owned(), "80".to_owned()),
        ]),
        ..Workload::default()
    };
    let d = plan::desired(
        &[holder],
        &ConfDirState::default(),
        &BTreeMap::new(),
        &LabelRules::default(),
    );
    let app = &d.apps[0];
    confdir.owned.insert(
        app.file.clone(),
        OwnedConf {
            content: app.content.clone(),
            container: Some(GONE.into()),
            protected: true,
        },
    );
}

fn samples() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/swag/config/nginx/proxy-confs");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("SWAG's reference samples at {}: {e}", dir.display()))
    {
        let path = entry.expect("dir entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".subdomain.conf.sample") {
            out.insert(name.to_owned(), std::fs::read_to_string(&path).unwrap());
        }
    }
    assert!(!out.is_empty(), "no samples in {}", dir.display());
    out
}

fn settings() -> AuthentikSettings {
    AuthentikSettings {
        url: "http://ak:9000".into(),
        token: "t".into(),
        domain: "example.com".into(),
        external_scheme: "https".into(),
        outpost: None,
        authorization_flow: "a".into(),
        invalidation_flow: "i".into(),
        instance: Instance::unnamed(),
    }
}

/// Whether `text` is safe in a log line or the printout: no control character but newline (for
/// multi-line text), no bidi override or invisible character.
fn log_safe(text: &str, newline_ok: bool) -> bool {
    text.chars().all(|c| {
        !(c.is_control() && !(newline_ok && c == '\n')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
    })
}

/// Counts over a run.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    containers: u64,
    apps: u64,
    protected: u64,
    rejected: u64,
}

/// Runs one case and says what broke.
fn check(c: &Case, samples: &BTreeMap<String, String>, tally: &mut Tally) -> Vec<String> {
    let mut bad = Vec::new();
    check_parse(c, &mut bad);
    let desired = plan::desired(&c.containers, &c.confdir, samples, &c.rules);
    tally.cases += 1;
    tally.containers += c.containers.len() as u64;
    tally.apps += desired.apps.len() as u64;
    tally.rejected += desired.rejected.len() as u64;
    // The pass after: the confs this one writes, and the reserved ones still there.
    let mut owned = c.confdir.clone();
    for app in &desired.apps {
        check_reservations(app, &c.confdir, &mut bad);
        check_conf(app, &mut bad);
        if app.spec.access == Access::Protected {
            tally.protected += 1;
        }
        owned.owned.insert(
            app.file.clone(),
            OwnedConf {
                content: app.content.clone(),
                container: Some(app.spec.container.clone()),
                protected: app.spec.access == Access::Protected,
            },
        );
    }
    check_lines(c, &desired, &mut bad);
    // The pass after the confs are written changes nothing.
    let again = plan::desired(&c.containers, &owned, samples, &c.rules);
    let set = plan::changes(
        &again,
        &owned,
        &mut GraceClock::default(),
        Instant::now(),
        Duration::ZERO,
    );
    let reserved_removal = |ch: &plan::Change| matches!(ch, plan::Change::Remove { container: Some(h), .. } if h == GONE);
    if !set.changes.iter().all(reserved_removal) {
        bad.push(format!("second pass is not idle: {:?}", set.changes));
    }
    let dry = DryRun {
        networks: NetPreview::Off,
        authentik: AuthentikPreview::Off,
    };
    let first = plan::changes(
        &desired,
        &c.confdir,
        &mut GraceClock::default(),
        Instant::now(),
        Duration::ZERO,
    );
    let text = dryrun::print(&desired, &first, &dry);
    if !log_safe(&text, true) {
        bad.push("dry-run printout is not log-safe".into());
    }
    bad
}

/// Every problem of a rejected container names a label it carries (or one it must set).
fn check_parse(c: &Case, bad: &mut Vec<String>) {
    for w in &c.containers {
        if let Parsed::Rejected(e) = labels::parse(w, &c.rules) {
            for p in &e.problems {
                if !w.labels.contains_key(&p.label) && !p.value.is_empty() {
                    bad.push(format!(
                        "problem names label {:?}, which {} does not carry",
                        p.label, w.name
                    ));
                }
            }
        }
    }
}

/// Every rejection names its container and the label at fault; nothing meant for a log line
/// carries a control or invisible character.
fn check_lines(c: &Case, desired: &plan::Desired, bad: &mut Vec<String>) {
    for r in &desired.rejected {
        let names_label = r.reason.contains("label ")
            || r.reason.contains(" is already published for container ")
            || r.reason.contains(" is already served by ")
            || r.reason.contains(" is held by ");
        if !r
            .reason
            .starts_with(&format!("container {}: ", r.container))
            || !names_label
        {
            bad.push(format!("rejection names no label: {}", r.reason));
        }
        if !log_safe(&r.reason, false) {
            bad.push(format!("rejection is not log-safe: {:?}", r.reason));
        }
    }
    for (who, w) in &desired.warnings {
        if !log_safe(w, false) {
            bad.push(format!("warning for {who} is not log-safe: {w:?}"));
        }
    }
    let ak = plan::authentik::desired(desired, &c.containers, &c.rules, &settings());
    for e in &ak.rejected {
        if !log_safe(&e.to_string(), false) {
            bad.push(format!("authentik rejection is not log-safe: {e}"));
        }
    }
}

/// No app takes a name or file that a gone workload's conf still holds.
fn check_reservations(app: &plan::PlannedApp, confdir: &ConfDirState, bad: &mut Vec<String>) {
    for (file, held) in &confdir.owned {
        let tokens = render::server_name_tokens(&held.content);
        let clash = app.file == *file
            || app
                .spec
                .server_names
                .iter()
                .any(|n| tokens.iter().any(|t| n.collides_with_token(t)));
        if clash {
            bad.push(format!(
                "{} took {file}'s name, reserved for {GONE}",
                app.spec.container
            ));
        }
    }
}

fn check_conf(app: &plan::PlannedApp, bad: &mut Vec<String>) {
    let text = &app.content;
    if let Some(b) = text
        .bytes()
        .find(|b| *b != b'\n' && !(0x20..=0x7e).contains(b))
    {
        bad.push(format!("{}: byte {b:#04x} outside the grammar", app.file));
    }
    if app.spec.access == Access::Protected {
        if let Err(e) = check_protected(text) {
            bad.push(format!("{}: protected conf fails the check: {e}", app.file));
        }
    }
    match render::parse_header(text) {
        Some(h) => {
            if h.container.as_deref() != Some(app.spec.container.as_str())
                || h.protected != (app.spec.access == Access::Protected)
            {
                bad.push(format!("{}: header says {h:?}", app.file));
            }
        }
        None => bad.push(format!("{}: no marker", app.file)),
    }
    if app.file.len() > 255 || !app.file.is_ascii() || app.file.contains('/') {
        bad.push(format!("file name {:?} is not a safe file name", app.file));
    }
}

/// Runs one case, turning a panic into a failure.
fn run_one(c: &Case, samples: &BTreeMap<String, String>, tally: &mut Tally) -> Vec<String> {
    match catch_unwind(AssertUnwindSafe(|| check(c, samples, tally))) {
        Ok(bad) => bad,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            vec![format!("panic: {msg}")]
        }
    }
}

#[test]
fn two_thousand_seeded_cases_hold_every_property() {
    let samples = samples();
    let mut tally = Tally::default();
    for seed in 1..=2_000u64 {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let c = case(&mut rng);
        let bad = run_one(&c, &samples, &mut tally);
        assert!(bad.is_empty(), "seed {seed}: {bad:#?}\n{c:#?}");
    }
    // The generator must reach both outcomes, or the properties are checked on nothing.
    assert!(tally.apps > 500 && tally.protected > 200, "{tally:?}");
    assert!(tally.rejected > 500, "{tally:?}");
}

#[test]
#[ignore = "runs for GATEHOUSE_FUZZ_SECS (default 180); run before a release"]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("GATEHOUSE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let seed: u64 = std::env::var("GATEHOUSE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let samples = samples();
    // Panics are counted, not printed one by one.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let mut failures = 0u64;
    let mut shown = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let c = case(&mut rng);
        let bad = run_one(&c, &samples, &mut tally);
        if !bad.is_empty() {
            failures += 1;
            if shown.len() < 5 {
                shown.push(format!("{bad:#?}\n{c:#?}"));
            }
        }
    }
    let _ = std::panic::take_hook();
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "fuzz: seed {seed}, {secs}s: {} executions ({:.0}/s), {} containers, {} confs ({} protected), {} rejections, {failures} failures",
        tally.cases,
        tally.cases as f64 / elapsed,
        tally.containers,
        tally.apps,
        tally.protected,
        tally.rejected
    );
    for s in &shown {
        println!("{s}");
    }
    assert_eq!(failures, 0, "seed {seed}");
}
