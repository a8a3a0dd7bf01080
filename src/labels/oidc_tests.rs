use std::collections::BTreeMap;

use super::*;
use crate::labels::{self, Parsed};

fn settings() -> AuthentikSettings {
    AuthentikSettings::for_tests()
}

fn read_labels(labels: &[(&str, &str)]) -> Result<Option<OidcWant>, LabelErrors> {
    let c = Workload {
        name: "grafana".into(),
        id: "abc123".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect::<BTreeMap<_, _>>(),
        exposed_tcp_ports: vec![3000],
        ..Workload::default()
    };
    let rules = LabelRules::default();
    let s = settings();
    match labels::parse(&c, &rules) {
        Parsed::App { spec, .. } => {
            let first = spec.server_names.first().unwrap();
            let hosts = spec
                .server_names
                .iter()
                .map(|n| authentik::external_host(n, &s))
                .collect();
            let protected = spec.access == crate::model::spec::Access::Protected;
            read(&c, Some((first, hosts)), protected, &rules, &s)
        }
        _ => read(&c, None, false, &rules, &s),
    }
}

#[test]
fn a_path_is_joined_to_each_host_and_defaults_fill_the_rest() {
    let w = read_labels(&[
        ("auth.expose", "true"),
        ("auth.subdomain", "grafana,metrics"),
        ("auth.oidc", "true"),
        (
            "auth.oidc.redirect",
            "/login/generic_oauth, regex:^https://x\\.lan/.*$",
        ),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(w.slug(), "grafana");
    assert_eq!(w.client_id(), "grafana");
    assert_eq!(w.container_id, "abc123");
    let urls: Vec<_> = w
        .redirects
        .iter()
        .map(|r| (r.regex, r.url.as_str()))
        .collect();
    assert_eq!(
        urls,
        [
            (false, "https://grafana.example.com/login/generic_oauth"),
            (false, "https://metrics.example.com/login/generic_oauth"),
            (true, "^https://x\\.lan/.*$"),
        ]
    );
    assert!(!w.public && !w.restart && w.scopes.is_empty() && w.owner.is_none());
}

#[test]
fn every_label_is_read() {
    let w = read_labels(&[
        ("auth.oidc", "true"),
        ("auth.slug", "graf"),
        (
            "auth.oidc.redirect",
            "https://grafana.lan/cb,http://localhost:3000/cb",
        ),
        ("auth.oidc.client_id", "my-client.1"),
        ("auth.oidc.public", "true"),
        ("auth.oidc.scopes", "offline_access, openid,offline_access"),
        ("auth.oidc.owner", "472:0"),
        ("auth.oidc.restart", "true"),
        ("auth.oidc.email_verified", "true"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(w.slug(), "graf");
    assert_eq!(w.client_id(), "my-client.1");
    assert_eq!(w.scopes, ["offline_access"]);
    assert_eq!(w.owner, Some((472, 0)));
    assert!(w.public && w.restart && w.email_verified);
}

#[test]
fn with_forward_auth_in_front_the_sso_application_has_its_own_slug() {
    let w = read_labels(&[
        ("auth.protect", "true"),
        ("auth.oidc", "true"),
        ("auth.oidc.redirect", "/cb"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(w.slug(), "grafana-oidc");
}

#[test]
fn off_is_nothing() {
    assert_eq!(read_labels(&[("auth.oidc", "false")]).unwrap(), None);
}

#[test]
fn bad_values_are_rejected_naming_container_label_and_rule() {
    let table: &[(&str, &str, &str)] = &[
        (
            "auth.oidc.redirect",
            "http://grafana.example.com/cb",
            "https://",
        ),
        ("auth.oidc.redirect", "/a/../b", "'..'"),
        ("auth.oidc.redirect", "regex:([", "compiles"),
        ("auth.oidc.redirect", "ftp://x/cb", "https://"),
        ("auth.oidc.owner", "1000", "uid:gid"),
        ("auth.oidc.owner", "a:b", "uid:gid"),
        ("auth.oidc.client_id", "a b", "letters"),
        ("auth.oidc.scopes", "Groups", "scope names"),
        ("auth.oidc.public", "maybe", "true or false"),
        (
            "auth.oidc.client_secret",
            "hunter2",
            "never goes into a label",
        ),
        ("auth.slug", "token", "reserved"),
    ];
    for (label, value, rule) in table {
        let mut labels = vec![("auth.expose", "true"), ("auth.oidc", "true")];
        if *label != "auth.oidc.redirect" {
            labels.push(("auth.oidc.redirect", "/cb"));
        }
        labels.push((label, value));
        let e = read_labels(&labels).expect_err(&format!("{label}={value}"));
        let text = e.to_string();
        assert!(text.contains("container grafana"), "{text}");
        assert!(text.contains(label), "{text}");
        assert!(text.contains(rule), "{label}={value}: {text}");
        if *label == "auth.oidc.client_secret" {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
    // a path without a host: not published
    let e = read_labels(&[("auth.oidc", "true"), ("auth.oidc.redirect", "/cb")]).unwrap_err();
    assert!(e.to_string().contains("full https:// URLs"), "{e}");
    // a public client with a secret asked for
    let e = read_labels(&[
        ("auth.oidc", "true"),
        ("auth.oidc.redirect", "https://a.lan/cb"),
        ("auth.oidc.public", "true"),
        ("auth.oidc.client_secret", "x"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("public client has no secret"), "{e}");
    // the redirect is required
    let e = read_labels(&[("auth.oidc", "true")]).unwrap_err();
    assert!(e.to_string().contains("is required"), "{e}");
}
