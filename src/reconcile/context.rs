//! Everything a pass needs, in one place: the settings, the engines by host, the proxy-confs
//! folder.

use std::sync::Arc;

use crate::config::Settings;
use crate::edge::confdir::ConfDir;
use crate::edge::docker::Engine;

/// The engines gatehouse watches: the local one today (its workloads carry its `host()`); the
/// remote-hosts issue adds the others, by host, beside it.
#[derive(Debug, Clone)]
pub struct Engines {
    local: Arc<dyn Engine>,
}

impl Engines {
    /// Just the local engine.
    pub(crate) fn local_only(engine: Arc<dyn Engine>) -> Self {
        Self { local: engine }
    }

    /// The engine on this host.
    pub fn local(&self) -> &Arc<dyn Engine> {
        &self.local
    }
}

/// Everything a pass needs.
#[derive(Debug)]
pub struct Context {
    pub(crate) settings: Settings,
    pub engines: Engines,
    pub(crate) confdir: ConfDir,
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
