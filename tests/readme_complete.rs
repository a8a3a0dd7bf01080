//! README.md stays true: every environment variable gatehouse reads and every label it accepts
//! is documented there (in a table row or a code span), so a user never meets an undocumented
//! setting in a log line. The variables come from config's one table, with their defaults.

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

/// The README table row documenting `name`: the line starting with `|` that names it first.
fn row(name: &str) -> Option<&'static str> {
    let span = format!("`{name}`");
    README
        .lines()
        .filter(|l| l.starts_with('|'))
        .find(|l| l.split('|').nth(1).is_some_and(|cell| cell.contains(&span)))
}

#[test]
fn every_default_is_the_one_in_the_readme() {
    let mut wrong = Vec::new();
    for var in gatehouse::config::VARS {
        let Some(default) = var.default else { continue };
        match row(var.name) {
            Some(line) if line.contains(&format!("`{default}`")) => {}
            Some(line) => wrong.push(format!("{}: default `{default}` not in {line}", var.name)),
            None => wrong.push(format!("{}: no table row", var.name)),
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md disagrees:\n{}",
        wrong.join("\n")
    );
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
