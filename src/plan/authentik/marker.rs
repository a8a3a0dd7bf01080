//! Which gatehouse made an authentik object, read from the marks it leaves (pure).
//!
//! authentik has no labels on applications or providers, so gatehouse marks what it makes in
//! fields it controls: an application's `meta_publisher` (free text, shown as "Publisher") and a
//! proxy provider's unique name. Several gatehouses can share one authentik when each has its own
//! name ([`Instance`], `GATEHOUSE_INSTANCE`); one of them may run without a name, with the marks
//! every gatehouse used before instances existed, so an existing install keeps its objects.
//!
//! | instance      | `meta_publisher`   | provider name              |
//! |---------------|--------------------|----------------------------|
//! | unnamed       | `gatehouse`        | `gatehouse:<slug>`         |
//! | named `<n>`   | `gatehouse/<n>`    | `gatehouse/<n>:<slug>`     |
//!
//! A named instance's provider does not start with `gatehouse:`, so a gatehouse from before
//! instances existed, which claimed every provider with that prefix, does not take it for its own.
//! Reading is strict: a mark whose name or slug is outside its grammar is nobody's (the user's).

use crate::model::authentik::{Application, OAuth2Provider, ProxyProvider};

/// The mark of the unnamed instance, and the start of every named one's.
pub const PUBLISHER: &str = "gatehouse";

const NAME_RULE: &str = "must be 1 to 32 of a-z, 0-9 and '-', starting with a letter (unset it for the unnamed instance)";

/// A gatehouse instance: unnamed (the default), or named by `GATEHOUSE_INSTANCE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance(Option<String>);

impl Instance {
    /// The instance without a name: the marks gatehouse used before instances existed.
    pub const fn unnamed() -> Self {
        Self(None)
    }

    /// A named instance; the name's grammar is checked.
    pub fn named(raw: &str) -> Result<Self, &'static str> {
        let ok = crate::model::spec::is_word(
            raw,
            32,
            |c| c.is_ascii_lowercase(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-',
        );
        ok.then(|| Self(Some(raw.to_owned()))).ok_or(NAME_RULE)
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub(crate) fn is_unnamed(&self) -> bool {
        self.0.is_none()
    }

    /// What its applications carry in `meta_publisher`: `gatehouse` or `gatehouse/<name>`.
    pub(crate) fn publisher(&self) -> String {
        match &self.0 {
            None => PUBLISHER.to_owned(),
            Some(n) => format!("{PUBLISHER}/{n}"),
        }
    }

    /// The name of its proxy provider for an application slug: `<publisher>:<slug>`.
    pub(crate) fn provider_name(&self, slug: &str) -> String {
        format!("{}:{slug}", self.publisher())
    }

    pub(crate) fn owns_app(&self, a: &Application) -> bool {
        app_owner(a).as_ref() == Some(self)
    }

    /// The application slug of one of its providers; `None` for anybody else's.
    pub(crate) fn provider_slug<'p>(&self, p: &'p ProxyProvider) -> Option<&'p str> {
        provider_owner(p).and_then(|(i, slug)| (&i == self).then_some(slug))
    }

    /// The application slug of one of its OAuth2 providers (same marks as a proxy provider's);
    /// `None` for anybody else's.
    pub(crate) fn oauth2_slug<'p>(&self, p: &'p OAuth2Provider) -> Option<&'p str> {
        name_owner(&p.name).and_then(|(i, slug)| (&i == self).then_some(slug))
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("the unnamed gatehouse instance"),
            Some(n) => write!(f, "gatehouse instance {n}"),
        }
    }
}

/// The instance a publisher mark names; `None`: not a gatehouse mark.
fn publisher_owner(publisher: &str) -> Option<Instance> {
    match publisher.strip_prefix(PUBLISHER)? {
        "" => Some(Instance::unnamed()),
        rest => Instance::named(rest.strip_prefix('/')?).ok(),
    }
}

/// The gatehouse instance that made an application; `None`: the user's (or another tool's).
pub(crate) fn app_owner(a: &Application) -> Option<Instance> {
    publisher_owner(a.meta_publisher.as_deref()?)
}

/// The gatehouse instance that made a proxy provider, and the application slug it is for;
/// `None`: the user's.
pub(crate) fn provider_owner(p: &ProxyProvider) -> Option<(Instance, &str)> {
    name_owner(&p.name)
}

/// The instance and application slug a provider name marks.
fn name_owner(name: &str) -> Option<(Instance, &str)> {
    let (publisher, slug) = name.split_once(':')?;
    let owner = publisher_owner(publisher)?;
    crate::labels::authentik::slug(slug)
        .is_ok()
        .then_some((owner, slug))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(publisher: Option<&str>) -> Application {
        Application {
            meta_publisher: publisher.map(str::to_owned),
            ..Application::default()
        }
    }

    fn provider(name: &str) -> ProxyProvider {
        ProxyProvider {
            name: name.into(),
            ..ProxyProvider::default()
        }
    }

    #[test]
    fn instance_names_follow_their_grammar() {
        for ok in ["a", "edge", "host-2", "a1-b2", "x-", &"a".repeat(32)] {
            assert!(Instance::named(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "1host",
            "-a",
            "Host",
            "a_b",
            "a.b",
            "a b",
            "a/b",
            "a:b",
            "hôte",
            "a\n",
            &"a".repeat(33),
        ] {
            assert!(Instance::named(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_unnamed_instance_keeps_the_marks_gatehouse_always_used() {
        let u = Instance::unnamed();
        assert_eq!(u.publisher(), "gatehouse");
        assert_eq!(u.provider_name("jf"), "gatehouse:jf");
        assert!(u.owns_app(&app(Some("gatehouse"))));
        assert_eq!(u.provider_slug(&provider("gatehouse:jf")), Some("jf"));
    }

    #[test]
    fn a_named_instance_marks_with_its_name() {
        let e = Instance::named("edge").unwrap();
        assert_eq!(e.publisher(), "gatehouse/edge");
        assert_eq!(e.provider_name("jf"), "gatehouse/edge:jf");
        assert!(e.owns_app(&app(Some("gatehouse/edge"))));
        assert_eq!(e.provider_slug(&provider("gatehouse/edge:jf")), Some("jf"));
        // not the unnamed instance's, nor another's
        assert!(!e.owns_app(&app(Some("gatehouse"))));
        assert!(!e.owns_app(&app(Some("gatehouse/edge2"))));
        assert_eq!(e.provider_slug(&provider("gatehouse:jf")), None);
        assert_eq!(e.provider_slug(&provider("gatehouse/other:jf")), None);
        assert!(!Instance::unnamed().owns_app(&app(Some("gatehouse/edge"))));
        assert_eq!(
            Instance::unnamed().provider_slug(&provider("gatehouse/edge:jf")),
            None
        );
    }

    #[test]
    fn marks_outside_the_grammar_are_nobodys() {
        for p in [
            None,
            Some(""),
            Some("gatehouses"),
            Some("gatehouse/"),
            Some("gatehouse/Edge"),
            Some("gatehouse/edge/x"),
            Some("Gatehouse"),
            Some("gatehouse "),
        ] {
            assert_eq!(app_owner(&app(p)), None, "{p:?}");
        }
        for n in [
            "gatehouse",
            "gatehouse:",
            "gatehouse:Jelly",
            "gatehouse:a:b",
            "gatehouse/:jf",
            "gatehouse/edge:",
            "gatehouse/edge:x:y",
            "gatehousex:jf",
            "my gatehouse:jf",
        ] {
            assert_eq!(provider_owner(&provider(n)), None, "{n:?}");
        }
        assert_eq!(
            provider_owner(&provider("gatehouse/edge:jf")),
            Some((Instance::named("edge").unwrap(), "jf"))
        );
    }
}
