//! Single sign-on credentials, after each round: each app's client id, secret and issuer
//! written into its folder (from what authentik holds; unchanged files are not touched), the
//! app restarted once when they changed and it asks for it (`auth.oidc.restart`), and the
//! folder of an app whose provider gatehouse deleted emptied.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::edge::docker::Engine;
use crate::edge::sso::{Creds, SsoDir};
use crate::labels::oidc::OidcWant;
use crate::model::authentik::OAuth2Provider;
use crate::model::problem::{Problem, ProblemKind};

/// Where the credentials go, and what restarts apps.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub(crate) dir: SsoDir,
    /// authentik as browsers and apps reach it (`GATEHOUSE_AUTHENTIK_PUBLIC_URL`): the issuer
    /// is `<public_url>/application/o/<slug>/`.
    pub(crate) public_url: String,
    /// `PUID:PGID`: the files' owner when `auth.oidc.owner` is not set.
    pub(crate) default_owner: (u32, u32),
    pub(crate) engine: Option<Arc<dyn Engine>>,
}

/// What one round did to the credentials.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Files written or removed (0 on an unchanged resync).
    pub(crate) writes: usize,
    pub(crate) restarts: usize,
    pub(crate) problems: Vec<Problem>,
}

/// The issuer of an application.
pub(crate) fn issuer(public_url: &str, slug: &str) -> String {
    format!("{}/application/o/{slug}/", public_url.trim_end_matches('/'))
}

impl Credentials {
    pub fn new(dir: SsoDir, public_url: String, default_owner: (u32, u32)) -> Self {
        Self {
            dir,
            public_url,
            default_owner,
            engine: None,
        }
    }

    /// Restarts apps that ask for it through `engine`.
    pub fn with_engine(mut self, engine: Arc<dyn Engine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// What goes into `want`'s folder, from its provider.
    pub(crate) fn creds(&self, want: &OidcWant, p: &OAuth2Provider) -> Creds {
        let public = p.client_type.as_deref() == Some("public");
        Creds {
            client_id: p.client_id.clone(),
            client_secret: (!public && !p.client_secret.is_empty())
                .then(|| p.client_secret.expose().to_owned()),
            issuer: issuer(&self.public_url, want.slug()),
        }
    }

    /// Writes the credentials of every app whose provider authentik holds (`providers`, by
    /// slug), and empties the folders of `removed` apps.
    pub(crate) async fn settle(
        &self,
        oidc: &[OidcWant],
        providers: &BTreeMap<String, OAuth2Provider>,
        removed: &[String],
    ) -> Settled {
        let mut out = Settled::default();
        for want in oidc {
            let Some(p) = providers.get(want.slug()) else {
                continue;
            };
            self.settle_one(want, p, &mut out).await;
        }
        for slug in removed {
            match self.dir.remove(slug) {
                Ok(0) => {}
                Ok(n) => {
                    out.writes += n;
                    tracing::info!(slug = %slug, files = n, "removed the single sign-on credentials of application {slug} from {}: no container asks for it any more", self.dir.folder(slug).display());
                }
                Err(e) => out.problems.push(Problem::new(
                    ProblemKind::Warning,
                    format!("sso:{slug}"),
                    format!(
                        "cannot remove the single sign-on credentials of application {slug}: {e}"
                    ),
                )),
            }
        }
        out
    }

    async fn settle_one(&self, want: &OidcWant, p: &OAuth2Provider, out: &mut Settled) {
        let slug = want.slug();
        let container = &want.app.container;
        let owner = want.owner.unwrap_or(self.default_owner);
        let wrote = match self.dir.write(slug, &self.creds(want, p), owner) {
            Ok(w) => w,
            Err(e) => {
                out.problems.push(Problem::new(
                    ProblemKind::Warning,
                    container,
                    format!(
                        "container {container}: cannot write its single sign-on credentials: {e}"
                    ),
                ));
                return;
            }
        };
        if wrote.changed == 0 {
            return;
        }
        out.writes += wrote.changed;
        let folder = self.dir.folder(slug);
        tracing::info!(container = %container, slug = %slug, files = wrote.changed, "wrote the single sign-on credentials of container {container} to {} (client id {:?}, client secret: (hidden))", folder.display(), p.client_id);
        if wrote.owner_refused {
            tracing::warn!(container = %container, "the single sign-on credentials of container {container} keep gatehouse's user: it does not run as root, so it cannot give them to {}:{}", owner.0, owner.1);
        }
        if !want.restart {
            return;
        }
        let Some(engine) = &self.engine else {
            return;
        };
        match engine.restart_container(&want.container_id).await {
            Ok(()) => {
                out.restarts += 1;
                tracing::info!(container = %container, "restarted container {container} so it reads its new single sign-on credentials (auth.oidc.restart=true)");
            }
            Err(e) => out.problems.push(Problem::new(
                ProblemKind::Warning,
                format!("restart:{container}"),
                format!("container {container}: cannot restart it to read its new single sign-on credentials: {e}"),
            )),
        }
    }
}
