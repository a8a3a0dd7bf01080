use super::*;

fn c(name: &str, image: &str, project: Option<&str>) -> Seen {
    let mut labels = BTreeMap::new();
    if let Some(p) = project {
        labels.insert(PROJECT.to_owned(), p.to_owned());
    }
    Seen {
        id: format!("{name}-0123456789abcdef"),
        name: name.to_owned(),
        image: image.to_owned(),
        command: String::new(),
        labels,
        running: true,
    }
}

const AK: &str = "ghcr.io/goauthentik/server:2026.8.3";

#[test]
fn the_database_is_the_postgres_container_of_authentiks_project() {
    let all = vec![
        c("authentik-worker", AK, Some("auth")),
        c("authentik-server", AK, Some("auth")),
        c(
            "auth-postgresql-1",
            "docker.io/library/postgres:16-alpine",
            Some("auth"),
        ),
        c("nextcloud-db", "postgres:16", Some("nextcloud")),
    ];
    let stack = find(&all, None, None, "authentik-server").expect("found");
    assert_eq!(stack.db.name, "auth-postgresql-1");
    let names: Vec<&str> = stack.authentik.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["authentik-server", "authentik-worker"],
        "servers first"
    );
}

#[test]
fn several_stacks_or_databases_ask_for_the_variable() {
    let two_stacks = vec![
        c("a-server", AK, Some("a")),
        c("b-server", "goauthentik/server:2025.10", Some("b")),
    ];
    let e = find(&two_stacks, None, None, "authentik-server").expect_err("ambiguous");
    assert!(matches!(e, FindError::SeveralStacks(_)), "{e}");
    assert!(e.to_string().contains("GATEHOUSE_DB_CONTAINER"));
    // The one named by GATEHOUSE_AUTHENTIK_CONTAINER decides.
    let mut named = two_stacks.clone();
    named.push(c("b-db", "postgres:16", Some("b")));
    assert_eq!(
        find(&named, None, None, "b-server").expect("b").db.name,
        "b-db"
    );

    let two_dbs = vec![
        c("s", AK, Some("a")),
        c("db1", "postgres:16", Some("a")),
        c("db2", "bitnami/postgresql:16", Some("a")),
    ];
    let e = find(&two_dbs, None, None, "authentik-server").expect_err("two");
    assert!(e.to_string().contains("db1, db2"), "{e}");
    let stack = find(&two_dbs, None, Some("db2"), "x").expect("named");
    assert_eq!(stack.db.name, "db2");
    let e = find(&two_dbs, None, Some("db3"), "x").expect_err("missing");
    assert_eq!(e, FindError::NoSuchDb("db3".into()));
}

#[test]
fn a_named_database_brings_only_the_authentik_of_its_own_project() {
    let all = vec![
        c("prod-server", AK, Some("prod")),
        c("prod-db", "postgres:16", Some("prod")),
        c("drill-server", AK, Some("drill")),
        c("drill-db", "postgres:16", Some("drill")),
        c("loose-db", "postgres:16", None),
    ];
    let stack = find(&all, None, Some("drill-db"), "prod-server").expect("drill");
    let names: Vec<&str> = stack.authentik.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["drill-server"], "never the production stack's");
    let e = find(&all, None, Some("loose-db"), "prod-server").expect_err("no authentik of its own");
    assert!(matches!(e, FindError::NoAuthentik(_)), "{e}");
}

#[test]
fn the_scope_label_hides_other_stacks() {
    let mut mine = c("mine-server", AK, Some("p1"));
    mine.labels.insert("scope".into(), "me".into());
    let mut db = c("mine-db", "postgres:16", Some("p1"));
    db.labels.insert("scope".into(), "me".into());
    let all = vec![mine, db, c("other-server", AK, Some("p2"))];
    let scope = ("scope".to_owned(), "me".to_owned());
    let stack = find(&all, Some(&scope), None, "authentik-server").expect("found");
    assert_eq!(stack.db.name, "mine-db");
    assert_eq!(stack.authentik.len(), 1);
}

#[test]
fn no_authentik_is_said_plainly() {
    let all = vec![c("db", "postgres:16", Some("a"))];
    let e = find(&all, None, None, "authentik-server").expect_err("none");
    assert!(e.to_string().contains("ghcr.io/goauthentik/server"), "{e}");
}

#[test]
fn images_are_matched_without_registry_and_tag() {
    assert_eq!(
        repository("ghcr.io/goauthentik/server:2026.8.3"),
        "goauthentik/server"
    );
    assert_eq!(repository("goauthentik/server"), "goauthentik/server");
    assert_eq!(
        repository("localhost:5000/goauthentik/server:1@sha256:ab"),
        "goauthentik/server"
    );
    assert_eq!(repository("postgres:16-alpine"), "postgres");
    assert_eq!(tag("ghcr.io/goauthentik/server:2026.8.3"), Some("2026.8.3"));
    assert_eq!(tag("localhost:5000/x"), None);
}
