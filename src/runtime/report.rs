//! Report once: a problem that lasts is said when it starts (or changes), not on every pass,
//! and its end is said once. Keyed by the problem's kind and subject, not by matching strings.

use std::collections::BTreeMap;

use crate::model::problem::{Problem, ProblemKind};

/// What changed since the last round, to be said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said<'a> {
    /// New, or its message changed.
    Raised(&'a Problem),
    /// Gone since the last round.
    Cleared(Problem),
}

/// The problems said so far, by kind and subject.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportOnce {
    said: BTreeMap<(ProblemKind, String), Problem>,
}

impl ReportOnce {
    /// Takes this round's problems and returns what to say: each new or changed one, then each
    /// one that is gone, in a stable order.
    pub(crate) fn update<'a>(&mut self, now: &'a [Problem]) -> Vec<Said<'a>> {
        let mut out = Vec::new();
        let mut next = BTreeMap::new();
        for p in now {
            let key = (p.kind, p.subject.clone());
            if self.said.get(&key) != Some(p) {
                out.push(Said::Raised(p));
            }
            next.insert(key, p.clone());
        }
        let old = std::mem::replace(&mut self.said, next);
        for (key, p) in old {
            if !self.said.contains_key(&key) {
                out.push(Said::Cleared(p));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: ProblemKind, subject: &str, message: &str) -> Problem {
        Problem::new(kind, subject, message)
    }

    #[test]
    fn a_lasting_problem_is_said_once_a_changed_one_again_and_its_end_once() {
        let mut r = ReportOnce::default();
        let a = [p(ProblemKind::Rejected, "app", "bad port")];
        assert_eq!(r.update(&a), [Said::Raised(&a[0])]);
        assert!(r.update(&a).is_empty());
        let b = [p(ProblemKind::Rejected, "app", "bad subdomain")];
        assert_eq!(r.update(&b), [Said::Raised(&b[0])]);
        assert_eq!(r.update(&[]), [Said::Cleared(b[0].clone())]);
        assert!(r.update(&[]).is_empty());
    }

    #[test]
    fn kinds_and_subjects_are_kept_apart() {
        let mut r = ReportOnce::default();
        let both = [
            p(ProblemKind::Rejected, "app", "x"),
            p(ProblemKind::Kept, "app", "x"),
            p(ProblemKind::Rejected, "other", "x"),
        ];
        assert_eq!(r.update(&both).len(), 3);
        let one = [both[1].clone()];
        let said = r.update(&one);
        assert_eq!(
            said,
            [
                Said::Cleared(both[0].clone()),
                Said::Cleared(both[2].clone())
            ]
        );
    }
}
