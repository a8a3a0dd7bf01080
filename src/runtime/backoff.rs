//! Doubling delays between retries, capped: the one backoff every loop uses (the event stream,
//! a failing pass, the network step, the authentik worker).

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// The first retry waits `first`; each next one twice as long, at most `max`.
    pub(crate) const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The delay before the next retry; the one after is doubled.
    pub(crate) fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next.saturating_mul(2)).min(self.max);
        d
    }

    /// After a success: the next failure waits `first` again.
    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset_to_the_first() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(500), ms(3000));
        let got: Vec<Duration> = (0..5).map(|_| b.step()).collect();
        assert_eq!(got, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
        b.reset();
        assert_eq!(b.step(), ms(500));
    }

    #[test]
    fn a_huge_cap_does_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        for _ in 0..4 {
            b.step();
        }
        assert_eq!(b.step(), Duration::MAX);
    }
}
