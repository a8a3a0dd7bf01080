//! `admin create` against authentik: each step checks first and acts only when still needed.

use std::fmt;

use super::{AdminError, CreateArgs, AKADMIN, SERVICE_ACCOUNT, SERVICE_GROUP};
use crate::edge::authentik::Client;
use crate::model::authentik::{GroupCreate, SuperGroup, User, UserCreate};

/// The admins group authentik's blueprints make (preferred among the superuser groups).
const ADMINS: &str = "authentik Admins";

/// What the command did, what is left, and what is shown once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub done: Vec<String>,
    pub left: Vec<String>,
    /// Link, password or token: printed once, never logged.
    pub shown_once: Vec<String>,
    /// `--deactivate-akadmin` was asked and akadmin is still active (not safe yet).
    pub refused: bool,
}

impl Created {
    /// Nothing is left to do.
    pub fn complete(&self) -> bool {
        self.left.is_empty()
    }

    /// `left` with a refusal of what was asked.
    fn refuse(&mut self, why: String) {
        self.left.push(why);
        self.refused = true;
    }
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.done {
            writeln!(f, "done: {d}")?;
        }
        for s in &self.shown_once {
            writeln!(f, "\n{s}\n")?;
        }
        for l in &self.left {
            writeln!(f, "left: {l}")?;
        }
        if self.left.is_empty() {
            writeln!(f, "nothing is left to do")?;
        }
        Ok(())
    }
}

/// Runs the command; `fill` gives random bytes (for a generated password).
pub async fn create(
    client: &Client,
    args: &CreateArgs,
    fill: &mut dyn FnMut(&mut [u8]),
) -> Result<Created, AdminError> {
    let mut out = Created::default();
    let (user, made) = user(client, args, &mut out).await?;
    membership(client, &user, &mut out).await?;
    if made {
        credential(client, &user, fill, &mut out).await?;
    }
    let factor = client
        .devices_of(user.pk)
        .await?
        .iter()
        .any(|d| d.confirmed);
    if factor {
        out.done
            .push(format!("{} has a confirmed second factor", user.username));
    }
    let Some(akadmin) = client.user_named(AKADMIN).await?.filter(|u| u.is_active) else {
        out.done
            .push(format!("{AKADMIN} is not active (nothing to deactivate)"));
        return Ok(out);
    };
    if !args.deactivate_akadmin {
        out.left.push(format!(
            "{AKADMIN} is still active: once {} has signed in with a second factor, run this again with --deactivate-akadmin",
            user.username
        ));
        return Ok(out);
    }
    deactivate(client, &user, &akadmin, factor, &mut out).await?;
    Ok(out)
}

/// The user, made when missing; whether it was made now.
async fn user(
    client: &Client,
    args: &CreateArgs,
    out: &mut Created,
) -> Result<(User, bool), AdminError> {
    if let Some(u) = client.user_named(&args.username).await? {
        out.done.push(format!(
            "user {} exists already (pk {}); not changed",
            u.username, u.pk
        ));
        return Ok((u, false));
    }
    let u = client
        .create_user(&UserCreate {
            username: args.username.clone(),
            name: args.username.clone(),
            email: args.email.clone(),
            is_active: true,
            path: "users".into(),
            kind: "internal".into(),
        })
        .await?;
    tracing::info!(user = %u.username, "created authentik user {}", u.username);
    out.done
        .push(format!("created user {} <{}>", u.username, args.email));
    Ok((u, true))
}

/// The superuser group a personal admin joins: `authentik Admins` when it is one, else the
/// first superuser group by name.
fn admins_group(groups: &[SuperGroup]) -> Option<&SuperGroup> {
    let supers = || groups.iter().filter(|g| g.is_superuser);
    supers()
        .find(|g| g.name == ADMINS)
        .or_else(|| supers().find(|g| g.name != SERVICE_GROUP))
}

async fn membership(client: &Client, user: &User, out: &mut Created) -> Result<(), AdminError> {
    let groups = client.superuser_groups().await?;
    let group = admins_group(&groups).ok_or(AdminError::NoAdminsGroup)?;
    if user.groups.contains(&group.pk) {
        out.done.push(format!(
            "{} is a member of {} already",
            user.username, group.name
        ));
        return Ok(());
    }
    client.add_to_group(&group.pk, user.pk).await?;
    tracing::info!(user = %user.username, group = %group.name, "added authentik user to the admins group");
    out.done
        .push(format!("added {} to group {}", user.username, group.name));
    Ok(())
}

/// A recovery link when the default brand has a recovery flow, else a generated password.
async fn credential(
    client: &Client,
    user: &User,
    fill: &mut dyn FnMut(&mut [u8]),
    out: &mut Created,
) -> Result<(), AdminError> {
    let brands = client.brands().await?;
    let recovery = brands
        .iter()
        .find(|b| b.default)
        .or(brands.first())
        .and_then(|b| b.flow_recovery.clone());
    if recovery.is_some() {
        let link = client.recovery_link(user.pk).await?;
        out.done.push(format!(
            "made a one-time recovery link for {}",
            user.username
        ));
        out.shown_once.push(format!(
            "One-time link for {} (shown once; it sets the password, and with GATEHOUSE_MFA on the first sign-in enrols a second factor):\n  {link}",
            user.username
        ));
        return Ok(());
    }
    let password = crate::commands::init::secret(24, fill);
    client.set_password(user.pk, &password).await?;
    out.done.push(format!(
        "set a generated password for {} (authentik's default brand has no recovery flow, so no link can be made)",
        user.username
    ));
    out.shown_once.push(format!(
        "Password for {} (shown once; change it after signing in, under Settings > Password):\n  {password}",
        user.username
    ));
    Ok(())
}

/// Deactivates akadmin when it is safe: the new admin has a factor and gatehouse's token is
/// not akadmin's. Else says what is left (and gives gatehouse a token of its own).
async fn deactivate(
    client: &Client,
    user: &User,
    akadmin: &User,
    factor: bool,
    out: &mut Created,
) -> Result<(), AdminError> {
    if !factor {
        out.refuse(format!(
            "not deactivating {AKADMIN}: {} has no confirmed second factor yet (no lock-out). Sign in as {} (with the link or password above), enrol a TOTP app or passkey, then run this again",
            user.username, user.username
        ));
        return Ok(());
    }
    let owner = client.token_owner().await?;
    if owner.pk == akadmin.pk {
        token_of_its_own(client, out).await?;
        return Ok(());
    }
    client.set_user_active(akadmin.pk, false).await?;
    tracing::info!(user = AKADMIN, "deactivated authentik user {AKADMIN}");
    out.done.push(format!(
        "deactivated {AKADMIN} ({} is an admin with a second factor; gatehouse's token belongs to {})",
        user.username, owner.username
    ));
    Ok(())
}

/// The service account `gatehouse` with a non-expiring token, in its superuser group.
async fn token_of_its_own(client: &Client, out: &mut Created) -> Result<(), AdminError> {
    let why = format!(
        "gatehouse's API token belongs to {AKADMIN} (AUTHENTIK_BOOTSTRAP_TOKEN) and would stop working with it"
    );
    if client.user_named(SERVICE_ACCOUNT).await?.is_some() {
        out.refuse(format!(
            "not deactivating {AKADMIN}: {why}. The service account {SERVICE_ACCOUNT} exists: put its token in .env as GATEHOUSE_AUTHENTIK_TOKEN (authentik: Directory > Tokens and App passwords), docker compose up -d, then run this again"
        ));
        return Ok(());
    }
    let sa = client.create_service_account(SERVICE_ACCOUNT).await?;
    client
        .create_group(&GroupCreate {
            name: SERVICE_GROUP.into(),
            is_superuser: true,
            users: vec![sa.user_pk],
        })
        .await?;
    tracing::info!(user = %sa.username, "created authentik service account {} with a non-expiring token", sa.username);
    out.done.push(format!(
        "created service account {} with a non-expiring API token, member of {SERVICE_GROUP} (superuser: authentik lists every application only to superusers)",
        sa.username
    ));
    out.shown_once.push(format!(
        "gatehouse's own API token (shown once). Put this line in .env, replacing the old one:\n  GATEHOUSE_AUTHENTIK_TOKEN={}",
        sa.token
    ));
    out.refuse(format!(
        "not deactivating {AKADMIN} yet: {why}. Put the token above in .env, run docker compose up -d, then run this again"
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, is_superuser: bool) -> SuperGroup {
        SuperGroup {
            pk: name.into(),
            name: name.into(),
            is_superuser,
            users: Vec::new(),
        }
    }

    #[test]
    fn the_admins_group_is_a_superuser_group() {
        let groups = [
            g("authentik Admins", false),
            g(SERVICE_GROUP, true),
            g("ops", true),
        ];
        assert_eq!(admins_group(&groups).map(|g| g.name.as_str()), Some("ops"));
        let groups = [g("ops", true), g("authentik Admins", true)];
        assert_eq!(
            admins_group(&groups).map(|g| g.name.as_str()),
            Some("authentik Admins")
        );
        assert!(admins_group(&[g(SERVICE_GROUP, true)]).is_none());
    }
}
