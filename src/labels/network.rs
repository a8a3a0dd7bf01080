//! The network label (`auth.network`, prefix configurable): which of the app's networks SWAG
//! joins when the app is on several. Read here; the network planner decides what it means.

use super::shown;

/// The label's full name under the configured prefix.
pub(crate) fn key(prefix: &str) -> String {
    format!("{prefix}.network")
}

/// The network named by `value`, or the line saying why it cannot be one.
pub(crate) fn parse<'a>(container: &str, key: &str, value: &'a str) -> Result<&'a str, String> {
    if crate::model::spec::is_network_name(value) {
        Ok(value)
    } else {
        Err(format!(
            "container {container}: label {key}={} is not a Docker network name (letters, digits, '_', '.' and '-', starting with a letter or digit)",
            shown(value)
        ))
    }
}
