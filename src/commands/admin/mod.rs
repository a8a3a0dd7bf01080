//! `gatehouse admin create NAME --email E [--deactivate-akadmin]`: a personal admin in authentik
//! instead of the bootstrap `akadmin`, with no clicks.
//!
//! What it does, each step only when still needed (running it again is safe):
//! 1. the user `NAME` (internal, active, with the e-mail);
//! 2. membership in the admins group, found by authentik's `is_superuser` flag (`authentik
//!    Admins` preferred by name only among the superuser groups);
//! 3. for a user it just made: a one-time recovery link where the person sets a password and, with
//!    `GATEHOUSE_MFA` on, enrols a second factor at the first login — when the default brand has a
//!    recovery flow; otherwise a generated password, shown once;
//! 4. with `--deactivate-akadmin`: `akadmin` is deactivated only once `NAME` has a confirmed
//!    authenticator device (no lock-out) and gatehouse's own API token does not belong to
//!    `akadmin` (the bootstrap token does, and dies with it). While it does, a service account
//!    `gatehouse` gets a non-expiring API token (shown once, for `.env`); the account is a member
//!    of the superuser group `gatehouse service account`, because authentik lists every
//!    application only to superusers (`superuser_full_list`), which provisioning needs.
//!
//! The output says what was done and what is left. Secrets (link, password, token) go to
//! standard output only, never to a log line.

mod run;

pub use run::{create, Created};

/// The username of authentik's bootstrap admin.
pub const AKADMIN: &str = "akadmin";
/// The service account gatehouse's own token belongs to.
pub const SERVICE_ACCOUNT: &str = "gatehouse";
/// Its group (superuser: see the module's note).
pub const SERVICE_GROUP: &str = "gatehouse service account";

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    pub username: String,
    pub email: String,
    pub deactivate_akadmin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{what} {value:?} is not valid: {rule}")]
    Invalid {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("authentik provisioning is off: set GATEHOUSE_AUTHENTIK_URL and GATEHOUSE_AUTHENTIK_TOKEN (run it inside the gatehouse container: docker compose exec gatehouse gatehouse admin create …)")]
    NoAuthentik,
    #[error("authentik has no group with \"is superuser\" set: create one (or restore \"authentik Admins\") and run this again")]
    NoAdminsGroup,
    #[error("cannot read random bytes from the OS: {0}")]
    Random(std::io::Error),
    #[error(transparent)]
    Api(#[from] crate::edge::authentik::ApiError),
}

impl AdminError {
    /// The exit code: 64 for a bad argument or setting, 69 when authentik cannot be reached,
    /// 71 for the OS, 1 for anything authentik refused.
    pub fn exit_code(&self) -> u8 {
        use crate::exit;
        match self {
            Self::Invalid { .. } | Self::NoAuthentik => exit::USAGE,
            Self::Api(e) if e.is_transient() => exit::UNAVAILABLE,
            Self::Random(_) => exit::OS,
            Self::NoAdminsGroup | Self::Api(_) => exit::FAILED,
        }
    }
}

/// `gatehouse admin create`: checks the arguments, runs [`create`] against the authentik of
/// `settings`, prints what was done and what is left; the exit code (0: all asked is done; 1:
/// `--deactivate-akadmin` not safe yet, or authentik refused; 64, 69, 71 as [`AdminError`]).
pub fn main(
    settings: &crate::config::Settings,
    username: &str,
    email: &str,
    deactivate: bool,
) -> u8 {
    match main_inner(settings, username, email, deactivate) {
        Ok(created) => {
            print!("{created}");
            if created.refused {
                crate::exit::FAILED
            } else {
                crate::exit::OK
            }
        }
        Err(e) => {
            eprintln!("gatehouse admin create: {e}");
            e.exit_code()
        }
    }
}

fn main_inner(
    settings: &crate::config::Settings,
    username: &str,
    email: &str,
    deactivate: bool,
) -> Result<Created, AdminError> {
    use std::io::Read as _;
    let args = CreateArgs {
        username: valid_username(username)?,
        email: valid_email(email)?,
        deactivate_akadmin: deactivate,
    };
    let a = settings.authentik.as_ref().ok_or(AdminError::NoAuthentik)?;
    let client = crate::edge::authentik::Client::new(&a.url, &a.token)?;
    let mut random = std::fs::File::open("/dev/urandom").map_err(AdminError::Random)?;
    let mut failed = None;
    let mut fill = |buf: &mut [u8]| {
        if let Err(e) = random.read_exact(buf) {
            failed = Some(e);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AdminError::Random)?;
    let created = rt.block_on(create(&client, &args, &mut fill));
    if let Some(e) = failed {
        return Err(AdminError::Random(e));
    }
    created
}

/// authentik usernames as gatehouse makes them: 1 to 150 of letters, digits and `.@+-_`.
pub fn valid_username(raw: &str) -> Result<String, AdminError> {
    let ok = (1..=150).contains(&raw.len())
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'@' | b'+' | b'-' | b'_'));
    if ok && raw != AKADMIN && raw != SERVICE_ACCOUNT {
        Ok(raw.to_owned())
    } else {
        Err(AdminError::Invalid {
            what: "name",
            value: raw.to_owned(),
            rule: "must be 1 to 150 of letters, digits and . @ + - _, and not akadmin or gatehouse",
        })
    }
}

pub fn valid_email(raw: &str) -> Result<String, AdminError> {
    crate::commands::init::valid_email(raw).map_err(|_| AdminError::Invalid {
        what: "email",
        value: raw.to_owned(),
        rule: "must be an address such as you@example.com",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        assert!(valid_username("alice").is_ok());
        assert!(valid_username("alice.smith@home").is_ok());
        for bad in ["", "akadmin", "gatehouse", "a b", "a\nb", "é"] {
            assert!(valid_username(bad).is_err(), "{bad:?}");
        }
        assert!(valid_email("you@example.com").is_ok());
        assert!(valid_email("you").is_err());
    }
}
