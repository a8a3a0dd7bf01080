//! A lasting condition gatehouse tells the user about: a rejected label, a conflict, something
//! kept instead of removed. Rounds return them as data; the runtime says each once while it
//! lasts ([`crate::runtime::report::ReportOnce`]).

use std::fmt;

/// What kind of condition: it decides the log level and whether its end is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ProblemKind {
    /// A workload's labels are refused.
    Rejected,
    /// Something could not be done as the labels or settings ask.
    Warning,
    /// A request the other side refused.
    Refused,
    /// Something kept that would otherwise change or go (said at info level).
    Kept,
}

impl ProblemKind {
    /// Whether it is a warning (else it is said at info level).
    pub(crate) fn warns(self) -> bool {
        !matches!(self, Self::Kept)
    }
}

/// One condition about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) kind: ProblemKind,
    /// What it is about, stable while the condition lasts (a container, a file, an
    /// application slug), and what tells two problems of one kind apart.
    pub(crate) subject: String,
    /// The sentence the user reads.
    pub(crate) message: String,
    /// What to do about it, when there is a fix to name.
    pub(crate) fix: Option<String>,
}

impl Problem {
    pub(crate) fn new(
        kind: ProblemKind,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            subject: subject.into(),
            message: message.into(),
            fix: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.fix {
            Some(fix) => write!(f, "; {fix}"),
            None => Ok(()),
        }
    }
}
