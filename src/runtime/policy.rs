//! What a round asks for next, and the one error policy that turns a failure into that: a
//! transient error (the engine or authentik unreachable, a timeout, a 5xx) is retried with
//! backoff; a permanent one (a refusal that will not change by itself) waits for a change.

use std::time::Duration;

use super::backoff::Backoff;
use crate::model::problem::Problem;

/// What to do after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Run again after this long (a retry, or a removal falling due).
    Requeue(Duration),
    /// Nothing is due: run again when something changes (an event, a resync).
    AwaitChange,
}

impl Action {
    /// The delay to wait, if any.
    pub(crate) fn delay(self) -> Option<Duration> {
        match self {
            Self::Requeue(d) => Some(d),
            Self::AwaitChange => None,
        }
    }
}

/// Whether an error may go away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    Transient,
    Permanent,
}

/// An error a round can end with.
pub(crate) trait Classify {
    fn persistence(&self) -> Persistence;
    /// A short name for logs and metrics.
    fn label(&self) -> &'static str;
}

/// What one round of any kind (confs, networks, authentik) ends with.
#[derive(Debug, Clone)]
pub(crate) struct Outcome<R> {
    pub(crate) report: R,
    pub(crate) problems: Vec<Problem>,
    pub(crate) action: Action,
}

/// The error policy, with the backoff it keeps between failures.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPolicy {
    backoff: Backoff,
    failing: bool,
}

impl ErrorPolicy {
    pub(crate) const fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            failing: false,
        }
    }

    /// After a round that failed with `e`.
    pub(crate) fn on_error(&mut self, e: &impl Classify) -> Action {
        self.failing = true;
        match e.persistence() {
            Persistence::Transient => Action::Requeue(self.backoff.step()),
            Persistence::Permanent => Action::AwaitChange,
        }
    }

    /// After a round that succeeded; `next_due` is when something it holds falls due. Returns
    /// the action, and whether this success ends a run of failures (to say it recovered).
    pub(crate) fn on_success(&mut self, next_due: Option<Duration>) -> (Action, bool) {
        self.backoff.reset();
        let recovered = std::mem::take(&mut self.failing);
        (
            next_due.map_or(Action::AwaitChange, Action::Requeue),
            recovered,
        )
    }

    /// Whether the last round failed.
    pub(crate) fn failing(&self) -> bool {
        self.failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E(Persistence);
    impl Classify for E {
        fn persistence(&self) -> Persistence {
            self.0
        }
        fn label(&self) -> &'static str {
            "test"
        }
    }

    #[test]
    fn transient_errors_back_off_permanent_ones_wait_success_resets() {
        let ms = Duration::from_millis;
        let mut p = ErrorPolicy::new(Backoff::new(ms(100), ms(400)));
        let t = E(Persistence::Transient);
        assert_eq!(p.on_error(&t), Action::Requeue(ms(100)));
        assert_eq!(p.on_error(&t), Action::Requeue(ms(200)));
        assert_eq!(p.on_error(&E(Persistence::Permanent)), Action::AwaitChange);
        assert!(p.failing());
        assert_eq!(p.on_success(None), (Action::AwaitChange, true));
        assert_eq!(p.on_success(Some(ms(7))), (Action::Requeue(ms(7)), false));
        assert_eq!(p.on_error(&t), Action::Requeue(ms(100)));
    }
}
