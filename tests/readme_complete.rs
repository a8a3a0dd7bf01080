//! README.md stays true: every environment variable gatehouse reads and every label it accepts
//! is documented there (in a table row or a code span), so a user never meets an undocumented
//! setting in a log line.

const README: &str = include_str!("../README.md");

fn documented(name: &str) -> bool {
    README.contains(&format!("`{name}`")) || README.contains(&format!("`{name}="))
}

#[test]
fn every_environment_variable_is_in_the_readme() {
    let missing: Vec<&str> = gatehouse::config::KNOWN_VARS
        .iter()
        .copied()
        .filter(|v| !documented(v))
        .collect();
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}

#[test]
fn every_label_is_in_the_readme() {
    let missing: Vec<String> = gatehouse::labels::KNOWN_KEYS
        .iter()
        .map(|k| format!("auth.{k}"))
        .filter(|l| !documented(l))
        .collect();
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}
