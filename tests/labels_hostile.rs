//! Label values are hostile input. For every label gatehouse reads, values carrying what nginx or a
//! log line treats specially (newline, `;`, braces, quotes, `$`, space, `#`, non-ASCII, control
//! characters, overlong, empty, ...) are rejected with one readable line naming container, label,
//! escaped value and rule; the container is skipped and the others are still planned; and no conf
//! gatehouse renders ever carries a byte it should not.

mod common;

use std::collections::BTreeMap;

use gatehouse::labels::{self, LabelRules, Parsed};
use gatehouse::model::spec::Access;
use gatehouse::model::workload::{ConfDirState, Workload};
use gatehouse::plan::{self, Desired};
use gatehouse::render::check_protected;

fn container(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        id: format!("id-{name}"),
        name: name.to_owned(),
        image: "example/app:1".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        exposed_tcp_ports: vec![8080],
        networks: BTreeMap::new(),
        ..Workload::default()
    }
}

const GATEHOUSE_BASE: &[(&str, &str)] = &[("auth.protect", "true"), ("auth.port", "8080")];
const SWAG_BASE: &[(&str, &str)] = &[
    ("swag", "enable"),
    ("swag_auth", "authentik"),
    ("swag_port", "8080"),
];

/// A label, the labels it is tested beside, a value that is valid for it, and (part of) the rule a
/// bad value must be told.
struct Label {
    name: &'static str,
    base: &'static [(&'static str, &'static str)],
    good: &'static str,
    rule: &'static str,
    /// Comma-separated list: spaces around items are trimmed, so they are not hostile there.
    list: bool,
}

const SUBDOMAIN_RULE: &str = "must be DNS labels (a-z, 0-9, '-'";
const PORT_RULE: &str = "must be a whole number from 1 to 65535";
const PROTO_RULE: &str = "must be http or https";
const ADDRESS_RULE: &str = "must be a container or host name";
const BYPASS_RULE: &str = "must start with '/' and hold only letters, digits";
const PRESET_RULE: &str = "must name a SWAG sample";
const BOOL_RULE: &str = "must be true or false";

fn labels_table() -> Vec<Label> {
    let l = |name, base, good, rule, list| Label {
        name,
        base,
        good,
        rule,
        list,
    };
    vec![
        l(
            "auth.subdomain",
            GATEHOUSE_BASE,
            "app",
            SUBDOMAIN_RULE,
            true,
        ),
        l("auth.port", GATEHOUSE_BASE, "8080", PORT_RULE, false),
        l("auth.proto", GATEHOUSE_BASE, "https", PROTO_RULE, false),
        l(
            "auth.address",
            GATEHOUSE_BASE,
            "app-server",
            ADDRESS_RULE,
            false,
        ),
        l("auth.bypass", GATEHOUSE_BASE, "/api", BYPASS_RULE, true),
        l("auth.preset", GATEHOUSE_BASE, "dockge", PRESET_RULE, false),
        l(
            "auth.protect",
            &[("auth.port", "8080")],
            "true",
            BOOL_RULE,
            false,
        ),
        l(
            "auth.expose",
            &[("auth.port", "8080")],
            "true",
            BOOL_RULE,
            false,
        ),
        l(
            "swag_url",
            SWAG_BASE,
            "app.example.com",
            SUBDOMAIN_RULE,
            false,
        ),
        l("swag_port", SWAG_BASE, "8080", PORT_RULE, false),
        l("swag_proto", SWAG_BASE, "https", PROTO_RULE, false),
        l("swag_address", SWAG_BASE, "app-server", ADDRESS_RULE, false),
        l("swag_auth_bypass", SWAG_BASE, "/api", BYPASS_RULE, true),
        l("swag_preset_conf", SWAG_BASE, "dockge", PRESET_RULE, false),
        l(
            "swag_auth",
            &[("swag", "enable"), ("swag_port", "8080")],
            "authentik",
            "must be authentik",
            false,
        ),
        l(
            "swag",
            &[("swag_auth", "authentik"), ("swag_port", "8080")],
            "enable",
            "must be enable (or disable)",
            false,
        ),
    ]
}

/// What nginx or a log line treats specially, and what a strict grammar must not let through.
const FRAGMENTS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    ";",
    "{",
    "}",
    "\"",
    "'",
    "`",
    "$",
    "${host}",
    " ",
    "\t",
    "#",
    "\\",
    "\0",
    "\u{7f}",
    "é",
    "\u{202e}",
    "\u{ff0e}",
    "\u{200b}",
    "<",
    "|",
    "*",
    "%0a",
    "; } server { listen 80;",
    "\ninclude /etc/shadow;",
];

/// Hostile values for a label: each fragment alone, appended, and in the middle; plus empty and
/// overlong.
fn hostile_values(label: &Label) -> Vec<String> {
    let mut out = vec![String::new(), label.good.repeat(300)];
    for f in FRAGMENTS {
        out.push((*f).to_owned());
        if !(label.list && *f == " ") {
            out.push(format!("{}{f}", label.good));
        }
        out.push(format!("{}{f}zz9", label.good));
    }
    out
}

/// Values that break only the length or range rules.
fn overlong_and_out_of_range() -> Vec<(&'static str, String)> {
    vec![
        ("auth.subdomain", "a".repeat(64)),
        ("auth.subdomain", format!("{}a", "a.".repeat(127))),
        ("auth.subdomain", "-app".into()),
        ("auth.subdomain", "app-".into()),
        ("auth.subdomain", "app..x".into()),
        ("auth.subdomain", "app,".into()),
        ("auth.port", "0".into()),
        ("auth.port", "65536".into()),
        ("auth.port", "080808".into()),
        ("auth.port", "-1".into()),
        ("auth.port", "+80".into()),
        ("auth.port", "0x50".into()),
        ("auth.port", " 80".into()),
        ("auth.proto", "HTTP".into()),
        ("auth.proto", "ftp".into()),
        ("auth.address", "-app".into()),
        ("auth.address", format!("a{}", "b".repeat(253))),
        ("auth.address", "[::1]".into()),
        ("auth.address", "app:80".into()),
        ("auth.address", "app/x".into()),
        ("auth.bypass", "/".into()),
        ("auth.bypass", "api".into()),
        ("auth.bypass", "/a//b".into()),
        ("auth.bypass", "/a/../b".into()),
        ("auth.bypass", "/a/./b".into()),
        ("auth.bypass", "/..".into()),
        ("auth.bypass", "/a?b".into()),
        ("auth.bypass", "/a%2fb".into()),
        ("auth.bypass", "/a(b|c)".into()),
        ("auth.bypass", format!("/{}", "a".repeat(256))),
        ("auth.preset", "../jellyfin".into()),
        ("auth.preset", "_template".into()),
        ("auth.preset", "Jellyfin".into()),
        ("auth.preset", "jellyfin.subdomain.conf.sample".into()),
        ("auth.preset", "a".repeat(101)),
        ("swag_url", "app.*.com".into()),
        ("swag_url", "*.example.com".into()),
    ]
}

fn rule_for(label: &str) -> &'static str {
    labels_table()
        .iter()
        .find(|l| l.name == label)
        .map(|l| l.rule)
        .expect("label in table")
}

fn base_for(label: &str) -> &'static [(&'static str, &'static str)] {
    labels_table()
        .iter()
        .find(|l| l.name == label)
        .map(|l| l.base)
        .expect("label in table")
}

fn with_label(name: &str, base: &[(&str, &str)], label: &str, value: &str) -> Workload {
    let mut c = container(name, base);
    c.labels.insert(label.to_owned(), value.to_owned());
    c
}

fn plan_all(containers: &[Workload], rules: &LabelRules) -> Desired {
    let samples = common::nginx::reference_samples();
    plan::desired(containers, &ConfDirState::default(), &samples, rules)
}

/// A conf may hold only printable ASCII and newlines, with balanced braces, and a protected one
/// must keep its authentik includes.
fn assert_conf_clean(file: &str, content: &str, access: Access) {
    if let Some(bad) = content
        .chars()
        .find(|c| !(*c == '\n' || (' '..='~').contains(c)))
    {
        panic!("{file} contains {bad:?}:\n{content}");
    }
    assert!(
        !content.contains("zz9"),
        "{file} carries a hostile value:\n{content}"
    );
    let active: String = content
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split(" # ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        active.matches('{').count(),
        active.matches('}').count(),
        "{file} has unbalanced braces:\n{content}"
    );
    if access == Access::Protected {
        check_protected(content).unwrap_or_else(|e| panic!("{file}: {e}\n{content}"));
    }
}

/// The checks every rejection must pass: one line naming container, label, escaped value, rule.
fn assert_rejected(c: &Workload, label: &str, value: &str, rule: &str, rules: &LabelRules) {
    let errors = match labels::parse(c, rules) {
        Parsed::Rejected(e) => e,
        other => panic!("{label}={value:?} was not rejected: {other:#?}"),
    };
    let line = errors.to_string();
    let problem = errors
        .problems
        .iter()
        .find(|p| p.label == label)
        .unwrap_or_else(|| panic!("{label}={value:?}: no problem names the label: {line}"));
    assert_eq!(problem.value, value);
    assert!(
        line.starts_with(&format!("container {}: ", c.name)),
        "{label}={value:?}: {line}"
    );
    let shown = labels::shown(value);
    assert!(
        line.contains(&format!("label {label}={shown}")),
        "{label}={value:?}: {line}"
    );
    assert!(
        line.contains(rule),
        "{label}={value:?}: rule missing: {line}"
    );
    // One readable line: nothing that breaks or disguises a log line, and bounded.
    if let Some(bad) = line
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        panic!("{label}={value:?}: the message holds {bad:?}: {line}");
    }
    assert!(
        line.chars().count() < 1200,
        "{label}: message too long: {line}"
    );
    if value.chars().count() > 80 {
        assert!(shown.ends_with("…\""), "{shown}");
    }
}

#[test]
fn hostile_values_are_rejected_naming_container_label_value_and_rule() {
    let rules = LabelRules::default();
    let mut checked = 0;
    for label in labels_table() {
        for value in hostile_values(&label) {
            let c = with_label("victim", label.base, label.name, &value);
            assert_rejected(&c, label.name, &value, label.rule, &rules);
            checked += 1;
        }
    }
    for (label, value) in overlong_and_out_of_range() {
        let c = with_label("victim", base_for(label), label, &value);
        assert_rejected(&c, label, &value, rule_for(label), &rules);
        checked += 1;
    }
    assert!(checked > 800, "{checked}");
}

/// The good value of every label is accepted, so the rejections above are about the hostile part.
#[test]
fn the_good_values_of_the_table_are_accepted() {
    for label in labels_table() {
        let c = with_label("victim", label.base, label.name, label.good);
        match labels::parse(&c, &LabelRules::default()) {
            Parsed::App { .. } => {}
            other => panic!("{}={} rejected: {other:#?}", label.name, label.good),
        }
    }
}

#[test]
fn raw_directive_labels_are_refused_unless_allowed_and_hostile_ones_always() {
    let off = LabelRules::default();
    let on = LabelRules {
        allow_raw_directives: true,
        ..LabelRules::default()
    };
    let raw_labels = [
        ("auth.server_directive", GATEHOUSE_BASE),
        ("auth.location_directive", GATEHOUSE_BASE),
        ("swag_server_custom_directive", SWAG_BASE),
        ("swag_location_custom_directive", SWAG_BASE),
    ];
    // Surrounding white space is trimmed off, not carried into the conf.
    let c = with_label(
        "victim",
        GATEHOUSE_BASE,
        "auth.server_directive",
        " proxy_buffering off;\r\n",
    );
    let d = plan_all(&[c], &on);
    assert_eq!(d.apps.len(), 1, "{:#?}", d.rejected);
    assert!(d.apps[0]
        .content
        .contains("    proxy_buffering off; # from a label\n"));
    assert_conf_clean(&d.apps[0].file, &d.apps[0].content, Access::Protected);
    for (label, base) in raw_labels {
        // Off: even a harmless directive is refused.
        let c = with_label("victim", base, label, "proxy_buffering off;");
        assert_rejected(
            &c,
            label,
            "proxy_buffering off;",
            "GATEHOUSE_ALLOW_RAW_DIRECTIVES=true",
            &off,
        );
        // On: only one balanced, printable line.
        for value in [
            "",
            " ",
            "proxy_buffering off",
            "proxy_buffering off;\nproxy_pass http://evil;",
            "} server { listen 80; ",
            "} location /zz9 { return 200;",
            "add_header X \"a;",
            "add_header X 'a;",
            "add_header X \"a\"; # zz9 }",
            "if ($x) { return 403;",
            "return 200 \"é\";",
            "return 200 \"\u{202e}\";",
            "return 200 \"\0\";",
            "add_header X \\",
        ] {
            let c = with_label("victim", base, label, value);
            assert_rejected(&c, label, value, "must be one line of printable ASCII", &on);
        }
    }
}

#[test]
fn a_good_container_beside_a_hostile_one_is_still_planned() {
    let rules = LabelRules::default();
    let good = container("good", GATEHOUSE_BASE);
    let mut cases = 0;
    for label in labels_table() {
        for value in hostile_values(&label) {
            let bad = with_label("victim", label.base, label.name, &value);
            let d = plan_all(&[bad, good.clone()], &rules);
            assert_eq!(d.apps.len(), 1, "{}={value:?}: {:#?}", label.name, d.apps);
            assert_eq!(d.apps[0].spec.container, "good");
            assert_eq!(d.apps[0].file, "gatehouse.good.subdomain.conf");
            assert_eq!(d.rejected.len(), 1, "{:#?}", d.rejected);
            let r = &d.rejected[0];
            assert_eq!(r.container, "victim");
            assert!(r.reason.contains(label.name) && r.reason.contains(label.rule));
            for app in &d.apps {
                assert_conf_clean(&app.file, &app.content, app.spec.access);
            }
            cases += 1;
        }
    }
    assert!(cases > 700, "{cases}");
}

/// A small deterministic generator (xorshift), so the sweep is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[char] = &[
    'a', 'z', 'A', 'Z', '0', '9', '-', '.', '_', '~', '/', ':', ',', ';', ' ', '{', '}', '"', '\'',
    '$', '#', '\\', '\n', '\r', '\t', '\0', '*', '(', ')', '|', '^', '%', '=', 'é', '\u{202e}',
    '\u{ff0e}', '@', '!', '?', '&',
];

/// Good values with a few random characters inserted: some stay valid, most do not. Whatever is
/// accepted must render clean; whatever is rejected must be one clear line.
fn swept_containers() -> Vec<(Workload, &'static str, String)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for label in labels_table() {
        for i in 0..150 {
            let mut value: Vec<char> = label.good.chars().collect();
            for _ in 0..rng.below(3) {
                let at = rng.below(value.len() + 1);
                value.insert(at, ALPHABET[rng.below(ALPHABET.len())]);
            }
            let value: String = value.into_iter().collect();
            // Distinct container names give distinct default subdomains and files.
            let name = format!("{}-{i}", label.name.replace(['.', '_'], "-"));
            let c = with_label(&name, label.base, label.name, &value);
            out.push((c, label.name, value));
        }
    }
    out
}

#[test]
fn swept_values_render_clean_or_are_rejected_clearly() {
    let rules = LabelRules::default();
    let (mut accepted, mut rejected) = (0, 0);
    for (c, label, value) in swept_containers() {
        match labels::parse(&c, &rules) {
            Parsed::Rejected(_) => {
                assert_rejected(&c, label, &value, rule_for(label), &rules);
                rejected += 1;
            }
            Parsed::App { .. } => {
                let d = plan_all(std::slice::from_ref(&c), &rules);
                for app in &d.apps {
                    assert_conf_clean(&app.file, &app.content, app.spec.access);
                }
                accepted += 1;
            }
            Parsed::NotPublished => {}
        }
    }
    // The sweep must exercise both sides.
    assert!(
        accepted > 300 && rejected > 800,
        "accepted {accepted}, rejected {rejected}"
    );
}

/// Every conf the sweep produced, loaded together into SWAG's tree: accepted odd values never make
/// nginx fail.
#[test]
fn nginx_swept_accepted_values_pass_nginx_t() {
    let rules = LabelRules::default();
    let containers: Vec<Workload> = swept_containers().into_iter().map(|(c, _, _)| c).collect();
    let d = plan_all(&containers, &rules);
    assert!(d.apps.len() > 300, "{}", d.apps.len());
    // In trees of 100 confs: hundreds of server names in one tree only make nginx warn that its
    // name hash is not optimal, which says nothing about the values.
    for chunk in d.apps.chunks(100) {
        let tree = common::nginx::SwagTree::new();
        for app in chunk {
            tree.add_conf(&app.file, &app.content);
        }
        tree.assert_nginx_t("confs from swept label values");
    }
}

/// nginx's default `server_names_hash_bucket_size` (64, SWAG does not raise it) holds names of 46
/// characters (a wildcard's labels each, a full host whole); a longer one fails `nginx -t` for all
/// of SWAG. The longest names accepted pass; one character more is refused with that reason.
#[test]
fn nginx_longest_server_names_accepted_pass_nginx_t_and_longer_are_refused() {
    let rules = LabelRules::default();
    let a46 = "a".repeat(46);
    let longest = [
        // 190 in all: the conf's file name (and its temp file's) must fit 255 bytes
        ("auth.subdomain", format!("{a46}.{a46}.{a46}.{a46}.ab")),
        ("swag_url", format!("{}.example.com", "h".repeat(34))),
        ("swag_url", format!("{}.*", "w".repeat(46))),
    ];
    let mut containers = Vec::new();
    for (i, (label, value)) in longest.iter().enumerate() {
        let c = with_label(&format!("long-{i}"), base_for(label), label, value);
        assert!(
            matches!(labels::parse(&c, &rules), Parsed::App { .. }),
            "{label}={value}"
        );
        containers.push(c);
    }
    let d = plan_all(&containers, &rules);
    assert_eq!(d.apps.len(), 3, "{:#?}", d.rejected);
    let tree = common::nginx::SwagTree::new();
    for app in &d.apps {
        tree.add_conf(&app.file, &app.content);
    }
    tree.assert_nginx_t("the longest server names the grammar accepts");

    let too_long = [
        (
            "auth.subdomain",
            format!("x.{a46}b"),
            "must have labels of at most 46 characters",
        ),
        (
            "swag_url",
            format!("{a46}b.*"),
            "must have labels of at most 46 characters",
        ),
        (
            "swag_url",
            format!("{}.example.com", "h".repeat(35)),
            "must be at most 46 characters as a full host name",
        ),
    ];
    for (label, value, rule) in too_long {
        let c = with_label("victim", base_for(label), label, &value);
        assert_rejected(&c, label, &value, rule, &rules);
        // And nginx would indeed have refused it: render it as if it had been accepted.
        let tree = common::nginx::SwagTree::new();
        let name = value.strip_suffix(".*").unwrap_or(&value);
        let token = if label == "swag_url" && !value.ends_with(".*") {
            name.to_owned()
        } else {
            format!("{name}.*")
        };
        let conf = d.apps[0]
            .content
            .replace(&d.apps[0].spec.server_names[0].nginx_token(), &token);
        tree.add_conf("probe.subdomain.conf", &conf);
        let r = tree.nginx_t();
        assert!(!r.success, "nginx accepted {token}: {}", r.output);
        assert!(
            r.output.contains("server_names_hash_bucket_size"),
            "{}",
            r.output
        );
    }
}

/// Label keys are hostile input too: an unknown key is named in a warning, escaped like a value,
/// so it can neither forge a log line nor reverse one.
#[test]
fn hostile_unknown_label_keys_are_escaped_in_warnings() {
    let keys = [
        "auth.x\n2026-01-01T00:00:00Z  INFO wrote gatehouse.bank.subdomain.conf",
        "auth.x\r\u{1b}[2K",
        "auth.\u{202e}tcetorp",
        "auth.\u{2066}x\u{2069}",
        "auth.x\u{0}y",
        "auth.x\u{85}y",
    ];
    for key in keys {
        let c = container("app", &[("auth.protect", "true"), (key, "1")]);
        let warnings = match labels::parse(&c, &LabelRules::default()) {
            Parsed::App { warnings, .. } => warnings,
            other => panic!("{key:?}: {other:?}"),
        };
        assert_eq!(warnings.len(), 1, "{key:?}: {warnings:?}");
        let w = &warnings[0];
        assert!(
            w.chars()
                .all(|ch| !ch.is_control() && !('\u{2000}'..='\u{206f}').contains(&ch)),
            "{key:?} printed raw: {w:?}"
        );
        assert!(w.contains(&labels::shown(key)), "{w}");
    }
}

/// One character more than the longest accepted subdomain and the conf's file name (with its
/// temp file's) would not fit 255 bytes: refused at the label, saying the limit and why.
#[test]
fn a_subdomain_too_long_for_its_file_name_is_refused() {
    let a46 = "a".repeat(46);
    let value = format!("{a46}.{a46}.{a46}.{a46}.abc");
    let c = with_label(
        "victim",
        base_for("auth.subdomain"),
        "auth.subdomain",
        &value,
    );
    assert_rejected(
        &c,
        "auth.subdomain",
        &value,
        "must be at most 190 characters in all",
        &LabelRules::default(),
    );
}
