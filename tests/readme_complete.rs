//! README.md stays true: every environment variable gatehouse reads and every label it accepts
//! is documented there (in a table row or a code span), so a user never meets an undocumented
//! setting in a log line. The variables come from config's one table, with their defaults; the
//! exit codes from `gatehouse::EXIT_CODES`, the table the binary's codes are named in
//! (tests/cli.rs checks the binary returns them).

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

/// The command table's row for `command` (`run`, `run --once`, ...): the row whose first cell is
/// `` `gatehouse <command>` `` (or starts with it, followed by its options).
fn command_row(command: &str) -> Option<&'static str> {
    let exact = format!("`gatehouse {command}`");
    let with_options = format!("`gatehouse {command} [");
    README.lines().filter(|l| l.starts_with('|')).find(|l| {
        l.split('|')
            .nth(1)
            .map(str::trim)
            .is_some_and(|cell| cell == exact || cell.starts_with(&with_options))
    })
}

/// The exit codes a command row names: every code span holding a number in its last cell.
fn codes_named(row: &str) -> std::collections::BTreeSet<u8> {
    let cells: Vec<&str> = row.split('|').collect();
    let last = cells.iter().rev().find(|c| !c.trim().is_empty()).copied();
    last.unwrap_or_default()
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| span.parse().ok())
        .collect()
}

#[test]
fn every_command_row_names_exactly_the_exit_codes_it_can_return() {
    let mut wrong = Vec::new();
    for (command, codes) in gatehouse::EXIT_CODES {
        let want: std::collections::BTreeSet<u8> = codes.iter().copied().collect();
        match command_row(command) {
            Some(row) if codes_named(row) == want => {}
            Some(row) => wrong.push(format!(
                "gatehouse {command}: README names {:?}, the code returns {want:?}",
                codes_named(row)
            )),
            None => wrong.push(format!("gatehouse {command}: no row in the command table")),
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md disagrees:\n{}",
        wrong.join("\n")
    );
}
