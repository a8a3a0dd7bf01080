//! The layout holds by check, not by promise: the pure folders (model, labels, plan, render)
//! import nothing from edge, reconcile or status; no source file is over 600 lines; nothing
//! silences clippy's `too_many_arguments`. Each failure names the file and line.

use std::fs;
use std::path::{Path, PathBuf};

/// The folders whose code must stay pure (no I/O, no engine, no runtime).
const PURE: &[&str] = &["model", "labels", "plan", "render"];
/// What they must not reach.
const FORBIDDEN: &[&str] = &["edge", "reconcile", "status"];
const MAX_LINES: usize = 600;

/// Files allowed over the limit: none.
const OVER_LIMIT_TO_BE_SPLIT: &[&str] = &[];
/// Files allowed to carry the allow: none.
const ALLOW_TO_BE_REMOVED: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/plan/x.rs` as a path relative to the crate, with `/`.
fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The module path of a file under `src/` (`src/plan/confs.rs` → `["plan", "confs"]`). A test
/// file (`tests.rs`, `x_tests.rs`) is the `tests` module inside its sibling.
fn module_path(rel: &str) -> Vec<String> {
    let inner = rel.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = inner.split('/').map(str::to_owned).collect();
    let last = parts.pop().unwrap_or_default();
    if last == "tests" {
        parts.push("tests".into());
    } else if let Some(parent) = last.strip_suffix("_tests") {
        parts.push(parent.into());
        parts.push("tests".into());
    } else if last != "mod" && last != "lib" {
        parts.push(last);
    }
    parts
}

/// The source with comments blanked out (line structure kept), so docs may name any module.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment under `crate` each occurrence reaches, with its byte offset:
/// `crate::edge::x` gives `edge`; `crate::{edge, plan}` gives both. `super::` chains are resolved
/// against the file's module path.
fn reached_modules(text: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (start, _) in text.match_indices("crate::") {
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `my_crate::`
        }
        out.extend(
            heads(&text[start + "crate::".len()..])
                .into_iter()
                .map(|h| (start, h)),
        );
    }
    let mut at = 0;
    while let Some(i) = text[at..].find("super::") {
        let start = at + i;
        let before = text[..start].chars().next_back();
        let mut rest = &text[start..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        at = start + (text[start..].len() - rest.len());
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if climbs > module.len() {
            continue; // not valid Rust; the compiler says so
        }
        let base = &module[..module.len() - climbs];
        let reached = match base.first() {
            Some(top) => vec![top.clone()],
            None => heads(rest),
        };
        out.extend(reached.into_iter().map(|h| (start, h)));
    }
    out
}

/// The module names at the head of a path (`edge::x` → `edge`; `{edge, plan::y}` → both).
fn heads(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.trim_start().strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let mut depth = 0;
    let mut item_start = true;
    let mut names = Vec::new();
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                names.push(ident(&group[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    names
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

#[test]
fn pure_modules_import_nothing_from_edge_reconcile_or_status() {
    let mut files = Vec::new();
    for dir in PURE {
        rust_files(&root().join("src").join(dir), &mut files);
    }
    assert!(files.len() > 10, "no source found under src/: {files:?}");
    let mut bad = Vec::new();
    for path in &files {
        let rel = relative(path);
        let text = without_comments(&fs::read_to_string(path).unwrap_or_default());
        for (offset, head) in reached_modules(&text, &module_path(&rel)) {
            if FORBIDDEN.contains(&head.as_str()) {
                let line = line_of(&text, offset);
                let source = text.lines().nth(line - 1).unwrap_or_default().trim();
                bad.push(format!("{rel}:{line}: reaches crate::{head}: {source}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "pure modules (model, labels, plan, render) must not use edge, reconcile or status:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let over: Vec<String> = files
        .iter()
        .map(|p| (relative(p), fs::read_to_string(p).unwrap_or_default()))
        .filter(|(rel, _)| !OVER_LIMIT_TO_BE_SPLIT.contains(&rel.as_str()))
        .map(|(rel, text)| (rel, text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(rel, n)| format!("{rel}:{}: {n} lines (at most {MAX_LINES})", MAX_LINES + 1))
        .collect();
    assert!(over.is_empty(), "split these files:\n{}", over.join("\n"));
}

#[test]
fn nothing_allows_too_many_arguments() {
    let needle = ["too_many", "_arguments"].concat();
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut bad = Vec::new();
    for path in &files {
        let rel = relative(path);
        if rel == "tests/layout.rs" || ALLOW_TO_BE_REMOVED.contains(&rel.as_str()) {
            continue;
        }
        let text = fs::read_to_string(path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if line.contains(&needle) {
                bad.push(format!("{rel}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "pass a struct instead of allowing {needle}:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_must() {
    let m = |rel: &str| module_path(rel);
    assert_eq!(m("src/plan/confs.rs"), ["plan", "confs"]);
    assert_eq!(m("src/plan/confs_tests.rs"), ["plan", "confs", "tests"]);
    assert_eq!(m("src/labels/mod.rs"), ["labels"]);
    assert_eq!(m("src/labels/tests.rs"), ["labels", "tests"]);
    let heads_of = |text: &str, rel: &str| -> Vec<String> {
        reached_modules(text, &m(rel))
            .into_iter()
            .map(|(_, h)| h)
            .collect()
    };
    assert_eq!(
        heads_of("use crate::edge::files;", "src/plan/x.rs"),
        ["edge"]
    );
    assert_eq!(
        heads_of("use crate::{model, status::health};", "src/plan/x.rs"),
        ["model", "status"]
    );
    assert_eq!(
        heads_of(
            "use crate::{\n    model::spec,\n    reconcile,\n};",
            "src/plan/x.rs"
        ),
        ["model", "reconcile"]
    );
    assert_eq!(
        heads_of("let x = ::crate_x::y;", "src/plan/x.rs"),
        Vec::<String>::new()
    );
    // super:: climbing out of plan/ lands at the crate root, then on whatever follows
    assert_eq!(
        heads_of("use super::super::edge::x;", "src/plan/authentik/sync.rs"),
        ["plan"]
    );
    assert_eq!(
        heads_of(
            "use super::super::super::edge::x;",
            "src/plan/authentik/sync.rs"
        ),
        ["edge"]
    );
    assert_eq!(
        heads_of(
            "use super::super::super::super::{model, status};",
            "src/plan/authentik/sync_tests.rs"
        ),
        ["model", "status"]
    );
    assert_eq!(
        heads_of("use super::fields;", "src/plan/authentik/sync.rs"),
        ["plan"]
    );
    assert!(without_comments("x // crate::edge").find("edge").is_none());
}
