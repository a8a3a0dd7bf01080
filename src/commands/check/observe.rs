//! Observing what the checks judge: the engine, SWAG's container and config folder, the apps'
//! labels, authentik's answers. Every request here is a read, but for one file written and
//! removed again in the proxy-confs folder (the writability check).

use std::io::Write as _;
use std::path::Path;

use super::judge::Upstream;
use super::judge_authentik::{Location, ProxyPath};
use crate::config::Settings;
use crate::edge::docker::{Engine, Inspected};
use crate::labels::{self, Parsed};
use crate::model::spec::Access;
use crate::model::workload::Workload;
use crate::plan::networks::{find_named, find_swag};

/// The variables read of SWAG's container (nothing else of its environment is kept).
pub(crate) const SWAG_ENV: &[&str] = &["SWAG_AUTORELOAD", "PUID", "PGID"];
/// The variables read of authentik's server container.
pub(crate) const AUTHENTIK_ENV: &[&str] = &[
    "AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS",
    "AUTHENTIK_WEB__BASE_URL",
];

/// Writes one temporary file (the name the atomic writer uses, so a sweep removes it if this
/// process dies in between) in `dir` and removes it again.
pub(crate) fn probe_writable(dir: &Path) -> Result<(), String> {
    let path = dir.join(crate::edge::files::temp_name());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let written = f.write_all(b"gatehouse check\n").map_err(|e| e.to_string());
    drop(f);
    let removed =
        std::fs::remove_file(&path).map_err(|e| format!("wrote a file but cannot remove it: {e}"));
    written.and(removed)
}

/// Whether the kernel would let this process create files in `dir` (`access(2)`, W_OK and
/// X_OK), without writing anything.
pub(crate) fn access_writable(dir: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| "the path holds a NUL byte".to_owned())?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// The published apps in scope: upstreams, and how many are protected.
pub(crate) fn apps(all: &[Workload], settings: &Settings) -> (Vec<Upstream>, usize) {
    let mut ups = Vec::new();
    let mut protected = 0;
    for w in in_scope(all, settings) {
        if let Parsed::App { spec, .. } = labels::parse(w, &settings.labels) {
            protected += usize::from(spec.access == Access::Protected);
            ups.push(Upstream {
                container: spec.container.clone(),
                address: spec.address.as_str().to_owned(),
            });
        }
    }
    (ups, protected)
}

fn in_scope<'a>(all: &'a [Workload], settings: &'a Settings) -> impl Iterator<Item = &'a Workload> {
    all.iter().filter(move |w| match &settings.scope_label {
        Some((k, v)) => w.labels.get(k) == Some(v),
        None => true,
    })
}

/// SWAG's container among the running ones (the same rule as `run`).
pub(crate) fn swag<'a>(all: &'a [Workload], settings: &Settings) -> Result<&'a Workload, String> {
    find_swag(all, &settings.swag_container).map_err(|e| {
        let text = e.to_string();
        // The lookup's own sentence ends with what `run` does about it; the check says its own.
        text.split(": set ").next().unwrap_or(&text).to_owned()
    })
}

/// SWAG's authentik location: the upstream `authentik-server.conf` names, and whether SWAG
/// shares a network with that container.
pub(crate) fn location(settings: &Settings, all: &[Workload], swag: Option<&Workload>) -> Location {
    let path = settings.swag_config.join("nginx/authentik-server.conf");
    let text = match crate::edge::files::read_small(&path, 64 * 1024) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => return Location::NoConf,
    };
    let upstream = super::judge_authentik::upstream_in_conf(&text)
        .unwrap_or_else(|| "authentik-server".to_owned());
    let shares = find_named(all, &upstream)
        .map(|a| swag.is_some_and(|s| super::judge::shares_network(s, a)));
    Location::Upstream { upstream, shares }
}

/// How SWAG reaches authentik's server: the container, its trusted proxy networks, SWAG's
/// addresses on the networks they share.
pub(crate) async fn proxy_path(
    engine: &dyn Engine,
    settings: &Settings,
    swag: Option<&Inspected>,
) -> (ProxyPath, Option<String>) {
    let Ok(Some(ak)) = engine
        .inspect(&settings.authentik_container, AUTHENTIK_ENV)
        .await
    else {
        return (ProxyPath::default(), None);
    };
    let swag_addresses = swag
        .map(|s| {
            s.addresses
                .iter()
                .filter(|(net, _)| ak.addresses.contains_key(*net))
                .map(|(n, ip)| (n.clone(), ip.clone()))
                .collect()
        })
        .unwrap_or_default();
    let path = ProxyPath {
        authentik_container: Some(ak.name.clone()),
        trusted_env: ak.env.get("AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS").cloned(),
        swag_addresses,
    };
    (path, ak.env.get("AUTHENTIK_WEB__BASE_URL").cloned())
}
