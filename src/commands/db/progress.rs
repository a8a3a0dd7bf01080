//! The progress line of a dump or restore: bytes so far and the rate, rewritten in place at most
//! twice a second, only when stderr is a terminal (never in a log file or a pipe).

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

pub(crate) struct Progress {
    on: bool,
    verb: &'static str,
    started: Instant,
    shown: Option<Instant>,
}

impl Progress {
    /// A progress line saying `verb` (`dumped`, `restored`), shown on a terminal only.
    pub(crate) fn new(verb: &'static str) -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            verb,
            started: Instant::now(),
            shown: None,
        }
    }

    pub(crate) fn update(&mut self, bytes: u64) {
        if !self.on
            || self
                .shown
                .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.shown = Some(Instant::now());
        let _ = write!(std::io::stderr(), "\r{}   ", self.line(bytes));
    }

    /// Ends the line (on a terminal).
    pub(crate) fn finish(&mut self, bytes: u64) {
        if self.on {
            let _ = writeln!(std::io::stderr(), "\r{}   ", self.line(bytes));
        }
    }

    fn line(&self, bytes: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{} {}, {}/s",
            self.verb,
            size(bytes),
            size((bytes as f64 / secs) as u64)
        )
    }
}

/// A size for people: `812 B`, `4.2 MiB`, `1.3 GiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
