//! The conf loop's side of authentik provisioning: hand each pass's desired state to the
//! worker (`run`), run one round inline (`run --once`), or preview it (`render`). The worker
//! and the round itself are in [`super::authentik`].

use std::sync::Arc;
use std::time::Duration;

use super::{authentik, Mode, PassReport, Reconciler};
use crate::render::dryrun::AuthentikPreview;
use crate::runtime::backoff::Backoff;

/// How often `run --once` retries a round that failed for a reason that may pass.
const ONCE_RETRIES: usize = 3;

/// Says at start which marks this gatehouse owns in authentik.
pub(super) fn log_instance(i: &authentik::Instance) {
    let (publisher, provider) = (i.publisher(), i.provider_name("<slug>"));
    match i.name() {
        None => tracing::info!(
            instance = "",
            "authentik objects are marked as {i}'s: meta_publisher {publisher:?}, providers named {provider} (no GATEHOUSE_INSTANCE; only one such gatehouse may run per authentik)"
        ),
        Some(n) => tracing::info!(
            instance = n,
            "authentik objects are marked as {i}'s: meta_publisher {publisher:?}, providers named {provider}; objects of other instances are left alone"
        ),
    }
}

impl Reconciler {
    /// Moves authentik provisioning to its own task, fed the desired state after every pass, so
    /// the conf loop never waits on authentik.
    pub(super) fn start_authentik_worker(&mut self) -> Option<authentik::WorkerHandle> {
        let prov = self.authentik.take()?;
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(authentik::Desired::default()));
        self.authentik_tx = Some(tx);
        let grace = self.ctx.settings.remove_grace;
        Some(authentik::spawn_worker(prov, rx, grace))
    }

    /// After the confs are applied: hand authentik's desired state to the worker (watch), or run
    /// one round inline (once). Protected confs already carry the includes either way.
    pub(super) async fn authentik_step(
        &mut self,
        desired: authentik::Desired,
        report: &mut PassReport,
        mode: Mode,
    ) {
        report.authentik_rejected = desired.rejected.len();
        match mode {
            Mode::Watch => {
                if let Some(tx) = &self.authentik_tx {
                    tx.send_replace(Arc::new(desired));
                }
            }
            Mode::Once => self.authentik_once(&desired, report).await,
        }
    }

    /// One round now, retried a few times while the failure may pass.
    async fn authentik_once(&mut self, desired: &authentik::Desired, report: &mut PassReport) {
        let Some(prov) = self.authentik.as_mut() else {
            return;
        };
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let mut result = prov.sync(desired, Duration::ZERO).await;
        for _ in 0..ONCE_RETRIES {
            match &result {
                Err(e) if e.is_transient() => {
                    let delay = backoff.step();
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "authentik round failed; retrying");
                    tokio::time::sleep(delay).await;
                    result = prov.sync(desired, Duration::ZERO).await;
                }
                _ => break,
            }
        }
        match &result {
            Err(e) => {
                report.failed += 1;
                tracing::error!(error = %e, "authentik provisioning failed; the proxy-confs are written and keep their authentik includes");
            }
            Ok(r) => report.failed += r.failed,
        }
        report.authentik = Some(result.map_err(|e| e.to_string()));
    }

    /// What authentik provisioning would do, read (GET requests only) and planned, nothing
    /// sent: one attempt, no retries, so the dry run does not hang on an absent authentik.
    /// Also how many protected apps' authentik labels are rejected.
    pub(super) async fn preview_authentik(
        &mut self,
        desired: Option<authentik::Desired>,
    ) -> (AuthentikPreview, usize) {
        let (Some(settings), Some(desired)) = (&self.ctx.settings.authentik, desired) else {
            return (AuthentikPreview::Off, 0);
        };
        let rejected = desired.rejected.len();
        let url = settings.url.clone();
        let Some(prov) = self.authentik.as_mut() else {
            let why = self.authentik_broken.clone().unwrap_or_default();
            return (AuthentikPreview::NoClient(why), rejected);
        };
        let preview = match prov.preview(&desired).await {
            Ok(preview) => AuthentikPreview::Planned { url, preview },
            Err(e) => {
                tracing::warn!(error = %e, "authentik did not answer; the dry run cannot show what would change there");
                AuthentikPreview::Unreachable {
                    url,
                    error: e.to_string(),
                    desired,
                }
            }
        };
        (preview, rejected)
    }
}

/// The provisioner with this host's outpost: its own in remote mode (and the keeper of its
/// container); in embedded mode, a named instance's keeper removes what remote mode left.
pub(super) fn with_outpost(
    p: authentik::Provisioner,
    ctx: &super::Context,
    a: &crate::config::AuthentikSettings,
) -> authentik::Provisioner {
    use crate::config::OutpostMode;
    let s = &ctx.settings;
    let own = match &s.outpost {
        OutpostMode::Remote(r) => Some(crate::plan::authentik::remote::OwnOutpost::new(
            &a.url,
            r.host_browser.as_deref(),
        )),
        OutpostMode::Embedded => None,
    };
    let keeper = super::outpost::OutpostKeeper::new(
        ctx.engines.local().clone(),
        a.instance.name(),
        &s.outpost,
        &a.url,
        &s.swag_container,
    );
    if own.is_some() {
        tracing::info!(instance = ?a.instance.name(), "GATEHOUSE_OUTPOST=remote: this host's apps go to its own authentik outpost, run by gatehouse as a container");
    }
    p.with_outpost(own, keeper)
}
