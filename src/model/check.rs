//! One finding of `gatehouse check` (the doctor), as plain data: what was checked, how it
//! came out, what was found and what to do about it. The `check` command prints them one per
//! line; the status page (`/` and `/api/status`) shows the latest ones with green/red marks.

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckLevel {
    /// As it should be.
    Ok,
    /// Works, but something the user should know or fix before it bites.
    Warn,
    /// Broken: something will not work until it is fixed.
    Fail,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A short stable name, e.g. `docker.engine`, `swag.autoreload`, `authentik.token`.
    pub name: String,
    pub level: CheckLevel,
    /// What was found, in one sentence (never a secret).
    pub found: String,
    /// What to do about it, when it is not ok.
    pub fix: Option<String>,
}
