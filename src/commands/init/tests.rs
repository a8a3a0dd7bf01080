use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;

/// A deterministic byte source for the pure tests.
fn counter() -> impl FnMut(&mut [u8]) {
    let mut n: u8 = 0;
    move |buf: &mut [u8]| {
        for b in buf {
            *b = n;
            n = n.wrapping_add(37);
        }
    }
}

fn answers() -> Answers {
    Answers {
        domain: Some("example.com".into()),
        email: Some("me@example.com".into()),
        tz: Some("Europe/Berlin".into()),
    }
}

#[test]
fn secrets_are_alphanumeric_of_the_asked_length_and_skip_biased_bytes() {
    let mut fill = counter();
    let s = secret(100, &mut fill);
    assert_eq!(s.len(), 100);
    assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
    // Only bytes >= 248 -> nothing usable until other bytes come.
    let mut calls = 0;
    let mut fill = |buf: &mut [u8]| {
        calls += 1;
        buf.fill(if calls < 3 { 250 } else { 0 });
    };
    assert_eq!(secret(4, &mut fill), "AAAA");
}

#[test]
fn validators_reject_what_does_not_belong_in_env() {
    assert_eq!(valid_domain("Example.COM.").unwrap(), "example.com");
    for bad in [
        "https://example.com",
        "example",
        "ex ample.com",
        "-a.com",
        "a.com/x",
        "a.com;rm",
    ] {
        assert!(valid_domain(bad).is_err(), "{bad}");
    }
    assert!(valid_email("me+swag@example.com").is_ok());
    for bad in ["me", "me@host", "me@ex ample.com", "a@b@c.d", "$x@y.z"] {
        assert!(valid_email(bad).is_err(), "{bad}");
    }
    assert!(valid_tz("America/Argentina/Buenos_Aires").is_ok());
    assert!(valid_tz("Etc/GMT+2").is_ok());
    for bad in ["", "/etc/passwd", "Europe/../x", "Europe/Berlin\nX=1"] {
        assert!(valid_tz(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_fresh_file_gets_every_key_and_gatehouse_shares_the_bootstrap_token() {
    let mut fill = counter();
    let entries = desired(
        &answers(),
        &HostFacts::default(),
        &BTreeMap::new(),
        &mut fill,
    );
    let plan = merge("", &entries, &answers());
    let v = parse_env(&plan.text);
    for key in [
        "DOMAIN",
        "EMAIL",
        "TZ",
        "PUID",
        "PGID",
        "DOCKER_GID",
        "AUTHENTIK_TAG",
        "PG_PASS",
        "AUTHENTIK_SECRET_KEY",
        "AUTHENTIK_BOOTSTRAP_PASSWORD",
        "AUTHENTIK_BOOTSTRAP_TOKEN",
        "GATEHOUSE_AUTHENTIK_TOKEN",
    ] {
        assert!(v.get(key).is_some_and(|x| !x.is_empty()), "{key} missing");
    }
    assert_eq!(v["DOMAIN"], "example.com");
    assert_eq!(v["TZ"], "Europe/Berlin");
    assert_eq!(
        v["AUTHENTIK_BOOTSTRAP_TOKEN"],
        v["GATEHOUSE_AUTHENTIK_TOKEN"]
    );
    assert_ne!(v["PG_PASS"], v["AUTHENTIK_SECRET_KEY"]);
    assert!(v["AUTHENTIK_SECRET_KEY"].len() >= 50);
    assert!(plan.text.starts_with("# The gatehouse stack's settings"));
}

#[test]
fn existing_values_are_never_changed_and_the_rest_of_the_file_stays() {
    let existing = "# my notes\nDOMAIN=mine.org\nPG_PASS='keep-me'\nAUTHENTIK_BOOTSTRAP_TOKEN=tok123\nEMAIL=\nOTHER=x\n";
    let mut fill = counter();
    let a = answers();
    let entries = desired(&a, &HostFacts::default(), &parse_env(existing), &mut fill);
    let plan = merge(existing, &entries, &a);
    assert!(plan.text.starts_with("# my notes\nDOMAIN=mine.org\nPG_PASS='keep-me'\nAUTHENTIK_BOOTSTRAP_TOKEN=tok123\nEMAIL=me@example.com\nOTHER=x\n"), "{}", plan.text);
    let v = parse_env(&plan.text);
    assert_eq!(v["PG_PASS"], "keep-me");
    assert_eq!(v["GATEHOUSE_AUTHENTIK_TOKEN"], "tok123");
    assert!(plan.kept.contains(&"DOMAIN") && plan.kept.contains(&"PG_PASS"));
    assert_eq!(plan.ignored, vec![("DOMAIN", "example.com".to_owned())]);
    assert!(plan.added.iter().any(|e| e.key == "EMAIL"));
}

#[test]
fn a_complete_file_is_left_byte_for_byte() {
    let mut fill = counter();
    let a = answers();
    let first = merge(
        "",
        &desired(&a, &HostFacts::default(), &BTreeMap::new(), &mut fill),
        &a,
    );
    let v = parse_env(&first.text);
    let second = merge(
        &first.text,
        &desired(&Answers::default(), &HostFacts::default(), &v, &mut fill),
        &Answers::default(),
    );
    assert!(!second.changed());
    assert_eq!(second.text, first.text);
}

#[test]
fn the_summary_names_secrets_but_never_shows_them() {
    let mut fill = counter();
    let a = answers();
    let plan = merge(
        "",
        &desired(&a, &HostFacts::default(), &BTreeMap::new(), &mut fill),
        &a,
    );
    let v = parse_env(&plan.text);
    let s = summary(&plan, Path::new("/stack/.env"), &v);
    assert!(s.contains("AUTHENTIK_SECRET_KEY (generated secret, 60 characters)"));
    assert!(s.contains("DOMAIN=example.com"));
    assert!(s.contains("gatehouse admin create") && s.contains("--deactivate-akadmin"));
    assert_eq!(v.get("GATEHOUSE_MFA").map(String::as_str), Some("totp"));
    assert!(s.contains("https://auth.example.com/"));
    for key in [
        "PG_PASS",
        "AUTHENTIK_SECRET_KEY",
        "AUTHENTIK_BOOTSTRAP_PASSWORD",
        "AUTHENTIK_BOOTSTRAP_TOKEN",
    ] {
        assert!(!s.contains(&v[key]), "{key} leaked into the summary");
    }
}

#[test]
fn running_init_twice_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    let opts = Options {
        env_file: env.clone(),
        answers: answers(),
        interactive: false,
        docker_socket: PathBuf::from("/nonexistent.sock"),
    };
    let out1 = run(&opts).unwrap();
    assert!(out1.contains("wrote"));
    let first = fs::read_to_string(&env).unwrap();
    let mode = fs::metadata(&env).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = Options {
        answers: Answers {
            domain: Some("other.net".into()),
            ..Answers::default()
        },
        ..opts.clone()
    };
    let out2 = run(&again).unwrap();
    assert_eq!(fs::read_to_string(&env).unwrap(), first);
    assert!(out2.contains("nothing written"), "{out2}");
    assert!(out2.contains("\"other.net\" was not applied"), "{out2}");
    // Real randomness: two fresh files never share a secret.
    let env2 = dir.path().join("second.env");
    run(&Options {
        env_file: env2.clone(),
        ..opts
    })
    .unwrap();
    let (a, b) = (
        parse_env(&first),
        parse_env(&fs::read_to_string(env2).unwrap()),
    );
    assert_ne!(a["AUTHENTIK_SECRET_KEY"], b["AUTHENTIK_SECRET_KEY"]);
    assert_ne!(a["PG_PASS"], b["PG_PASS"]);
}

#[test]
fn without_a_domain_and_no_terminal_init_says_which_flag_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(&Options {
        env_file: dir.path().join(".env"),
        answers: Answers::default(),
        interactive: false,
        docker_socket: PathBuf::from("/nonexistent.sock"),
    })
    .unwrap_err();
    assert!(err.to_string().contains("--domain"));
    assert!(!dir.path().join(".env").exists());
}

#[test]
fn init_warns_when_no_compose_file_is_next_to_the_env_and_says_where_one_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        env_file: dir.path().join(".env"),
        answers: answers(),
        interactive: false,
        docker_socket: PathBuf::from("/nonexistent.sock"),
    };
    let out = run(&opts).unwrap();
    let where_ = fs::canonicalize(dir.path()).unwrap();
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("warning: no compose file next to "),
        "{out}"
    );
    assert!(
        first.contains(&format!(
            "expected compose.example.yml (or compose.yml, compose.yaml, docker-compose.yml, docker-compose.yaml) in {}",
            where_.display()
        )),
        "{first}"
    );
    // The file is still written: the warning is a hint, not a refusal.
    assert!(out.contains("wrote "), "{out}");
    for name in COMPOSE_FILES {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(name), "services: {}\n").unwrap();
        let out = run(&Options {
            env_file: d.path().join(".env"),
            ..opts.clone()
        })
        .unwrap();
        assert!(!out.contains("warning"), "{name}: {out}");
    }
}

#[test]
fn an_env_with_an_authentik_already_gets_mfa_off() {
    let mut fill = |b: &mut [u8]| b.fill(7);
    let a = Answers::default();
    let existing = "AUTHENTIK_BOOTSTRAP_TOKEN=abc\n";
    let plan = merge(
        existing,
        &desired(&a, &HostFacts::default(), &parse_env(existing), &mut fill),
        &a,
    );
    assert_eq!(
        parse_env(&plan.text)
            .get("GATEHOUSE_MFA")
            .map(String::as_str),
        Some("off")
    );
}
