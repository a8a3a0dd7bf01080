//! Printable, bounded forms of hostile text (label values and keys, setting values) for log
//! lines: a value never forges a line, hides behind a direction override or floods the log.

/// A printable, bounded form of a hostile value for log lines.
pub fn shown(value: &str) -> String {
    let mut s: String = value
        .chars()
        .take(80)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if value.chars().count() > 80 {
        s.push('…');
    }
    format!("\"{s}\"")
}

/// A label key for a log line: as is when it is plain (ASCII letters, digits and `.-_/:`, 80
/// at most, as every key gatehouse reads is), else quoted and escaped like a value, so a key
/// holding a newline cannot forge a log line and one holding U+202E cannot turn the line around.
pub fn shown_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 80
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/' | b':'));
    if plain {
        key.to_owned()
    } else {
        shown(key)
    }
}
