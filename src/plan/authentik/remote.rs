//! A remote host's own proxy outpost in the central authentik (pure): created when missing, its
//! config kept pointing at the central URL, deleted when the host goes back to the embedded
//! outpost (`GATEHOUSE_OUTPOST=embedded`).
//!
//! Ownership: the outpost's name is the instance's mark, `gatehouse/<instance>` (authentik's
//! outpost names are unique). Only the outpost carrying this instance's name is ever created,
//! changed or deleted here; another instance's (`gatehouse/<other>`) is never touched. The
//! unnamed instance has no outpost of its own.

use std::fmt;
use std::sync::LazyLock;

use serde_json::{json, Map, Value};

use super::marker::Instance;
use super::types::Rules;
use crate::model::authentik::{Outpost, OutpostConfigPatch, OutpostCreate};
use crate::render::wording::{Describe, Tense};

/// What a remote host's outpost is configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnOutpost {
    /// The central authentik as the outpost reaches it (`GATEHOUSE_AUTHENTIK_URL`).
    pub(crate) authentik_host: String,
    /// The URL browsers use, when it differs (`GATEHOUSE_AUTHENTIK_HOST_BROWSER`).
    pub(crate) host_browser: Option<String>,
}

impl OwnOutpost {
    pub fn new(authentik_host: &str, host_browser: Option<&str>) -> Self {
        Self {
            authentik_host: authentik_host.to_owned(),
            host_browser: host_browser.map(str::to_owned),
        }
    }

    /// The config keys gatehouse sets, as authentik's `OutpostConfig` names them.
    fn keys(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("authentik_host".into(), json!(self.authentik_host));
        m.insert("authentik_host_insecure".into(), json!(false));
        m.insert(
            "authentik_host_browser".into(),
            json!(self.host_browser.clone().unwrap_or_default()),
        );
        m
    }
}

/// The name of an instance's own outpost; `None` for the unnamed instance.
pub fn outpost_name(instance: &Instance) -> Option<String> {
    instance.name().map(|_| instance.publisher())
}

/// Stands for this host's outpost while it does not exist yet (a dry run): its providers are
/// named by the create.
pub(super) static PENDING: LazyLock<Outpost> = LazyLock::new(Outpost::default);

/// The request that keeps this instance's outpost as wanted.
#[derive(Debug, Clone, PartialEq)]
pub enum OutpostStep {
    Create {
        body: OutpostCreate,
    },
    PatchConfig {
        pk: String,
        name: String,
        body: OutpostConfigPatch,
        keys: Vec<String>,
    },
    /// `GATEHOUSE_OUTPOST` is no longer `remote`: the outpost goes (after its providers moved).
    Delete {
        pk: String,
        name: String,
    },
}

/// This instance's outpost among `outposts`.
pub fn own<'a>(outposts: &'a [Outpost], instance: &Instance) -> Option<&'a Outpost> {
    let name = outpost_name(instance)?;
    outposts.iter().find(|o| o.name == name)
}

/// What to do to this instance's outpost, if anything.
pub fn plan_own(outposts: &[Outpost], rules: &Rules) -> Option<OutpostStep> {
    let name = outpost_name(&rules.instance)?;
    let existing = own(outposts, &rules.instance);
    match (&rules.own_outpost, existing) {
        (None, None) => None,
        (None, Some(o)) => Some(OutpostStep::Delete {
            pk: o.pk.clone(),
            name: o.name.clone(),
        }),
        (Some(want), None) => {
            let mut config = want.keys();
            config.insert("log_level".into(), json!("info"));
            Some(OutpostStep::Create {
                body: OutpostCreate {
                    name,
                    kind: "proxy",
                    providers: Vec::new(),
                    service_connection: None,
                    config,
                },
            })
        }
        (Some(want), Some(o)) => {
            let keys: Vec<String> = want
                .keys()
                .into_iter()
                .filter(|(k, v)| o.config.get(k) != Some(v))
                .map(|(k, _)| k)
                .collect();
            if keys.is_empty() {
                return None;
            }
            let mut config = o.config.clone();
            config.extend(want.keys());
            Some(OutpostStep::PatchConfig {
                pk: o.pk.clone(),
                name: o.name.clone(),
                body: OutpostConfigPatch { config },
                keys,
            })
        }
    }
}

impl Describe for OutpostStep {
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Create { body } => write!(
                f,
                "{} authentik proxy outpost {:?} for this host's apps (GATEHOUSE_OUTPOST=remote; authentik_host {})",
                tense.verb("create", "created"),
                body.name,
                body.config.get("authentik_host").unwrap_or(&Value::Null)
            ),
            Self::PatchConfig { name, keys, .. } => write!(
                f,
                "{} the config of authentik outpost {name:?} ({})",
                tense.verb("update", "updated"),
                keys.join(", ")
            ),
            Self::Delete { name, .. } => write!(
                f,
                "{} authentik outpost {name:?}: GATEHOUSE_OUTPOST is no longer remote, this host's apps are back on the embedded outpost",
                tense.verb("delete", "deleted"),
            ),
        }
    }
}

impl fmt::Display for OutpostStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(Tense::Done, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(name: &str, remote: bool) -> Rules {
        Rules {
            instance: Instance::named(name).unwrap(),
            own_outpost: remote.then(|| OwnOutpost::new("https://auth.example.com", None)),
            ..Rules::default()
        }
    }

    fn outpost(name: &str, config: Map<String, Value>) -> Outpost {
        Outpost {
            pk: format!("pk-{name}"),
            name: name.into(),
            config,
            ..Outpost::default()
        }
    }

    #[test]
    fn a_remote_instance_creates_its_outpost_once_and_then_leaves_it() {
        let step = plan_own(&[], &rules("nas", true)).expect("create");
        let OutpostStep::Create { body } = &step else {
            panic!("{step:?}")
        };
        assert_eq!(body.name, "gatehouse/nas");
        assert_eq!(body.kind, "proxy");
        assert_eq!(body.config["authentik_host"], "https://auth.example.com");
        let made = outpost("gatehouse/nas", body.config.clone());
        assert_eq!(plan_own(&[made], &rules("nas", true)), None);
    }

    #[test]
    fn a_changed_url_patches_the_config_keeping_the_users_keys() {
        let mut config = OwnOutpost::new("https://old.example.com", None).keys();
        config.insert("log_level".into(), json!("debug"));
        let step = plan_own(&[outpost("gatehouse/nas", config)], &rules("nas", true));
        let Some(OutpostStep::PatchConfig { body, keys, .. }) = step else {
            panic!("{step:?}")
        };
        assert_eq!(keys, ["authentik_host"]);
        assert_eq!(body.config["authentik_host"], "https://auth.example.com");
        assert_eq!(body.config["log_level"], "debug");
    }

    #[test]
    fn mode_off_deletes_only_this_instances_outpost() {
        let mine = outpost("gatehouse/nas", Map::new());
        let other = outpost("gatehouse/pi", Map::new());
        let step = plan_own(&[other.clone(), mine], &rules("nas", false));
        assert_eq!(
            step,
            Some(OutpostStep::Delete {
                pk: "pk-gatehouse/nas".into(),
                name: "gatehouse/nas".into()
            })
        );
        // The other instance's outpost is never this one's to delete or change.
        assert_eq!(
            plan_own(std::slice::from_ref(&other), &rules("nas", false)),
            None
        );
        assert!(matches!(
            plan_own(&[other], &rules("nas", true)),
            Some(OutpostStep::Create { .. })
        ));
    }

    #[test]
    fn the_unnamed_instance_has_no_outpost_of_its_own() {
        let r = Rules::default();
        assert_eq!(outpost_name(&r.instance), None);
        assert_eq!(plan_own(&[outpost("gatehouse", Map::new())], &r), None);
    }
}
