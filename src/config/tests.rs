use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[test]
fn defaults_when_nothing_is_set() {
    let (s, warnings) = Settings::from_vars(vars(&[])).unwrap();
    assert_eq!(s.swag_config, PathBuf::from("/config"));
    assert_eq!(s.labels.prefix, "auth");
    assert_eq!(s.remove_grace, Duration::from_secs(30));
    assert!(warnings.is_empty());
}

#[test]
fn every_bad_variable_is_reported_at_once() {
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_SWAG_CONFIG", "relative/path"),
        ("GATEHOUSE_LABEL_PREFIX", "Auth;"),
        ("GATEHOUSE_DEBOUNCE_MS", "fast"),
        ("GATEHOUSE_LOG_FORMAT", "xml"),
        ("PUID", "-1"),
    ]))
    .unwrap_err();
    let vars: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
    assert_eq!(
        vars,
        [
            "GATEHOUSE_SWAG_CONFIG",
            "GATEHOUSE_LABEL_PREFIX",
            "GATEHOUSE_DEBOUNCE_MS",
            "GATEHOUSE_LOG_FORMAT",
            "PUID"
        ]
    );
    assert!(err.to_string().contains("must be text or json"));
}

#[test]
fn authentik_is_off_only_without_url_and_token() {
    let (s, _) = Settings::from_vars(vars(&[])).unwrap();
    assert!(s.authentik.is_none());
}

#[test]
fn a_url_without_a_token_or_a_token_without_a_url_is_a_bad_setting() {
    // issue 9 item 5: half-configured provisioning was an INFO line and exit 0
    let err =
        Settings::from_vars(vars(&[("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000")])).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].var, "GATEHOUSE_AUTHENTIK_TOKEN");
    assert!(
        err.to_string().contains(
            "must be set (or GATEHOUSE_AUTHENTIK_TOKEN_FILE) when GATEHOUSE_AUTHENTIK_URL is set"
        ),
        "{err}"
    );
    let err = Settings::from_vars(vars(&[("GATEHOUSE_AUTHENTIK_TOKEN", "s3cr3t")])).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].var, "GATEHOUSE_AUTHENTIK_URL");
    assert!(!err.to_string().contains("s3cr3t"));
    // a token from a file counts as a token
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-file\n").unwrap();
    let file = file.to_str().unwrap();
    let err = Settings::from_vars(vars(&[("GATEHOUSE_AUTHENTIK_TOKEN_FILE", file)])).unwrap_err();
    assert_eq!(err.problems[0].var, "GATEHOUSE_AUTHENTIK_URL", "{err}");
    let (s, _) = Settings::from_vars(authentik_vars_without_token(&[(
        "GATEHOUSE_AUTHENTIK_TOKEN_FILE",
        file,
    )]))
    .unwrap();
    assert_eq!(s.authentik.unwrap().token, "from-file");
}

#[test]
fn the_token_and_its_file_are_not_set_together() {
    let err = Settings::from_vars(authentik_vars(&[(
        "GATEHOUSE_AUTHENTIK_TOKEN_FILE",
        "/nonexistent",
    )]))
    .unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].var, "GATEHOUSE_AUTHENTIK_TOKEN_FILE");
    assert!(err.to_string().contains("must not be set together"));
    let err = Settings::from_vars(authentik_vars_without_token(&[(
        "GATEHOUSE_AUTHENTIK_TOKEN_FILE",
        "/nonexistent/token",
    )]))
    .unwrap_err();
    assert_eq!(err.problems[0].var, "GATEHOUSE_AUTHENTIK_TOKEN_FILE");
    assert!(err.to_string().contains("cannot be read"), "{err}");
}

#[test]
fn the_log_level_takes_level_words_and_real_directives_only() {
    // issue 9 item 3: `verbose` was taken as a target name and silenced everything
    for ok in [
        "info",
        "DEBUG",
        "error",
        "warn",
        "trace",
        "gatehouse=debug,info",
        "gatehouse=trace",
        "warn,gatehouse::reconcile=debug",
    ] {
        let (s, _) = Settings::from_vars(vars(&[("GATEHOUSE_LOG_LEVEL", ok)]))
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert_eq!(s.log_level, ok);
    }
    for bad in [
        "verbose",
        "loud",
        "",
        "gatehouse",
        "gatehouse=loud",
        "info,,",
        "=info",
    ] {
        let err = Settings::from_vars(vars(&[("GATEHOUSE_LOG_LEVEL", bad)])).expect_err(bad);
        assert_eq!(err.problems[0].var, "GATEHOUSE_LOG_LEVEL");
        assert!(
            err.to_string()
                .contains("must be error, warn, info, debug or trace, or tracing filter directives such as gatehouse=debug,info"),
            "{err}"
        );
    }
}

#[test]
fn every_default_obeys_its_own_rule() {
    // The defaults are parsed from the table: one that did not parse would silently be empty.
    let d = Settings::default();
    assert_eq!(d.swag_config, PathBuf::from("/config"));
    assert_eq!(d.labels.prefix, "auth");
    assert_eq!(d.debounce, Duration::from_millis(100));
    assert_eq!(d.debounce_burst, Duration::from_millis(400));
    assert_eq!(d.debounce_max, Duration::from_millis(5000));
    assert_eq!(d.resync, Duration::from_secs(60));
    assert_eq!(d.log_level, "info");
    assert_eq!(d.log_format, LogFormat::Text);
    assert_eq!((d.puid, d.pgid), (1000, 1000));
    assert_eq!(d.swag_container, "swag");
    assert_eq!(d.authentik_container, "authentik-server");
    assert_eq!(d.network_mode, Some(NetworkMode::PerApp));
    assert_eq!(
        d.health_file,
        PathBuf::from(crate::status::health::DEFAULT_PATH)
    );
    for var in VARS {
        let Some(default) = var.default else { continue };
        let env = vars(&[(var.name, default)]);
        let (s, _) = Settings::from_vars(env).unwrap_or_else(|e| panic!("{}: {e}", var.name));
        assert_eq!(format!("{s:?}"), format!("{d:?}"), "{}", var.name);
    }
}

#[test]
fn known_vars_hold_the_table_and_the_file_variants() {
    assert!(KNOWN_VARS.contains(&"GATEHOUSE_AUTHENTIK_TOKEN_FILE"));
    assert!(KNOWN_VARS.contains(&"GATEHOUSE_INSTANCE"));
    assert_eq!(KNOWN_VARS.len(), VARS.len() + 1);
}

#[test]
fn a_deprecated_alias_still_works_with_a_warning() {
    let var = Var {
        deprecated_alias: Some("OLD_NAME"),
        ..vars::RESYNC_SECS
    };
    let env: std::collections::BTreeMap<String, String> =
        vars(&[("OLD_NAME", "7")]).into_iter().collect();
    let mut r = vars::Reader::new(&env);
    assert_eq!(r.get(&var, checks::number_in(1, 10)), Some(7));
    assert_eq!(
        r.warnings,
        ["OLD_NAME is deprecated: it still works, but rename it to GATEHOUSE_RESYNC_SECS"]
    );
    let env: std::collections::BTreeMap<String, String> =
        vars(&[("OLD_NAME", "700")]).into_iter().collect();
    let mut r = vars::Reader::new(&env);
    assert_eq!(
        r.get(&var, checks::number_in(1, 100)),
        Some(60),
        "the default"
    );
    assert_eq!(r.problems[0].var, "OLD_NAME");
}

#[test]
fn authentik_settings_with_defaults_and_a_hidden_token() {
    let (s, _) = Settings::from_vars(vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000/api/v3/"),
        ("GATEHOUSE_AUTHENTIK_TOKEN", "s3cr3t-token"),
        ("GATEHOUSE_DOMAIN", "example.com"),
    ]))
    .unwrap();
    let a = s.authentik.expect("on");
    assert_eq!(a.url, "http://ak:9000");
    assert_eq!(a.external_scheme, "https");
    assert_eq!(a.authorization_flow, DEFAULT_AUTHORIZATION_FLOW);
    assert_eq!(a.invalidation_flow, DEFAULT_INVALIDATION_FLOW);
    assert_eq!(a.outpost, None);
    assert!(!format!("{a:?}").contains("s3cr3t"));
}

#[test]
fn authentik_problems_are_reported_together_without_the_token() {
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "ak:9000"),
        ("GATEHOUSE_AUTHENTIK_TOKEN", "bad token\nX-Injected: 1"),
        ("GATEHOUSE_EXTERNAL_SCHEME", "ftp"),
        ("GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW", "a b"),
    ]))
    .unwrap_err();
    let names: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
    assert_eq!(
        names,
        [
            "GATEHOUSE_AUTHENTIK_URL",
            "GATEHOUSE_AUTHENTIK_TOKEN",
            "GATEHOUSE_EXTERNAL_SCHEME",
            "GATEHOUSE_AUTHENTIK_AUTHORIZATION_FLOW"
        ]
    );
    assert!(!err.to_string().contains("Injected"));
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000"),
        ("GATEHOUSE_AUTHENTIK_TOKEN", "t"),
    ]))
    .unwrap_err();
    assert_eq!(err.problems[0].var, "GATEHOUSE_DOMAIN");
}

fn authentik_vars_without_token(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000"),
        ("GATEHOUSE_DOMAIN", "example.com"),
    ]);
    v.extend(vars(extra));
    v
}

fn authentik_vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "http://ak:9000"),
        ("GATEHOUSE_AUTHENTIK_TOKEN", "t"),
        ("GATEHOUSE_DOMAIN", "example.com"),
    ]);
    v.extend(vars(extra));
    v
}

#[test]
fn the_instance_is_unnamed_unless_set() {
    let (s, warnings) = Settings::from_vars(authentik_vars(&[])).unwrap();
    let a = s.authentik.unwrap();
    assert!(a.instance.is_unnamed());
    assert_eq!(a.instance.publisher(), "gatehouse");
    let (s, warnings2) =
        Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", "host-2")])).unwrap();
    assert_eq!(s.authentik.unwrap().instance.name(), Some("host-2"));
    // a known variable: no typo warning
    assert!(warnings.is_empty() && warnings2.is_empty(), "{warnings2:?}");
}

#[test]
fn the_instance_name_has_a_strict_grammar() {
    for ok in ["a", "edge", "nas-01", "x9", &"a".repeat(32)] {
        let (s, _) = Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", ok)]))
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert_eq!(s.authentik.unwrap().instance.name(), Some(ok));
    }
    for bad in [
        "",
        "Edge",
        "1st",
        "-a",
        "a_b",
        "a.b",
        "a:b",
        "a/b",
        "a b",
        "dé",
        &"a".repeat(33),
    ] {
        let err =
            Settings::from_vars(authentik_vars(&[("GATEHOUSE_INSTANCE", bad)])).expect_err(bad);
        assert_eq!(err.problems.len(), 1, "{bad:?}: {err}");
        assert_eq!(err.problems[0].var, "GATEHOUSE_INSTANCE");
        assert!(err.to_string().contains("starting with a letter"), "{err}");
    }
}

#[test]
fn a_bad_instance_is_reported_with_the_other_bad_variables() {
    // checked even with provisioning off, and reported with everything else
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_DEBOUNCE_MS", "fast"),
        ("GATEHOUSE_INSTANCE", "Host_1"),
        ("GATEHOUSE_LOG_FORMAT", "xml"),
    ]))
    .unwrap_err();
    let names: Vec<&str> = err.problems.iter().map(|p| p.var.as_str()).collect();
    assert_eq!(
        names,
        [
            "GATEHOUSE_DEBOUNCE_MS",
            "GATEHOUSE_LOG_FORMAT",
            "GATEHOUSE_INSTANCE"
        ]
    );
}

#[test]
fn network_settings() {
    let (s, _) = Settings::from_vars(vars(&[])).unwrap();
    assert_eq!(s.swag_container, "swag");
    assert_eq!(s.authentik_container, "authentik-server");
    assert_eq!(s.network_mode, Some(NetworkMode::PerApp));
    let (s, _) = Settings::from_vars(vars(&[
        ("GATEHOUSE_NETWORK_MODE", "shared"),
        ("GATEHOUSE_SHARED_NETWORK", "proxy"),
        ("GATEHOUSE_SWAG_CONTAINER", "my-swag"),
    ]))
    .unwrap();
    assert_eq!(s.network_mode, Some(NetworkMode::Shared("proxy".into())));
    assert_eq!(s.swag_container, "my-swag");
    let (s, _) = Settings::from_vars(vars(&[("GATEHOUSE_NETWORK_MODE", "off")])).unwrap();
    assert_eq!(s.network_mode, None);
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_NETWORK_MODE", "bridge"),
        ("GATEHOUSE_SHARED_NETWORK", "a b"),
        ("GATEHOUSE_SWAG_CONTAINER", "swag;rm"),
    ]))
    .unwrap_err();
    assert_eq!(err.problems.len(), 3);
}

#[test]
fn unknown_gatehouse_variables_are_warned_about() {
    let (_, warnings) = Settings::from_vars(vars(&[("GATEHOUSE_LABLE_PREFIX", "x")])).unwrap();
    assert_eq!(
        warnings,
        ["unknown variable GATEHOUSE_LABLE_PREFIX is ignored"]
    );
}

#[test]
fn a_refused_url_is_echoed_without_its_credentials() {
    let err = Settings::from_vars(vars(&[
        ("GATEHOUSE_AUTHENTIK_URL", "http://admin:hunter2@ak:9000"),
        ("GATEHOUSE_AUTHENTIK_TOKEN", "tok"),
        ("GATEHOUSE_DOMAIN", "example.com"),
    ]))
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("GATEHOUSE_AUTHENTIK_URL"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("admin"),
        "{text}"
    );
    assert!(text.contains("http://[redacted]@ak:9000"), "{text}");
}

#[test]
fn swarm_setting() {
    use super::SwarmSetting;
    let (s, _) = Settings::from_vars(vars(&[])).unwrap();
    assert_eq!(s.swarm, SwarmSetting::Auto);
    for (raw, want) in [
        ("on", SwarmSetting::On),
        ("off", SwarmSetting::Off),
        ("auto", SwarmSetting::Auto),
    ] {
        let (s, _) = Settings::from_vars(vars(&[("GATEHOUSE_SWARM", raw)])).unwrap();
        assert_eq!(s.swarm, want);
    }
    let err = Settings::from_vars(vars(&[("GATEHOUSE_SWARM", "yes")])).unwrap_err();
    assert!(err.to_string().contains("must be auto, on or off"), "{err}");
}
