//! A remote host's server include, kept by the conf pass: protected confs switched to
//! gatehouse's `authentik-server.conf` (pointing at this host's outpost container), and that
//! file written (atomically, marked) before any conf including it, so nginx never loads a conf
//! whose include is missing. Back in embedded mode the file goes, after the confs stopped
//! including it. SWAG's own `authentik-server.conf` is never touched.

use std::path::PathBuf;

use super::Reconciler;
use crate::config::OutpostMode;
use crate::edge::files::{self, FileSpec};
use crate::model::spec::Access;
use crate::plan::outpost_container::container_name;
use crate::plan::Desired;
use crate::render::conf::remote::{
    server_include, use_server_include, SERVER_INCLUDE_DIR, SERVER_INCLUDE_FILE,
};
use crate::render::MARKER;

const MAX_INCLUDE_BYTES: u64 = 64 * 1024;

impl Reconciler {
    /// The outpost container the include points at, in remote mode.
    fn remote_upstream(&self) -> Option<String> {
        let s = &self.ctx.settings;
        let instance = s.authentik.as_ref()?.instance.name()?;
        matches!(s.outpost, OutpostMode::Remote(_)).then(|| container_name(instance))
    }

    /// In remote mode, protected confs include gatehouse's server include instead of SWAG's.
    pub(super) fn switch_includes(&self, desired: &mut Desired) {
        if self.remote_upstream().is_none() {
            return;
        }
        for app in &mut desired.apps {
            if app.spec.access == Access::Protected {
                app.content = use_server_include(&app.content);
            }
        }
    }

    fn include_path(&self) -> PathBuf {
        self.ctx
            .settings
            .swag_config
            .join(SERVER_INCLUDE_DIR)
            .join(SERVER_INCLUDE_FILE)
    }

    /// Writes the include (remote mode), before the confs. A failure is logged: the confs
    /// including it then make nginx refuse to reload (fail closed), and the next pass retries.
    pub(super) fn write_server_include(&self) {
        let Some(upstream) = self.remote_upstream() else {
            return;
        };
        let path = self.include_path();
        let text = server_include(&upstream);
        if let Some(existing) = self.read_include(&path) {
            if existing == text.as_bytes() {
                return;
            }
            if !existing.starts_with(MARKER.as_bytes()) {
                tracing::error!(file = %path.display(), "not replacing a file gatehouse did not write; protected confs of this host include it");
                return;
            }
        }
        let s = &self.ctx.settings;
        let spec = FileSpec::readable(MAX_INCLUDE_BYTES).owned_by(Some((s.puid, s.pgid)));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| files::write_atomic(&path, text.as_bytes(), &spec));
        match written {
            Ok(w) if w.changed => tracing::info!(
                file = %path.display(),
                "wrote {} (auth_request to outpost container {upstream})",
                crate::render::conf::remote::SERVER_INCLUDE_PATH
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "could not write the server include")
            }
        }
    }

    /// Removes gatehouse's include in embedded mode, after the confs stopped including it.
    pub(super) fn remove_server_include(&self) {
        if self.remote_upstream().is_some() {
            return;
        }
        let path = self.include_path();
        let Some(existing) = self.read_include(&path) else {
            return;
        };
        if !existing.starts_with(MARKER.as_bytes()) {
            return;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(file = %path.display(), "removed {}: GATEHOUSE_OUTPOST is no longer remote", crate::render::conf::remote::SERVER_INCLUDE_PATH)
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "could not remove the server include")
            }
        }
    }

    fn read_include(&self, path: &std::path::Path) -> Option<Vec<u8>> {
        files::read_small(path, MAX_INCLUDE_BYTES).ok().flatten()
    }
}
