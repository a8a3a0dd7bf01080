//! Everything a pass needs, in one place: the settings, the engines by host, the proxy-confs
//! folder.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Settings;
use crate::edge::confdir::ConfDir;
use crate::edge::docker::Engine;

/// The engines gatehouse watches, by host: the local one today; a later issue adds remote
/// hosts beside it.
#[derive(Debug, Clone)]
pub struct Engines {
    local: Arc<dyn Engine>,
    others: BTreeMap<String, Arc<dyn Engine>>,
}

impl Engines {
    /// Just the local engine.
    pub fn local_only(engine: Arc<dyn Engine>) -> Self {
        Self {
            local: engine,
            others: BTreeMap::new(),
        }
    }

    /// The engine on this host.
    pub fn local(&self) -> &Arc<dyn Engine> {
        &self.local
    }

    /// The engine whose workloads carry `host`.
    pub fn get(&self, host: &str) -> Option<&Arc<dyn Engine>> {
        if host == self.local.host() || host.is_empty() {
            return Some(&self.local);
        }
        self.others.get(host)
    }

    /// Every engine, the local one first.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Engine>> {
        std::iter::once(&self.local).chain(self.others.values())
    }
}

/// Everything a pass needs.
#[derive(Debug)]
pub struct Context {
    pub settings: Settings,
    pub engines: Engines,
    pub confdir: ConfDir,
}

impl Context {
    pub fn new(settings: Settings, engine: Arc<dyn Engine>) -> Self {
        let confdir = ConfDir::new(&settings.swag_config, settings.puid, settings.pgid);
        Self {
            settings,
            engines: Engines::local_only(engine),
            confdir,
        }
    }
}

#[cfg(test)]
impl Context {
    /// A context on an in-memory engine and a temporary SWAG config folder (with its
    /// `nginx/proxy-confs`), with default settings otherwise.
    pub(crate) fn test() -> (
        Self,
        Arc<crate::edge::docker::fake::FakeEngine>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("nginx/proxy-confs")).expect("proxy-confs");
        std::fs::create_dir_all(dir.path().join("nginx/site-confs")).expect("site-confs");
        let settings = Settings {
            swag_config: dir.path().to_owned(),
            ..Settings::default()
        };
        let engine = Arc::new(crate::edge::docker::fake::FakeEngine::default());
        (Self::new(settings, engine.clone()), engine, dir)
    }
}
