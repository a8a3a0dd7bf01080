use super::*;
use crate::model::spec::{LabelSet, PresetName, Proto, Template};

fn c(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ..Workload::default()
    }
}

fn app(p: Parsed) -> (AppSpec, Vec<String>) {
    match p {
        Parsed::App { spec, warnings } => (*spec, warnings),
        other => panic!("expected an app, got {other:?}"),
    }
}

#[test]
fn compose_generated_names_default_to_the_service() {
    let labels = [
        ("auth.protect", "true"),
        ("com.docker.compose.project", "media"),
        ("com.docker.compose.service", "jellyfin"),
        ("com.docker.compose.container-number", "1"),
    ];
    let (spec, _) = app(parse(
        &c("media-jellyfin-1", &labels),
        &LabelRules::default(),
    ));
    assert_eq!(spec.server_names[0].nginx_token(), "jellyfin.*");
    assert_eq!(spec.address.as_str(), "media-jellyfin-1");
    // A name the user chose stays the subdomain.
    let (spec, _) = app(parse(&c("films", &labels), &LabelRules::default()));
    assert_eq!(spec.server_names[0].nginx_token(), "films.*");
}

#[test]
fn a_bad_default_subdomain_is_called_the_compose_services_name_when_it_is_one() {
    let labels = [
        ("auth.protect", "true"),
        ("com.docker.compose.project", "media"),
        ("com.docker.compose.service", "my_films"),
        ("com.docker.compose.container-number", "1"),
    ];
    let rejected = |name: &str| match parse(&c(name, &labels), &LabelRules::default()) {
        Parsed::Rejected(e) => e.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    };
    let why = rejected("media-my_films-1");
    assert!(
        why.contains("is not set, and the default, the compose service's name \"my_films\","),
        "{why}"
    );
    assert!(!why.contains("container's name"), "{why}");
    let why = rejected("my_films");
    assert!(
        why.contains("is not set, and the default, the container's name \"my_films\","),
        "{why}"
    );
}

#[test]
fn swag_auto_proxy_labels_map_onto_the_same_spec() {
    let labels = [
        ("swag", "enable"),
        ("swag_url", "media.example.com"),
        ("swag_port", "8096"),
        ("swag_proto", "https"),
        ("swag_address", "jf"),
        ("swag_auth", "authentik"),
        ("swag_auth_bypass", "/api,/socket"),
    ];
    let (spec, _) = app(parse(&c("jellyfin", &labels), &LabelRules::default()));
    assert_eq!(spec.access, Access::Protected);
    assert_eq!(spec.server_names[0].nginx_token(), "media.example.com");
    assert_eq!(spec.port.map(|p| p.get()), Some(8096));
    assert_eq!(spec.proto, Some(Proto::Https));
    assert_eq!(spec.address.as_str(), "jf");
    assert_eq!(spec.bypass.len(), 2);
    assert_eq!(
        spec.template,
        Template::PresetByName(PresetName::parse("jellyfin").unwrap())
    );
    assert_eq!(spec.label_set, LabelSet::SwagAutoProxy);
}

#[test]
fn other_swag_auth_methods_are_refused_fail_closed() {
    match parse(
        &c("app", &[("swag", "enable"), ("swag_auth", "authelia")]),
        &LabelRules::default(),
    ) {
        Parsed::Rejected(e) => {
            assert!(e.wants_protection);
            assert!(e.to_string().contains(
                "label swag_auth=\"authelia\" names an auth method gatehouse does not provide"
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn raw_directives_are_refused_unless_allowed() {
    let labels = [
        ("auth.expose", "true"),
        ("auth.server_directive", "client_max_body_size 1m;"),
    ];
    match parse(&c("app", &labels), &LabelRules::default()) {
        Parsed::Rejected(e) => assert!(e
            .to_string()
            .contains("GATEHOUSE_ALLOW_RAW_DIRECTIVES=true")),
        other => panic!("{other:?}"),
    }
    let rules = LabelRules {
        allow_raw_directives: true,
        ..LabelRules::default()
    };
    let (spec, _) = app(parse(&c("app", &labels), &rules));
    assert_eq!(
        spec.server_directives[0].as_str(),
        "client_max_body_size 1m;"
    );
}

#[test]
fn exposing_with_auth_labels_while_swag_labels_ask_for_authentik_is_refused() {
    let labels = [
        ("auth.expose", "true"),
        ("swag", "enable"),
        ("swag_auth", "authentik"),
    ];
    match parse(&c("app", &labels), &LabelRules::default()) {
        Parsed::Rejected(e) => {
            assert!(e.wants_protection);
            assert!(
                e.to_string().contains("contradicts swag_auth=authentik"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn protect_and_expose_together_is_an_error_that_wants_protection() {
    match parse(
        &c("app", &[("auth.protect", "true"), ("auth.expose", "true")]),
        &LabelRules::default(),
    ) {
        Parsed::Rejected(e) => {
            assert!(e.wants_protection);
            assert_eq!(e.problems[0].label, "auth.expose");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let labels = [
        ("auth.protect", "true"),
        ("auth.port", "0"),
        ("auth.proto", "ftp"),
        ("auth.bypass", "/ok,no-slash"),
    ];
    match parse(&c("app", &labels), &LabelRules::default()) {
        Parsed::Rejected(e) => {
            let names: Vec<&str> = e.problems.iter().map(|p| p.label.as_str()).collect();
            assert_eq!(names, ["auth.port", "auth.proto", "auth.bypass"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn typos_in_label_names_are_pointed_out() {
    let (_, warnings) = app(parse(
        &c("app", &[("auth.protect", "true"), ("auth.subdomian", "x")]),
        &LabelRules::default(),
    ));
    assert_eq!(
        warnings,
        ["ignores unknown label auth.subdomian (did you mean auth.subdomain?)"]
    );
}

#[test]
fn a_custom_prefix_is_honoured_and_false_means_not_published() {
    let rules = LabelRules {
        prefix: "sso".into(),
        ..LabelRules::default()
    };
    assert_eq!(
        parse(&c("app", &[("auth.protect", "true")]), &rules),
        Parsed::NotPublished
    );
    assert!(matches!(
        parse(&c("app", &[("sso.protect", "true")]), &rules),
        Parsed::App { .. }
    ));
    assert_eq!(
        parse(&c("app", &[("sso.protect", "false")]), &rules),
        Parsed::NotPublished
    );
}

#[test]
fn unknown_label_keys_are_escaped_like_values() {
    // issue 8 item 7: a key holding a newline forged a log line; U+202E turned it around
    let forged = "auth.x\n2026-01-01T00:00:00Z  INFO wrote gatehouse.bank.subdomain.conf";
    let rlo = "auth.\u{202e}tcetorp";
    let (_, warnings) = app(parse(
        &c(
            "app",
            &[("auth.protect", "true"), (forged, "1"), (rlo, "1")],
        ),
        &LabelRules::default(),
    ));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for w in &warnings {
        assert!(
            !w.contains('\n') && !w.contains('\u{202e}'),
            "raw control character in {w:?}"
        );
    }
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(r#""auth.x\n2026-01-01"#)),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains(r"\u{202e}")),
        "{warnings:?}"
    );
}

#[test]
fn plain_keys_are_shown_as_they_are() {
    assert_eq!(shown_key("auth.subdomian"), "auth.subdomian");
    assert_eq!(shown_key("com.example/x:y_z-1"), "com.example/x:y_z-1");
    assert_eq!(shown_key("auth.a b"), r#""auth.a b""#);
    assert_eq!(shown_key("auth.\u{1b}[31m"), r#""auth.\u{1b}[31m""#);
    assert_eq!(shown_key(""), r#""""#);
    assert!(shown_key(&"k".repeat(200)).ends_with("…\""));
}
