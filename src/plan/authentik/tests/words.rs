//! Each request in words, planned and done.

use serde_json::{json, Map};

use super::*;

/// A request body of the op's type, from its fields.
fn b<B: serde::de::DeserializeOwned>(pairs: &[(&str, Value)]) -> B {
    let m: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(m)).unwrap()
}

/// Each request reads as given, planned and done, for container jellyfin wanting jelly.
fn reads(cases: &[(Op, &str, &str)]) {
    use crate::render::wording::{Describe, Tense};
    let containers = BTreeMap::from([("jelly".to_owned(), "jellyfin".to_owned())]);
    let said = |op: &Op, tense| {
        OpFor {
            op,
            instance: &Instance::unnamed(),
            containers: &containers,
        }
        .said(tense)
        .to_string()
    };
    for (op, planned, done) in cases {
        assert_eq!(&said(op, Tense::Planned), planned);
        assert_eq!(&said(op, Tense::Done), done);
    }
}

#[test]
fn every_provider_and_application_request_reads_the_same_planned_and_done_naming_its_container() {
    reads(&[
        (
            Op::CreateProvider {
                slug: "jelly".into(),
                body: b(&[
                    ("external_host", json!("https://jelly.example.com")),
                    ("skip_path_regex", json!("^/api(/|$)\n^/hooks(/|$)")),
                ]),
            },
            "would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$) ^/hooks(/|$)) for container jellyfin",
            "created authentik provider gatehouse:jelly (forward auth for https://jelly.example.com, no sign-in for paths matching ^/api(/|$) ^/hooks(/|$)) for container jellyfin",
        ),
        (
            Op::PatchProvider {
                slug: "jelly".into(),
                pk: 4,
                body: b(&[("skip_path_regex", json!("^/hooks(/|$)"))]),
            },
            "would update authentik provider gatehouse:jelly for container jellyfin (skip_path_regex: \"^/hooks(/|$)\")",
            "updated authentik provider gatehouse:jelly for container jellyfin (skip_path_regex: \"^/hooks(/|$)\")",
        ),
        (
            Op::CreateApplication {
                slug: "jelly".into(),
                body: b(&[
                    ("name", json!("Jelly \"Fin\"")),
                    ("slug", json!("jelly")),
                    ("meta_publisher", json!("gatehouse")),
                    ("group", json!("Media")),
                ]),
                provider: ProviderRef::New("jelly".into()),
            },
            "would create authentik application jelly with provider gatehouse:jelly for container jellyfin (group: \"Media\", name: \"Jelly \\\"Fin\\\"\")",
            "created authentik application jelly with provider gatehouse:jelly for container jellyfin (group: \"Media\", name: \"Jelly \\\"Fin\\\"\")",
        ),
        (
            Op::PatchApplication {
                slug: "jelly".into(),
                body: b(&[("name", json!("Jelly"))]),
                provider: None,
                adopt: false,
            },
            "would update authentik application jelly for container jellyfin (name: \"Jelly\")",
            "updated authentik application jelly for container jellyfin (name: \"Jelly\")",
        ),
        (
            Op::PatchApplication {
                slug: "jelly".into(),
                body: b(&[("meta_publisher", json!("gatehouse"))]),
                provider: Some(ProviderRef::Existing(4)),
                adopt: true,
            },
            "would adopt authentik application jelly for container jellyfin (auth.adopt=true; meta_publisher: \"gatehouse\", provider: gatehouse:jelly)",
            "adopted authentik application jelly for container jellyfin (auth.adopt=true; meta_publisher: \"gatehouse\", provider: gatehouse:jelly)",
        ),
    ]);
}

#[test]
fn every_outpost_binding_and_removal_request_reads_the_same_planned_and_done() {
    reads(&[
        (
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "authentik Embedded Outpost".into(),
                added: vec![("jelly".into(), ProviderRef::New("jelly".into()))],
                removed: Vec::new(),
            },
            "would add provider gatehouse:jelly (container jellyfin) to authentik outpost \"authentik Embedded Outpost\"",
            "added provider gatehouse:jelly (container jellyfin) to authentik outpost \"authentik Embedded Outpost\"",
        ),
        (
            Op::SetOutpostProviders {
                pk: EMBEDDED.into(),
                name: "o".into(),
                added: Vec::new(),
                removed: vec![("jelly".into(), 4), ("old".into(), 5)],
            },
            "would take provider gatehouse:jelly (it moves to another outpost) and gatehouse:old (no container publishes it any more) out of authentik outpost \"o\"",
            "took provider gatehouse:jelly (it moves to another outpost) and gatehouse:old (no container publishes it any more) out of authentik outpost \"o\"",
        ),
        (
            Op::CreateBinding {
                slug: "jelly".into(),
                app: AppRef::New("jelly".into()),
                group_pk: "g".into(),
                group_name: "family".into(),
            },
            "would allow group family on authentik application jelly for container jellyfin (auth.allow_groups)",
            "allowed group family on authentik application jelly for container jellyfin (auth.allow_groups)",
        ),
        (
            Op::DeleteBinding {
                slug: "jelly".into(),
                pk: "b".into(),
            },
            "would remove a group binding gatehouse made from authentik application jelly for container jellyfin: its group is no longer in auth.allow_groups",
            "removed a group binding gatehouse made from authentik application jelly for container jellyfin: its group is no longer in auth.allow_groups",
        ),
        (
            Op::DeleteApplication { slug: "old".into() },
            "would delete authentik application old: no container publishes it any more",
            "deleted authentik application old: no container publishes it any more",
        ),
        (
            Op::DeleteProvider {
                slug: "old".into(),
                pk: 5,
            },
            "would delete authentik provider gatehouse:old: no container publishes it any more",
            "deleted authentik provider gatehouse:old: no container publishes it any more",
        ),
    ]);
}

#[test]
fn the_words_for_a_plan_follow_its_requests() {
    let p = run(&world((2026, 5)), &[want("jelly")]);
    let containers = containers_of(&[want("jelly")]);
    let lines: Vec<String> = p
        .ops
        .iter()
        .map(|op| {
            use crate::render::wording::{Describe, Tense};
            OpFor {
                op,
                instance: &Instance::unnamed(),
                containers: &containers,
            }
            .said(Tense::Planned)
            .to_string()
        })
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("would create authentik provider gatehouse:jelly (forward auth for https://jelly.example.com) for container c-jelly"), "{lines:?}");
    assert!(lines[1].starts_with("would create authentik application jelly with provider gatehouse:jelly for container c-jelly"), "{lines:?}");
    assert!(
        lines[2].starts_with(
            "would add provider gatehouse:jelly (container c-jelly) to authentik outpost"
        ),
        "{lines:?}"
    );
}

#[test]
fn requests_name_the_provider_by_this_instances_marks() {
    use crate::render::wording::{Describe, Tense};
    let containers = containers_of(&[want("jf")]);
    let op = Op::DeleteProvider {
        slug: "jf".into(),
        pk: 7,
    };
    let said = OpFor {
        op: &op,
        instance: &named("edge"),
        containers: &containers,
    }
    .said(Tense::Done)
    .to_string();
    assert!(said.contains("provider gatehouse/edge:jf"), "{said}");
}

#[test]
fn an_outpost_change_of_many_providers_names_ten_and_counts_the_rest() {
    use crate::render::wording::{Describe, Tense};
    let added: Vec<(String, ProviderRef)> = (0..500)
        .map(|i| (format!("app{i:03}"), ProviderRef::New(format!("app{i:03}"))))
        .collect();
    let op = Op::SetOutpostProviders {
        pk: EMBEDDED.into(),
        name: "o".into(),
        added,
        removed: Vec::new(),
    };
    let text = OpFor {
        op: &op,
        instance: &Instance::unnamed(),
        containers: &BTreeMap::new(),
    }
    .said(Tense::Planned)
    .to_string();
    assert!(text.contains("gatehouse:app009 and 490 more"), "{text}");
    assert!(!text.contains("app010"), "{text}");
}
