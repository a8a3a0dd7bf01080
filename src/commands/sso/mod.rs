//! `gatehouse sso show APP [--reveal] [--json]`: what an app needs to log its users in with
//! authentik, read from authentik and the app's credentials folder. It writes nothing.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::Settings;
use crate::edge::sso::SsoDir;
use crate::exit;
use crate::model::authentik::OAuth2Provider;
use crate::reconcile::authentik::sso::issuer;
use crate::reconcile::authentik::{Api, ApiError, Client};

/// What `sso show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    pub slug: String,
    pub issuer: String,
    pub discovery_url: String,
    pub client_id: String,
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    /// The credentials folder and the secret file in it.
    pub folder: String,
    pub secret_file: Option<String>,
    /// `(hidden)` unless `--reveal`; `None` for a public client.
    pub client_secret: Option<String>,
    /// Whether the files hold what authentik holds.
    pub files_current: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(
        "authentik provisioning is off (set GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN)"
    )]
    Off,
    #[error("{0:?} is not an application slug (1 to 50 of a-z, 0-9, '-' and '_')")]
    BadSlug(String),
    #[error("authentik has no single sign-on provider of gatehouse's for application {0} (is auth.oidc=true on its container, and has gatehouse run since?)")]
    NotFound(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ShowError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Off | Self::BadSlug(_) => exit::USAGE,
            Self::NotFound(_) => exit::FAILED,
            Self::Api(_) => exit::UNAVAILABLE,
        }
    }
}

/// Reads what `sso show` prints (GET requests and file reads only).
pub async fn show(settings: &Settings, app: &str, reveal: bool) -> Result<Shown, ShowError> {
    let ak = settings.authentik.as_ref().ok_or(ShowError::Off)?;
    crate::labels::authentik::slug(app).map_err(|_| ShowError::BadSlug(app.to_owned()))?;
    let client = Client::new(&ak.url, &ak.token)?;
    let providers = client.oauth2_providers().await?;
    let find = |slug: &str| -> Option<OAuth2Provider> {
        providers
            .iter()
            .find(|p| ak.instance.oauth2_slug(p) == Some(slug))
            .cloned()
    };
    let with_forward_auth = format!("{app}-oidc");
    let (slug, p) = match find(app) {
        Some(p) => (app.to_owned(), p),
        None => match find(&with_forward_auth) {
            Some(p) => (with_forward_auth, p),
            None => return Err(ShowError::NotFound(app.to_owned())),
        },
    };
    let base = settings.issuer_base().unwrap_or_else(|| ak.url.clone());
    let iss = issuer(&base, &slug);
    let dir = SsoDir::new(settings.sso_dir.clone());
    let public = p.client_type.as_deref() == Some("public");
    let on_disk_secret = dir.read(&slug, "client_secret");
    let files_current = dir.read(&slug, "client_id").as_deref() == Some(p.client_id.as_str())
        && dir.read(&slug, "issuer").as_deref() == Some(iss.as_str())
        && (public || on_disk_secret.as_deref() == Some(p.client_secret.expose()));
    let folder = dir.folder(&slug);
    Ok(Shown {
        discovery_url: format!("{iss}.well-known/openid-configuration"),
        issuer: iss,
        client_id: p.client_id.clone(),
        client_type: p.client_type.clone().unwrap_or_default(),
        redirect_uris: p
            .redirect_uris
            .entries()
            .into_iter()
            .map(|(regex, u)| if regex { format!("regex:{u}") } else { u })
            .collect(),
        secret_file: (!public).then(|| folder.join("client_secret").display().to_string()),
        folder: folder.display().to_string(),
        client_secret: (!public).then(|| {
            if reveal {
                p.client_secret.expose().to_owned()
            } else {
                "(hidden)".to_owned()
            }
        }),
        files_current,
        slug,
    })
}

/// The human form.
pub fn text(s: &Shown) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "application:   {}", s.slug);
    let _ = writeln!(out, "issuer:        {}", s.issuer);
    let _ = writeln!(out, "discovery URL: {}", s.discovery_url);
    let _ = writeln!(out, "client id:     {} ({})", s.client_id, s.client_type);
    if let Some(secret) = &s.client_secret {
        let _ = writeln!(out, "client secret: {secret}");
    }
    let _ = writeln!(out, "redirect URIs: {}", s.redirect_uris.join(" "));
    let _ = writeln!(
        out,
        "files:         {}{}",
        s.folder,
        if s.files_current {
            ""
        } else {
            " (not written yet, or out of date: gatehouse writes them on its next round)"
        }
    );
    let secret = s.client_secret.as_deref().unwrap_or("");
    let _ = writeln!(
        out,
        "\nEnvironment lines (oidc.env in the folder has them too):"
    );
    let _ = writeln!(out, "  OIDC_CLIENT_ID={}", s.client_id);
    if s.client_secret.is_some() {
        let _ = writeln!(out, "  OIDC_CLIENT_SECRET={secret}");
    }
    let _ = writeln!(out, "  OIDC_ISSUER={}", s.issuer);
    let _ = writeln!(out, "  OIDC_DISCOVERY_URL={}", s.discovery_url);
    if let Some(r) = recipe(&s.slug, s) {
        let _ = writeln!(out, "\n{r}");
    }
    out
}

/// The settings to paste for a well-known app, picked by its slug (the README has them all).
fn recipe(slug: &str, s: &Shown) -> Option<String> {
    let authentik = s.issuer.split("/application/o/").next().unwrap_or_default();
    let name = slug.trim_end_matches("-oidc");
    let lines = match name {
        "grafana" => format!(
            "Grafana (environment; mount the folder at /run/secrets/oidc):\n  GF_AUTH_GENERIC_OAUTH_ENABLED=true\n  GF_AUTH_GENERIC_OAUTH_NAME=authentik\n  GF_AUTH_GENERIC_OAUTH_CLIENT_ID={id}\n  GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET=$__file{{/run/secrets/oidc/client_secret}}\n  GF_AUTH_GENERIC_OAUTH_SCOPES=openid email profile\n  GF_AUTH_GENERIC_OAUTH_AUTH_URL={authentik}/application/o/authorize/\n  GF_AUTH_GENERIC_OAUTH_TOKEN_URL={authentik}/application/o/token/\n  GF_AUTH_GENERIC_OAUTH_API_URL={authentik}/application/o/userinfo/",
            id = s.client_id
        ),
        "mealie" => format!(
            "Mealie (environment):\n  OIDC_AUTH_ENABLED=true\n  OIDC_CONFIGURATION_URL={}\n  OIDC_CLIENT_ID={}\n  OIDC_CLIENT_SECRET=<the secret: gatehouse sso show {slug} --reveal>\n  OIDC_PROVIDER_NAME=authentik",
            s.discovery_url, s.client_id
        ),
        "paperless" | "paperless-ngx" => format!(
            "Paperless-ngx (environment):\n  PAPERLESS_APPS=allauth.socialaccount.providers.openid_connect\n  PAPERLESS_SOCIALACCOUNT_PROVIDERS={{\"openid_connect\":{{\"APPS\":[{{\"provider_id\":\"authentik\",\"name\":\"authentik\",\"client_id\":\"{}\",\"secret\":\"<the secret>\",\"settings\":{{\"server_url\":\"{}\"}}}}]}}}}",
            s.client_id, s.discovery_url
        ),
        _ => return None,
    };
    Some(lines)
}
