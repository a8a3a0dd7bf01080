//! The grace clock: how long something gatehouse made has been unwanted, so that its removal
//! waits out a grace period across passes (a `docker compose up -d` recreate must not flap a
//! conf or an authentik application). One clock serves every planner; each keys it by what it
//! removes (a conf's file name, an application's slug).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// When each unwanted thing was first seen unwanted.
#[derive(Debug, Clone, Default)]
pub struct GraceClock {
    since: BTreeMap<String, Instant>,
}

/// Where one unwanted thing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grace {
    /// Still within the grace period; removal is due in `left`.
    Waiting { left: Duration },
    /// The grace period is over: remove it now.
    Due,
}

impl GraceClock {
    /// How many removals are waiting.
    pub(crate) fn pending(&self) -> usize {
        self.since.len()
    }

    /// Starts `key`'s countdown at `now` unless it runs already, and says where it stands.
    pub(crate) fn tick(&mut self, key: &str, now: Instant, grace: Duration) -> Grace {
        let since = *self.since.entry(key.to_owned()).or_insert(now);
        let waited = now.saturating_duration_since(since);
        if waited >= grace {
            Grace::Due
        } else {
            Grace::Waiting {
                left: grace - waited,
            }
        }
    }

    #[cfg(test)]
    /// Whether `key` is still within its grace period (a countdown not started yet is).
    pub(crate) fn within(&self, key: &str, now: Instant, grace: Duration) -> bool {
        self.since
            .get(key)
            .is_none_or(|since| now.saturating_duration_since(*since) < grace)
    }

    /// Stops `key`'s countdown: it is wanted again, held for another reason, or removed.
    pub(crate) fn forget(&mut self, key: &str) {
        self.since.remove(key);
    }

    /// Keeps only the countdowns of keys for which `keep` says yes.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.since.retain(|k, _| keep(k));
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn sooner(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(30);

    #[test]
    fn a_countdown_starts_at_the_first_tick_and_falls_due_after_the_grace() {
        let t0 = Instant::now();
        let mut c = GraceClock::default();
        assert!(c.within("a", t0, GRACE));
        assert_eq!(c.tick("a", t0, GRACE), Grace::Waiting { left: GRACE });
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(
            c.tick("a", t1, GRACE),
            Grace::Waiting {
                left: Duration::from_secs(20)
            }
        );
        assert!(c.within("a", t1, GRACE));
        assert_eq!(c.tick("a", t0 + GRACE, GRACE), Grace::Due);
        assert!(!c.within("a", t0 + GRACE, GRACE));
        // Due stays due until the caller forgets it.
        assert_eq!(c.pending(), 1);
        c.forget("a");
        assert_eq!(c.pending(), 0);
        assert_eq!(
            c.tick("a", t0 + GRACE, GRACE),
            Grace::Waiting { left: GRACE }
        );
    }

    #[test]
    fn retain_drops_the_countdowns_of_keys_no_longer_unwanted() {
        let t0 = Instant::now();
        let mut c = GraceClock::default();
        c.tick("a", t0, GRACE);
        c.tick("b", t0, GRACE);
        c.retain(|k| k == "b");
        assert_eq!(c.pending(), 1);
        assert!(c.within("a", t0 + GRACE, GRACE), "a's countdown is gone");
        assert!(!c.within("b", t0 + GRACE, GRACE));
    }

    #[test]
    fn sooner_keeps_the_earliest_deadline() {
        let s = Duration::from_secs;
        assert_eq!(sooner(None, s(5)), Some(s(5)));
        assert_eq!(sooner(Some(s(3)), s(5)), Some(s(3)));
        assert_eq!(sooner(Some(s(9)), s(5)), Some(s(5)));
    }
}
