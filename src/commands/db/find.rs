//! Which containers make up authentik's stack: its server and worker (by their image) and its
//! PostgreSQL container (in the same compose project, or named by `GATEHOUSE_DB_CONTAINER`).
//! Pure: it chooses among the containers the engine listed.

use std::collections::{BTreeMap, BTreeSet};

/// The compose label naming a container's project (stack).
pub(crate) const PROJECT: &str = "com.docker.compose.project";
/// The compose label naming a container's service.
const SERVICE: &str = "com.docker.compose.service";
/// authentik's image, as published (the Docker Hub mirror too), without registry host or tag.
const AUTHENTIK_IMAGES: &[&str] = &["goauthentik/server"];

/// One container as the engine listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) command: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) running: bool,
}

impl Seen {
    fn project(&self) -> Option<&str> {
        self.labels.get(PROJECT).map(String::as_str)
    }

    /// authentik's server (not its worker): by its compose service, name or command.
    pub(crate) fn is_server(&self) -> bool {
        let service = self.labels.get(SERVICE).map_or("", String::as_str);
        service.contains("server")
            || self.name.contains("server")
            || self.command.trim_end().ends_with("server")
    }
}

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stack {
    pub(crate) db: Seen,
    /// authentik's server and worker containers (servers first).
    pub(crate) authentik: Vec<Seen>,
}

/// Why the stack could not be found: the message says what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    #[error("no container named {0} (GATEHOUSE_DB_CONTAINER)")]
    NoSuchDb(String),
    #[error("no authentik container (image ghcr.io/goauthentik/server) found{0}")]
    NoAuthentik(String),
    #[error("authentik containers of several stacks ({0}): set GATEHOUSE_DB_CONTAINER to the database of the one you mean")]
    SeveralStacks(String),
    #[error("no PostgreSQL container in {0}: set GATEHOUSE_DB_CONTAINER to authentik's database container")]
    NoDb(String),
    #[error(
        "several PostgreSQL containers in {0} ({1}): set GATEHOUSE_DB_CONTAINER to authentik's"
    )]
    SeveralDbs(String, String),
}

/// The image's repository without registry host, tag or digest: `ghcr.io/goauthentik/server:x`
/// gives `goauthentik/server`.
fn repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let name_start = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[name_start..].find(':') {
        Some(i) => &no_digest[..name_start + i],
        None => no_digest,
    };
    match no_tag.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => no_tag,
    }
}

/// The tag of an image reference (`2026.8.3` of `ghcr.io/goauthentik/server:2026.8.3`).
pub(crate) fn tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split_once(':').map(|(_, t)| t)
}

pub(crate) fn is_authentik(c: &Seen) -> bool {
    AUTHENTIK_IMAGES.contains(&repository(&c.image))
}

fn is_postgres(c: &Seen) -> bool {
    repository(&c.image).contains("postgres")
}

fn in_scope(c: &Seen, scope: Option<&(String, String)>) -> bool {
    scope.is_none_or(|(k, v)| c.labels.get(k) == Some(v))
}

fn describe(project: Option<&str>) -> String {
    project.map_or_else(
        || "the containers outside any compose project".to_owned(),
        |p| format!("compose project {p}"),
    )
}

/// Finds the stack among `all`. `db_container` (`GATEHOUSE_DB_CONTAINER`) names the database
/// outright; otherwise the database is the PostgreSQL container in the compose project of
/// authentik's containers (the one named `authentik_container` decides between several).
/// authentik's containers are always those of the database's project (or, for a database
/// outside any project, those outside any), so a restore never stops another stack's.
pub(crate) fn find(
    all: &[Seen],
    scope: Option<&(String, String)>,
    db_container: Option<&str>,
    authentik_container: &str,
) -> Result<Stack, FindError> {
    let visible: Vec<&Seen> = all.iter().filter(|c| in_scope(c, scope)).collect();
    let authentik: Vec<&Seen> = visible
        .iter()
        .copied()
        .filter(|c| is_authentik(c))
        .collect();
    let (db, project) = match db_container {
        Some(wanted) => {
            let db = visible
                .iter()
                .find(|c| c.name == wanted || (wanted.len() >= 12 && c.id.starts_with(wanted)))
                .ok_or_else(|| FindError::NoSuchDb(wanted.to_owned()))?;
            ((*db).clone(), db.project())
        }
        None => {
            let project = authentik_project(&authentik, authentik_container)?;
            (find_db(&visible, project)?, project)
        }
    };
    let mut stack: Vec<Seen> = authentik
        .into_iter()
        .filter(|c| c.project() == project)
        .cloned()
        .collect();
    if stack.is_empty() {
        return Err(FindError::NoAuthentik(
            project
                .map(|p| format!(" in compose project {p}"))
                .unwrap_or_default(),
        ));
    }
    stack.sort_by_key(|c| (!c.is_server(), c.name.clone()));
    Ok(Stack {
        db,
        authentik: stack,
    })
}

/// The compose project authentik runs in.
fn authentik_project<'a>(
    authentik: &[&'a Seen],
    named: &str,
) -> Result<Option<&'a str>, FindError> {
    if let Some(c) = authentik.iter().find(|c| c.name == named) {
        return Ok(c.project());
    }
    let projects: BTreeSet<Option<&str>> = authentik.iter().map(|c| c.project()).collect();
    let mut projects = projects.into_iter();
    match (projects.next(), projects.next()) {
        (None, _) => Err(FindError::NoAuthentik(String::new())),
        (Some(p), None) => Ok(p),
        (Some(a), Some(b)) => {
            let mut names = vec![describe(a), describe(b)];
            names.extend(projects.map(describe));
            Err(FindError::SeveralStacks(names.join(", ")))
        }
    }
}

fn find_db(visible: &[&Seen], project: Option<&str>) -> Result<Seen, FindError> {
    let dbs: Vec<&&Seen> = visible
        .iter()
        .filter(|c| is_postgres(c) && c.project() == project)
        .collect();
    match dbs.as_slice() {
        [] => Err(FindError::NoDb(describe(project))),
        [one] => Ok((**one).clone()),
        several => Err(FindError::SeveralDbs(
            describe(project),
            several
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
