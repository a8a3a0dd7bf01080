//! The remote-host settings: `GATEHOUSE_OUTPOST=remote` gives this host its own authentik proxy
//! outpost, named after `GATEHOUSE_INSTANCE` and run as a container on the local engine.

use super::vars::{
    Reader, AUTHENTIK_HOST_BROWSER, INSTANCE, OUTPOST, OUTPOST_IMAGE, OUTPOST_TOKEN_MODE,
};
use super::{checks, AuthentikSettings};

/// The outpost image (its tag is the central server's exact version).
pub const DEFAULT_OUTPOST_IMAGE: &str = "ghcr.io/goauthentik/proxy";

/// How the outpost container gets its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// `AUTHENTIK_TOKEN=<key>` in the container's environment (shown by `docker inspect`).
    Env,
    /// `AUTHENTIK_TOKEN=file:///…`: the key in a file copied into the container before it starts
    /// (the outpost resolves `file://` values itself; `docker inspect` shows only the path).
    File,
}

/// Which outpost serves this host's apps (`GATEHOUSE_OUTPOST`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OutpostMode {
    /// authentik's embedded outpost (or `GATEHOUSE_AUTHENTIK_OUTPOST`): the main host.
    #[default]
    Embedded,
    /// This host's own proxy outpost, started by gatehouse on the local engine.
    Remote(RemoteSettings),
}

/// The remote outpost's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    /// Repository of the outpost image, without a tag (`GATEHOUSE_OUTPOST_IMAGE`).
    pub image: String,
    pub token_mode: TokenMode,
    /// The URL browsers use for authentik when it differs from `GATEHOUSE_AUTHENTIK_URL`
    /// (`GATEHOUSE_AUTHENTIK_HOST_BROWSER`): the outpost's `AUTHENTIK_HOST_BROWSER`.
    pub host_browser: Option<String>,
}

pub(crate) fn mode(raw: &str) -> checks::Checked<bool> {
    match raw {
        "embedded" => Ok(false),
        "remote" => Ok(true),
        _ => Err("must be embedded (the main host: apps on authentik's embedded outpost) or remote (this host gets its own proxy outpost)".into()),
    }
}

/// An image repository as Docker writes it (`registry:port/path/name`), without tag or digest:
/// gatehouse adds the server's version as the tag.
pub(crate) fn image(raw: &str) -> checks::Checked<String> {
    let last = raw.rsplit('/').next().unwrap_or_default();
    let ok = !raw.is_empty()
        && raw.len() <= 200
        && !last.contains(':')
        && !raw.contains("//")
        && !raw.starts_with(['/', '.', '-'])
        && raw.bytes().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'.' | b'-' | b'_' | b'/' | b':')
        });
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be an image repository without a tag, such as ghcr.io/goauthentik/proxy or registry.lan:5000/goauthentik/proxy (the tag is the central authentik's version)".into())
    }
}

pub(crate) fn token_mode(raw: &str) -> checks::Checked<TokenMode> {
    match raw {
        "env" => Ok(TokenMode::Env),
        "file" => Ok(TokenMode::File),
        _ => Err("must be env or file".into()),
    }
}

/// Reads the outpost variables; `remote` needs authentik provisioning and a named instance.
pub(crate) fn read(r: &mut Reader<'_>, authentik: Option<&AuthentikSettings>) -> OutpostMode {
    let remote = r.get(&OUTPOST, mode).unwrap_or_default();
    let image = r.get(&OUTPOST_IMAGE, image).unwrap_or_default();
    let token_mode = r
        .get(&OUTPOST_TOKEN_MODE, token_mode)
        .unwrap_or(TokenMode::Env);
    let host_browser = r.get(&AUTHENTIK_HOST_BROWSER, checks::authentik_url);
    if !remote {
        return OutpostMode::Embedded;
    }
    if !r.is_set(&super::vars::AUTHENTIK_URL) {
        r.problem(
            OUTPOST.name,
            "remote",
            "needs authentik provisioning: set GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN (the central authentik)",
        );
    }
    if !r.is_set(&INSTANCE) {
        r.problem(
            INSTANCE.name,
            "",
            "must be set when GATEHOUSE_OUTPOST=remote: it names this host's outpost (e.g. nas)",
        );
    }
    if authentik.is_some_and(|a| a.outpost.is_some()) {
        r.problem(
            super::vars::AUTHENTIK_OUTPOST.name,
            authentik
                .and_then(|a| a.outpost.as_deref())
                .unwrap_or_default(),
            "must not be set when GATEHOUSE_OUTPOST=remote: this host's apps go to its own outpost",
        );
    }
    OutpostMode::Remote(RemoteSettings {
        image,
        token_mode,
        host_browser,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, Vec<String>> {
        let mut v: Vec<(String, String)> = vec![
            (
                "GATEHOUSE_AUTHENTIK_URL".into(),
                "https://auth.example.com".into(),
            ),
            ("GATEHOUSE_AUTHENTIK_TOKEN".into(), "t".into()),
            ("GATEHOUSE_DOMAIN".into(), "example.com".into()),
        ];
        v.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Settings::from_vars(v)
            .map(|(s, _)| s)
            .map_err(|e| e.problems.into_iter().map(|p| p.var).collect())
    }

    #[test]
    fn remote_mode_reads_its_settings_and_needs_a_named_instance() {
        let s = from(&[
            ("GATEHOUSE_OUTPOST", "remote"),
            ("GATEHOUSE_INSTANCE", "nas"),
            ("GATEHOUSE_OUTPOST_TOKEN_MODE", "file"),
            (
                "GATEHOUSE_AUTHENTIK_HOST_BROWSER",
                "https://login.example.com/",
            ),
        ])
        .expect("good");
        assert_eq!(
            s.outpost,
            OutpostMode::Remote(RemoteSettings {
                image: DEFAULT_OUTPOST_IMAGE.into(),
                token_mode: TokenMode::File,
                host_browser: Some("https://login.example.com".into()),
            })
        );
        assert_eq!(from(&[]).expect("default").outpost, OutpostMode::Embedded);
        assert_eq!(
            from(&[("GATEHOUSE_OUTPOST", "remote")]).unwrap_err(),
            ["GATEHOUSE_INSTANCE"]
        );
        assert_eq!(
            from(&[
                ("GATEHOUSE_OUTPOST", "remote"),
                ("GATEHOUSE_INSTANCE", "nas"),
                ("GATEHOUSE_AUTHENTIK_OUTPOST", "other")
            ])
            .unwrap_err(),
            ["GATEHOUSE_AUTHENTIK_OUTPOST"]
        );
        assert_eq!(
            from(&[
                ("GATEHOUSE_OUTPOST", "satellite"),
                ("GATEHOUSE_OUTPOST_TOKEN_MODE", "x")
            ])
            .unwrap_err(),
            ["GATEHOUSE_OUTPOST", "GATEHOUSE_OUTPOST_TOKEN_MODE"]
        );
    }

    #[test]
    fn remote_mode_without_authentik_is_a_bad_setting() {
        let v = vec![
            ("GATEHOUSE_OUTPOST".to_owned(), "remote".to_owned()),
            ("GATEHOUSE_INSTANCE".to_owned(), "nas".to_owned()),
        ];
        let err = Settings::from_vars(v).unwrap_err();
        assert_eq!(err.problems[0].var, "GATEHOUSE_OUTPOST");
    }

    #[test]
    fn image_repositories_are_checked_and_tags_refused() {
        for ok in [
            "ghcr.io/goauthentik/proxy",
            "registry.lan:5000/goauthentik/proxy",
            "proxy",
        ] {
            assert_eq!(image(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "ghcr.io/goauthentik/proxy:2026.5.6",
            "Ghcr.io/x",
            "x y",
            "x@sha256:00",
            "/x",
            "a//b",
        ] {
            assert!(image(bad).is_err(), "{bad:?}");
        }
    }
}
