//! The side file written next to each dump (`<dump>.json`): which authentik and which database
//! it came from, so `restore` can refuse a dump from a newer authentik. The dump itself stays a
//! plain `pg_dump -Fc` archive, restorable by hand with `pg_restore`.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a dump holds, beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DumpInfo {
    /// `gatehouse db dump 1`: the side file's own format.
    pub(crate) format: String,
    /// authentik's version when the dump was made (its image's), or `unknown`.
    pub(crate) authentik_version: String,
    /// The database dumped.
    pub(crate) database: String,
    /// Tables in it (schema `public` and any other but PostgreSQL's own).
    pub(crate) tables: u64,
    /// The dump's size in bytes.
    pub(crate) bytes: u64,
    /// When it was made, UTC (`2026-11-30T09:15:40Z`).
    pub(crate) created: String,
    /// The container it was made in.
    pub(crate) container: String,
}

pub(crate) const FORMAT: &str = "gatehouse db dump 1";
/// A version that could not be found out.
pub(crate) const UNKNOWN: &str = "unknown";

/// `<dump>.json`.
pub(crate) fn side_file(dump: &Path) -> PathBuf {
    let mut name = dump.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// An authentik version as numbers (`2026.8.3` → `[2026, 8, 3]`; `2026.8.3-rc1` → `[2026, 8,
/// 3]`); `None` for anything else (`latest`, `unknown`).
fn numbers(version: &str) -> Option<Vec<u64>> {
    let core = version.trim_start_matches('v').split(['-', '+']).next()?;
    let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| p.len() >= 2)
}

/// Whether a version is one `numbers` can compare.
pub(crate) fn is_version(version: &str) -> bool {
    numbers(version).is_some()
}

/// How the dump's authentik version compares with the stack's; `None` when either is unknown.
pub(crate) fn compare(dump: &str, stack: &str) -> Option<Ordering> {
    Some(numbers(dump)?.cmp(&numbers(stack)?))
}

/// Seconds since the epoch as a UTC date and time (`2026-11-30T09:15:40Z`).
pub(crate) fn utc(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86_400);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Days since 1970-01-01 as (year, month, day): Howard Hinnant's civil-from-days.
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The default dump name: `authentik-<version>-<date>.dump`, with `-2`, `-3`... when taken.
pub(crate) fn default_name(
    dir: &Path,
    version: &str,
    secs: u64,
    taken: impl Fn(&Path) -> bool,
) -> PathBuf {
    let date = &utc(secs)[..10];
    let safe: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = format!("authentik-{safe}-{date}");
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{base}.dump")
        } else {
            format!("{base}-{n}.dump")
        };
        let path = dir.join(name);
        if !taken(&path) && !taken(&side_file(&path)) {
            return path;
        }
        n += 1;
    }
}

#[cfg(test)]
#[path = "meta_tests.rs"]
mod tests;
