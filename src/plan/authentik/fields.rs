//! Field-level ownership of an application's optional fields (pure).
//!
//! `auth.group`, `auth.icon`, `auth.description` and `auth.launch_url` set a field when present.
//! When such a label goes away (or is emptied), the field is cleared only if authentik still
//! holds exactly the value gatehouse last set from it: a value the user typed in authentik's UI
//! since, or one gatehouse never set, is never touched. What gatehouse set is remembered per
//! application (slug and pk) in a [`FieldMemory`] (kept in a file by [`crate::edge::fieldstate`]).
//!
//! A remembered value stays only while authentik holds it; a value authentik holds that the
//! label asks for is gatehouse's (the label is the source of truth), whoever typed it first.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::labels::authentik::AppWant;
use crate::model::authentik::Application;

/// An optional application field a label may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Field {
    Group,
    Icon,
    Description,
    LaunchUrl,
}

impl Field {
    pub(crate) const ALL: [Self; 4] = [Self::Group, Self::Icon, Self::Description, Self::LaunchUrl];

    /// The field's name in authentik's API (and in the state file).
    pub(crate) fn api(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Icon => "meta_icon",
            Self::Description => "meta_description",
            Self::LaunchUrl => "meta_launch_url",
        }
    }

    /// The label that sets it, without the prefix: `group` for `auth.group`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Icon => "icon",
            Self::Description => "description",
            Self::LaunchUrl => "launch_url",
        }
    }

    pub(crate) fn from_api(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.api() == key)
    }

    /// What authentik holds; unset and empty alike are `""`.
    pub(crate) fn of_app(self, a: &Application) -> &str {
        let v = match self {
            Self::Group => &a.group,
            Self::Icon => &a.meta_icon,
            Self::Description => &a.meta_description,
            Self::LaunchUrl => &a.meta_launch_url,
        };
        v.as_deref().unwrap_or("")
    }

    /// What the label asks for; `None` when the label is not set.
    pub(crate) fn of_want(self, w: &AppWant) -> Option<&str> {
        match self {
            Self::Group => w.group.as_deref(),
            Self::Icon => w.icon.as_deref(),
            Self::Description => w.description.as_deref(),
            Self::LaunchUrl => w.launch_url.as_deref(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api())
    }
}

/// The values one gatehouse instance last set, by application slug, then by field (API name).
/// Each slug's entry names the application it is about by pk (authentik's uuid): an application
/// with the same slug but another pk (deleted and made again by hand or a blueprint, another
/// authentik, a restore) is another application, and the entry says nothing about it. An entry
/// without a pk (written before pks were recorded) says nothing about any: fail safe.
/// Only non-empty values are kept: setting `""` is clearing, and forgets the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldMemory(BTreeMap<String, AppFields>);

/// What gatehouse set in one application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AppFields {
    /// The application's pk; `None` in an entry from before pks were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pk: Option<String>,
    /// Values by field (API name).
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

impl FieldMemory {
    /// What gatehouse last set in `field` of application `slug`, if that application is `pk`.
    pub(crate) fn get(&self, slug: &str, pk: &str, field: Field) -> Option<&str> {
        self.0
            .get(slug)
            .filter(|e| e.pk.as_deref() == Some(pk))?
            .fields
            .get(field.api())
            .map(String::as_str)
    }

    /// Remembers `value` as set in application `slug` whose pk is `pk` (`""`: cleared,
    /// forgotten). An entry about another application with that slug is dropped first.
    pub(crate) fn set(&mut self, slug: &str, pk: &str, field: Field, value: &str) {
        if self
            .0
            .get(slug)
            .is_some_and(|e| e.pk.as_deref() != Some(pk))
        {
            self.0.remove(slug);
        }
        if value.is_empty() {
            if let Some(e) = self.0.get_mut(slug) {
                e.fields.remove(field.api());
                if e.fields.is_empty() {
                    self.0.remove(slug);
                }
            }
        } else {
            let e = self.0.entry(slug.to_owned()).or_insert_with(|| AppFields {
                pk: Some(pk.to_owned()),
                fields: BTreeMap::new(),
            });
            e.fields.insert(field.api().to_owned(), value.to_owned());
        }
    }

    /// Forgets application `slug` (it was deleted).
    pub(crate) fn forget(&mut self, slug: &str) {
        self.0.remove(slug);
    }

    /// Records what authentik accepted in a create or patch of application `slug` (pk `pk`):
    /// the optional fields in `body`, an empty one as cleared. Other fields are not remembered.
    pub(crate) fn record_body(&mut self, slug: &str, pk: &str, body: &Map<String, Value>) {
        for (k, v) in body {
            if let (Some(field), Some(value)) = (Field::from_api(k), v.as_str()) {
                self.set(slug, pk, field, value);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the values in `newer`, which win over this one's for the same field; an entry of
    /// `newer` about another application than this one's replaces it.
    pub(crate) fn overlay(&mut self, newer: FieldMemory) {
        for (slug, e) in newer.0 {
            match self.0.get_mut(&slug) {
                Some(mine) if mine.pk == e.pk => mine.fields.extend(e.fields),
                _ => {
                    self.0.insert(slug, e);
                }
            }
        }
    }
}

/// What to do with one optional field of an existing application of this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision<'a> {
    /// Nothing to send. `keep`: the value to remember (authentik holds it, and gatehouse set it
    /// or the label asks for it).
    Leave { keep: Option<&'a str> },
    /// Send `value` (the label's; `""`: clear). `keep` is remembered unless authentik accepts.
    Send {
        value: &'a str,
        keep: Option<&'a str>,
    },
    /// The label is gone, but the user changed the value gatehouse set: left alone, forgotten,
    /// and said once.
    UserChanged { set: &'a str, now: &'a str },
}

/// Decides one field: `label` is what the label asks for (`None`: not set), `current` what
/// authentik holds, `remembered` what gatehouse last set. `writable`: the server takes the
/// field (icons before 2025.12 do not); if not, nothing is sent.
pub(crate) fn decide<'a>(
    label: Option<&'a str>,
    current: &'a str,
    remembered: Option<&'a str>,
    writable: bool,
) -> Decision<'a> {
    // What stays remembered whatever happens to this round's write: authentik holds it.
    let held = remembered.filter(|m| *m == current && !m.is_empty());
    if !writable {
        return Decision::Leave { keep: held };
    }
    match label {
        Some(v) if v == current => Decision::Leave {
            keep: (!v.is_empty()).then_some(v),
        },
        Some(v) => Decision::Send {
            value: v,
            keep: held,
        },
        None => match (held, remembered) {
            (Some(m), _) => Decision::Send {
                value: "",
                keep: Some(m),
            },
            (None, Some(set)) if !current.is_empty() => Decision::UserChanged { set, now: current },
            _ => Decision::Leave { keep: None },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_is_cleared_only_when_authentik_holds_what_gatehouse_set() {
        // label gone, value as gatehouse set it: cleared
        assert_eq!(
            decide(None, "Media", Some("Media"), true),
            Decision::Send {
                value: "",
                keep: Some("Media")
            }
        );
        // label gone, the user changed it since
        assert_eq!(
            decide(None, "Films", Some("Media"), true),
            Decision::UserChanged {
                set: "Media",
                now: "Films"
            }
        );
        // label gone, the user cleared it already: nothing to say
        assert_eq!(
            decide(None, "", Some("Media"), true),
            Decision::Leave { keep: None }
        );
        // never set by gatehouse (or nothing remembered): never touched
        assert_eq!(
            decide(None, "Films", None, true),
            Decision::Leave { keep: None }
        );
        // a read-only field is never sent
        assert_eq!(
            decide(None, "x", Some("x"), false),
            Decision::Leave { keep: Some("x") }
        );
    }

    #[test]
    fn a_label_sets_its_value_and_owns_it_once_authentik_holds_it() {
        assert_eq!(
            decide(Some("Media"), "Media", None, true),
            Decision::Leave {
                keep: Some("Media")
            }
        );
        assert_eq!(
            decide(Some("Video"), "Media", Some("Media"), true),
            Decision::Send {
                value: "Video",
                keep: Some("Media")
            }
        );
        // the user changed what gatehouse set while the label is there: the label wins, and
        // the old value is no longer what authentik holds
        assert_eq!(
            decide(Some("Media"), "Films", Some("Media"), true),
            Decision::Send {
                value: "Media",
                keep: None
            }
        );
    }

    #[test]
    fn memory_records_accepted_bodies_and_forgets_cleared_fields() {
        let mut m = FieldMemory::default();
        let body = json!({"name": "x", "group": "Media", "meta_icon": "fa://fa-film", "meta_publisher": "gatehouse"});
        m.record_body("jf", "pk-jf", body.as_object().unwrap());
        assert_eq!(m.get("jf", "pk-jf", Field::Group), Some("Media"));
        assert_eq!(m.get("jf", "pk-jf", Field::Icon), Some("fa://fa-film"));
        assert_eq!(m.get("jf", "pk-jf", Field::Description), None);
        let clear = json!({"group": ""});
        m.record_body("jf", "pk-jf", clear.as_object().unwrap());
        assert_eq!(m.get("jf", "pk-jf", Field::Group), None);
        m.record_body("jf", "pk-jf", json!({"meta_icon": ""}).as_object().unwrap());
        assert!(m.is_empty(), "{m:?}");
        m.set("a", "pk-a", Field::LaunchUrl, "https://a.example.com");
        m.forget("a");
        assert!(m.is_empty());
    }

    #[test]
    fn an_entry_speaks_only_for_the_application_it_was_made_for() {
        let mut m = FieldMemory::default();
        m.set("jf", "pk-1", Field::Group, "Media");
        assert_eq!(m.get("jf", "pk-1", Field::Group), Some("Media"));
        // another application with that slug: nothing known about it
        assert_eq!(m.get("jf", "pk-2", Field::Group), None);
        // setting a value in it drops the old application's entry
        m.set("jf", "pk-2", Field::Icon, "fa://fa-film");
        assert_eq!(m.get("jf", "pk-2", Field::Group), None);
        assert_eq!(m.get("jf", "pk-2", Field::Icon), Some("fa://fa-film"));
        // an entry from before pks were recorded says nothing about any application
        let old: FieldMemory = serde_json::from_str(r#"{"jf": {"group": "Media"}}"#).unwrap();
        assert_eq!(old.get("jf", "pk-1", Field::Group), None);
        assert_eq!(old.get("jf", "", Field::Group), None);
        // written with its pk
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"jf":{"pk":"pk-2","meta_icon":"fa://fa-film"}}"#);
        let back: FieldMemory = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }
}
