//! How a change is put in words, as planned (`would attach swag to network a_default …`, for
//! `gatehouse render`) or as made (`attached swag to network a_default …`, for the log), from one
//! text, so the dry run and the log cannot drift apart (pure).

use std::fmt;

/// Whether a change is announced (dry run) or reported done (log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// `would create …`
    Planned,
    /// `created …`
    Done,
}

impl Tense {
    /// The verb in this tense: `would <base>` or `<past>`.
    pub(crate) fn verb<'a>(self, base: &'a str, past: &'a str) -> Verb<'a> {
        Verb {
            tense: self,
            base,
            past,
        }
    }
}

/// A verb in a tense, written by its `Display`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verb<'a> {
    tense: Tense,
    base: &'a str,
    past: &'a str,
}

impl fmt::Display for Verb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tense {
            Tense::Planned => write!(f, "would {}", self.base),
            Tense::Done => f.write_str(self.past),
        }
    }
}

/// A change that can be put in words.
pub(crate) trait Describe {
    /// Writes the sentence for this change, starting with its verb in `tense`.
    fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// The sentence as a `Display`: `change.said(Tense::Planned).to_string()`.
    fn said(&self, tense: Tense) -> Said<'_, Self> {
        Said { what: self, tense }
    }
}

/// A change with its tense, ready to print.
#[derive(Debug)]
pub(crate) struct Said<'a, T: ?Sized> {
    what: &'a T,
    tense: Tense,
}

impl<T: Describe + ?Sized> fmt::Display for Said<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.what.describe(self.tense, f)
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn list<T: fmt::Display>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [only] => only.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!("{} and {last}", init.join(", "))
        }
    }
}

/// Like [`list`], but names at most `max` items, then how many more: `a, b and 498 more`. A
/// printout of 500 names on one line helps nobody.
pub(crate) fn list_at_most<T: fmt::Display>(items: &[T], max: usize) -> String {
    if items.len() <= max {
        return list(items);
    }
    let shown: Vec<String> = items[..max].iter().map(ToString::to_string).collect();
    format!("{} and {} more", shown.join(", "), items.len() - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hello;

    impl Describe for Hello {
        fn describe(&self, tense: Tense, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} hello", tense.verb("say", "said"))
        }
    }

    #[test]
    fn the_tense_picks_the_verb_form() {
        assert_eq!(Hello.said(Tense::Planned).to_string(), "would say hello");
        assert_eq!(Hello.said(Tense::Done).to_string(), "said hello");
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list::<&str>(&[]), "");
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b"]), "a and b");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn long_lists_name_the_first_few_and_count_the_rest() {
        assert_eq!(list_at_most(&["a", "b", "c"], 3), "a, b and c");
        assert_eq!(list_at_most(&["a", "b", "c", "d"], 2), "a, b and 2 more");
        let many: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
        let text = list_at_most(&many, 10);
        assert!(text.ends_with("c8, c9 and 490 more"), "{text}");
    }
}
