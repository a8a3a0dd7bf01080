//! What the status page, `/api/status` and `/metrics` show: plain data the watch loop hands over
//! after each pass ([`Seen`]) and the [`Snapshot`] the [`super::board::Board`] keeps of it. A
//! request reads the latest snapshot; it never asks Docker or authentik anything.
//!
//! Nothing here holds a secret: the settings' token and client secrets never get in, and the
//! error texts are the ones the log shows (which never carry them either).

use serde::Serialize;

use crate::model::check::Check;

/// Everything one request shows, as of the latest pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// gatehouse's version.
    pub version: &'static str,
    pub passes: Passes,
    /// Every published app, by container name.
    pub apps: Vec<AppStatus>,
    /// Every container whose labels are rejected, with the reason and the fix.
    pub rejected: Vec<RejectedStatus>,
    /// The latest checks of `gatehouse check` (empty until they have run).
    pub checks: Vec<Check>,
    pub authentik: AuthentikStatus,
}

/// How the passes go. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Passes {
    /// When this process started.
    pub started_at: u64,
    /// When the watch loop last turned (a pass, or a wait that ended).
    pub loop_turned_at: u64,
    pub last_at: Option<u64>,
    pub last_ok_at: Option<u64>,
    /// Why the latest pass failed (or which changes it could not make); `None` when it went
    /// through.
    pub last_error: Option<String>,
    pub last_duration_ms: Option<u64>,
    /// What woke the loop for the latest pass (`container start web`, `periodic resync`).
    pub last_why: Option<String>,
    pub ok_total: u64,
    pub failed_total: u64,
    /// The resync interval: a watching gatehouse passes at least this often.
    pub resync_secs: u64,
    /// Running containers the latest good pass saw.
    pub containers: usize,
}

/// One published app.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AppStatus {
    pub container: String,
    /// The names nginx serves it under (`web.*`, `app.example.com`).
    pub hosts: Vec<String>,
    /// The same as URLs, when the domain is known (`GATEHOUSE_DOMAIN`): `https://web.example.com`.
    pub links: Vec<String>,
    /// `protected` (authentik in front) or `exposed` (no authentik).
    pub access: &'static str,
    /// Whether the app signs its users in itself with OIDC (`auth.oidc`: an OAuth2 provider in
    /// authentik) rather than behind authentik's outpost (a proxy provider).
    pub oidc: bool,
    /// Where SWAG sends requests: `http://web:8080`.
    pub upstream: String,
    /// The proxy-conf file gatehouse writes for it.
    pub conf_file: String,
    /// The Docker networks the container is on.
    pub networks: Vec<String>,
    /// The authentik objects that guard it (protected apps, when provisioning is on).
    pub authentik: Option<AuthentikObjects>,
    pub last_change: Option<LastChange>,
}

/// The authentik objects of one protected app.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuthentikObjects {
    /// The application's slug (its provider has the same name).
    pub application: String,
    /// The outpost that serves it; `None` for an OIDC app (no outpost in between).
    pub outpost: Option<String>,
}

/// The latest change made for an app, and why the pass that made it ran.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LastChange {
    pub at: u64,
    /// In the log's words: `wrote gatehouse.web.subdomain.conf for container web (…)`.
    pub what: String,
    pub why: String,
}

/// A container whose labels are rejected.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RejectedStatus {
    pub container: String,
    /// What is wrong, in the words of the log's warning.
    pub reason: String,
    /// What to do about it.
    pub fix: String,
    /// Whether the app is still served by the conf from before (bad input never takes down what
    /// works), or only its authentik labels are rejected.
    pub still_served: bool,
}

/// authentik provisioning, as the worker's latest round left it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthentikStatus {
    /// Provisioning is configured (`GATEHOUSE_AUTHENTIK_URL` and `_TOKEN`).
    pub enabled: bool,
    /// Whether the latest round reached authentik; `None` before the first round.
    pub reachable: Option<bool>,
    /// authentik's version (`2026.5`), once a round has read it.
    pub version: Option<String>,
    pub last_round_at: Option<u64>,
    /// Why the latest round failed.
    pub error: Option<String>,
    /// How many problems the latest round reported (rejected labels, conflicts, refusals).
    pub problems: usize,
}

/// What the watch loop hands over after a pass that went through: the apps and rejected
/// containers it saw, and the changes it made (container, sentence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub apps: Vec<AppStatus>,
    pub rejected: Vec<RejectedStatus>,
    pub changes: Vec<(String, String)>,
    pub containers: usize,
}

/// The fix for rejected labels: every reason names the label and the rule it breaks.
pub(crate) const LABEL_FIX: &str = "change the labels named above so they follow the rule, then recreate the container (docker compose up -d): labels change only when a container is created";

/// The fix for a rejection whose reason says what to do.
pub(crate) const OTHER_FIX: &str = "do what the reason above says; the next pass (on the container's next event, or at the periodic resync) publishes the app";

/// The fix for authentik labels rejected on an app that is still served (protected).
pub(crate) const AUTHENTIK_LABEL_FIX: &str = "change the authentik labels named above so they follow the rule, then recreate the container; until then its conf is written (protected) and its authentik objects stay as they are";
