//! A remote host's outpost container (pure): the one wanted vs the ones the engine lists with
//! this instance's mark → create, recreate, start or remove.
//!
//! Ownership: only containers labelled [`OUTPOST_LABEL`]`=<this instance>` are ever changed or
//! removed; another instance's outpost container carries its own name there and is left alone.
//! A container the user stopped stays stopped (its restart policy is `unless-stopped`): the
//! health report says so.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::container::{ContainerSpec, ListedContainer};
use crate::render::wording::{Describe, Tense};

/// The label marking a gatehouse instance's outpost container: its value is the instance name.
pub const OUTPOST_LABEL: &str = "gatehouse.outpost";
/// A fingerprint of what the container was created with (image, environment including the
/// token, network): a different one means recreate. Not the token: a truncated SHA-256 of it
/// among the rest, which does not give the token back.
pub const SPEC_LABEL: &str = "gatehouse.outpost.spec";

/// The container's name and network for an instance: `gatehouse-outpost-<instance>`.
pub fn container_name(instance: &str) -> String {
    format!("gatehouse-outpost-{instance}")
}

/// One change to the outpost container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStep {
    Create {
        spec: ContainerSpec,
    },
    Recreate {
        id: String,
        spec: ContainerSpec,
        why: String,
    },
    /// Created but never started (a round cut short between the two).
    Start {
        id: String,
        name: String,
    },
    Remove {
        id: String,
        name: String,
        why: &'static str,
    },
}

/// The changes that take `observed` (this instance's marked containers) to `wanted`.
pub fn plan(wanted: Option<&ContainerSpec>, observed: &[ListedContainer]) -> Vec<ContainerStep> {
    let mut steps = Vec::new();
    let Some(spec) = wanted else {
        for c in observed {
            steps.push(ContainerStep::Remove {
                id: c.id.clone(),
                name: c.name.clone(),
                why: "GATEHOUSE_OUTPOST is no longer remote",
            });
        }
        return steps;
    };
    let mut found = false;
    for c in observed {
        if c.name != spec.name || found {
            steps.push(ContainerStep::Remove {
                id: c.id.clone(),
                name: c.name.clone(),
                why: "a second outpost container of this instance",
            });
            continue;
        }
        found = true;
        if let Some(why) = differs(spec, c) {
            steps.push(ContainerStep::Recreate {
                id: c.id.clone(),
                spec: spec.clone(),
                why,
            });
        } else if c.state == "created" {
            steps.push(ContainerStep::Start {
                id: c.id.clone(),
                name: c.name.clone(),
            });
        }
    }
    if !found {
        steps.push(ContainerStep::Create { spec: spec.clone() });
    }
    steps
}

/// Why the listed container is not the wanted one, if it is not.
fn differs(spec: &ContainerSpec, c: &ListedContainer) -> Option<String> {
    if c.image != spec.image {
        return Some(format!(
            "image {} is not {} (the central authentik's version)",
            c.image, spec.image
        ));
    }
    let want = spec.labels.get(SPEC_LABEL);
    (c.labels.get(SPEC_LABEL) != want).then(|| "its settings or its token changed".to_owned())
}

/// The labels of an instance's outpost container.
pub fn labels(instance: &str, fingerprint: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (OUTPOST_LABEL.to_owned(), instance.to_owned()),
        (SPEC_LABEL.to_owned(), fingerprint.to_owned()),
    ])
}

impl Describe for ContainerStep {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Create { spec } => write!(
                f,
                "{} outpost container {} ({}, network {}, restart unless-stopped)",
                tense.verb("start", "started"),
                spec.name,
                spec.image,
                spec.network
            ),
            Self::Recreate { spec, why, .. } => write!(
                f,
                "{} outpost container {} with {}: {why}",
                tense.verb("recreate", "recreated"),
                spec.name,
                spec.image
            ),
            Self::Start { name, .. } => write!(
                f,
                "{} outpost container {name} (created but not started)",
                tense.verb("start", "started")
            ),
            Self::Remove { name, why, .. } => write!(
                f,
                "{} outpost container {name}: {why}",
                tense.verb("remove", "removed")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(image: &str, fp: &str) -> ContainerSpec {
        ContainerSpec {
            name: container_name("nas"),
            image: image.into(),
            env: vec!["AUTHENTIK_TOKEN=secret".into()],
            labels: labels("nas", fp),
            network: container_name("nas"),
            restart: "unless-stopped",
        }
    }

    fn listed(s: &ContainerSpec, state: &str) -> ListedContainer {
        ListedContainer {
            id: "c1".into(),
            name: s.name.clone(),
            image: s.image.clone(),
            labels: s.labels.clone(),
            state: state.into(),
            ..ListedContainer::default()
        }
    }

    #[test]
    fn created_once_then_left_alone_even_when_the_user_stopped_it() {
        let want = spec("ghcr.io/goauthentik/proxy:2026.5.6", "aa");
        assert!(matches!(
            &plan(Some(&want), &[])[..],
            [ContainerStep::Create { .. }]
        ));
        assert!(plan(Some(&want), &[listed(&want, "running")]).is_empty());
        assert!(plan(Some(&want), &[listed(&want, "exited")]).is_empty());
        assert!(matches!(
            &plan(Some(&want), &[listed(&want, "created")])[..],
            [ContainerStep::Start { .. }]
        ));
    }

    #[test]
    fn a_new_server_version_or_token_recreates_it() {
        let old = spec("ghcr.io/goauthentik/proxy:2026.5.6", "aa");
        let bumped = spec("ghcr.io/goauthentik/proxy:2026.8.1", "aa");
        let steps = plan(Some(&bumped), &[listed(&old, "running")]);
        let [ContainerStep::Recreate { why, spec, .. }] = &steps[..] else {
            panic!("{steps:?}")
        };
        assert!(why.contains("2026.5.6"), "{why}");
        assert_eq!(spec.image, "ghcr.io/goauthentik/proxy:2026.8.1");
        let new_token = spec_with_fp(&old, "bb");
        assert!(matches!(
            &plan(Some(&new_token), &[listed(&old, "running")])[..],
            [ContainerStep::Recreate { .. }]
        ));
    }

    fn spec_with_fp(s: &ContainerSpec, fp: &str) -> ContainerSpec {
        let mut s = s.clone();
        s.labels = labels("nas", fp);
        s
    }

    #[test]
    fn mode_off_removes_what_carries_the_mark() {
        let old = spec("ghcr.io/goauthentik/proxy:2026.5.6", "aa");
        let steps = plan(None, &[listed(&old, "running")]);
        assert!(matches!(&steps[..], [ContainerStep::Remove { .. }]));
        assert!(plan(None, &[]).is_empty());
    }

    #[test]
    fn the_token_is_not_in_the_debug_output_nor_the_words() {
        let s = spec("img:1", "aa");
        assert!(!format!("{s:?}").contains("secret"));
        let line = ContainerStep::Create { spec: s }
            .said(Tense::Done)
            .to_string();
        assert!(!line.contains("secret"), "{line}");
    }
}
