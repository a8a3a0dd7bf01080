//! The label reader every family shares: one container's labels, the problems found so far,
//! and the generic ways to read a label (one value, a comma-separated list, a boolean).

use super::{shown, shown_key, LabelProblem, LabelRules, KNOWN_KEYS};
use crate::model::workload::Workload;

pub(super) struct Reader<'a> {
    pub(super) c: &'a Workload,
    pub(super) rules: &'a LabelRules,
    pub(super) problems: Vec<LabelProblem>,
    pub(super) warnings: Vec<String>,
    pub(super) wants_protection: bool,
}

impl<'a> Reader<'a> {
    pub(super) fn new(c: &'a Workload, rules: &'a LabelRules) -> Self {
        Self {
            c,
            rules,
            problems: Vec::new(),
            warnings: Vec::new(),
            wants_protection: false,
        }
    }

    pub(super) fn own(&self, key: &str) -> String {
        format!("{}.{key}", self.rules.prefix)
    }

    pub(super) fn has_own(&self, key: &str) -> bool {
        self.c.labels.contains_key(&self.own(key))
    }

    pub(super) fn label(&self, name: &str) -> Option<&'a str> {
        self.c.labels.get(name).map(String::as_str)
    }

    pub(super) fn problem(&mut self, label: &str, value: &str, rule: impl Into<String>) {
        self.problems.push(LabelProblem {
            label: label.to_owned(),
            value: value.to_owned(),
            rule: rule.into(),
        });
    }

    /// Parses a label with `parse`, recording a problem when it fails.
    pub(super) fn get<T>(
        &mut self,
        label: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        let value = self.label(label)?;
        match parse(value) {
            Ok(v) => Some(v),
            Err(rule) => {
                self.problem(label, value, rule);
                None
            }
        }
    }

    pub(super) fn get_list<T: Ord>(
        &mut self,
        label: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Vec<T> {
        let Some(value) = self.label(label) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in value.split(',').map(|s| s.trim_matches(' ')) {
            match parse(item) {
                // Compared once parsed: `app` and `APP` or `app.*` are one name, and nginx warns
                // about a name given twice.
                Ok(v) => {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Err(rule) => {
                    let rule = format!("item {}: {rule}", shown(item));
                    self.problem(label, value, rule);
                }
            }
        }
        out
    }

    pub(super) fn get_bool(&mut self, label: &str) -> Option<bool> {
        self.get(label, parse_bool)
    }

    pub(super) fn unknown_label_warnings(&self) -> Vec<String> {
        let prefix = format!("{}.", self.rules.prefix);
        self.c
            .labels
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(|key| (k, key)))
            .filter(|(_, key)| !KNOWN_KEYS.contains(key))
            .map(|(label, key)| {
                // The key is the user's, not ours: escaped like a value.
                let label = shown_key(label);
                match closest_known_key(key) {
                    Some(known) => format!(
                        "ignores unknown label {label} (did you mean {}.{known}?)",
                        self.rules.prefix
                    ),
                    None => format!("ignores unknown label {label}"),
                }
            })
            .collect()
    }
}

pub(super) fn parse_bool(raw: &str) -> Result<bool, &'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("must be true or false"),
    }
}

/// The known key a typo most likely meant: within two edits.
fn closest_known_key(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
