//! What `gatehouse check` reads of the engine beyond the container listing: its version, and one
//! container's chosen environment variables and addresses.

use std::collections::BTreeMap;

/// The engine's version (`docker version`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineVersion {
    /// The engine's release, e.g. `27.5.1`.
    pub version: String,
    /// The newest API version it speaks, e.g. `1.47`.
    pub api_version: String,
}

/// One container as `docker inspect` shows it, reduced to what the checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspected {
    /// The name without Docker's leading `/`.
    pub name: String,
    /// The variables asked for that the container sets, as set (the last one wins).
    pub env: BTreeMap<String, String>,
    /// IPv4 address by network name (networks without one are left out).
    pub addresses: BTreeMap<String, String>,
}

impl Inspected {
    /// Keeps the `wanted` variables of `KEY=value` lines.
    pub(crate) fn pick_env<'a>(
        lines: impl IntoIterator<Item = &'a str>,
        wanted: &[&str],
    ) -> BTreeMap<String, String> {
        lines
            .into_iter()
            .filter_map(|line| line.split_once('='))
            .filter(|(k, _)| wanted.contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wanted_variables_are_kept() {
        let env = Inspected::pick_env(
            [
                "PUID=1000",
                "SECRET=hunter2",
                "EMPTY=",
                "NOEQUALS",
                "PUID=1001",
            ],
            &["PUID", "EMPTY", "NOEQUALS"],
        );
        assert_eq!(env.get("PUID").map(String::as_str), Some("1001"));
        assert_eq!(env.get("EMPTY").map(String::as_str), Some(""));
        assert!(!env.contains_key("SECRET"));
        assert!(!env.contains_key("NOEQUALS"));
    }
}
