//! Log lines as the user reads them: every secret gatehouse holds is replaced by `[redacted]`,
//! credentials in URLs are hidden, and control characters are escaped, so that neither a value
//! from a label, a file name, nor a server's answer can forge a line, move the cursor, or carry
//! the API token into a log.
//!
//! [`CleanLogs`] wraps the writer tracing formats into: each event is gathered whole, cleaned by
//! [`Redactor::clean`], and written in one call.

use std::io::{self, Write};
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, Settings};

/// What stands in a log line instead of a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for: they would blank out ordinary words.
const SHORTEST_SECRET: usize = 6;

/// Knows the secrets to hide, and cleans text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
    /// Keep the colour codes tracing writes itself to a terminal.
    ansi: bool,
}

impl Redactor {
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>, ansi: bool) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= SHORTEST_SECRET)
            .collect();
        // The longest first, so a secret containing another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets, ansi }
    }

    /// One formatted event, cleaned: secrets (as they are and as JSON escapes them) replaced,
    /// URL credentials hidden, control characters escaped except the line's final newline.
    pub(crate) fn clean(&self, line: &str) -> String {
        let mut text = line.to_owned();
        for s in &self.secrets {
            text = text.replace(s.as_str(), REDACTED);
            if let Ok(quoted) = serde_json::to_string(s) {
                let escaped = &quoted[1..quoted.len() - 1];
                if escaped != s {
                    text = text.replace(escaped, REDACTED);
                }
            }
        }
        let text = hide_url_credentials(&text);
        escape_controls(&text, self.ansi)
    }
}

/// `scheme://user:password@host` → `scheme://[redacted]@host`, wherever it stands in `text`.
pub(crate) fn hide_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str(REDACTED);
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Escapes every control character (`\n`, `\r`, ESC, bidi and zero-width marks, …) as
/// `\u{…}`, except one final newline; with `ansi`, SGR colour sequences (`ESC [ … m`) stay.
pub(crate) fn escape_controls(text: &str, ansi: bool) -> String {
    let (body, newline) = match text.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (text, ""),
    };
    let mut out = String::with_capacity(body.len() + 1);
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\u{1b}' && ansi {
            if let Some(len) = sgr_len(&body[i..]) {
                out.push_str(&body[i..i + len]);
                while chars.peek().is_some_and(|(j, _)| *j < i + len) {
                    chars.next();
                }
                continue;
            }
        }
        if is_forging(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out.push_str(newline);
    out
}

/// Characters that could forge a line or change how it reads: C0/C1 controls, line and
/// paragraph separators, bidi controls and invisible format characters.
fn is_forging(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{e0000}'..='\u{e007f}')
}

/// The length of an SGR sequence (`ESC [ digits/; m`) at the start of `s`.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\u{1b}[")?;
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// A [`MakeWriter`] that cleans each event before it reaches `W`.
#[derive(Clone)]
pub(crate) struct CleanLogs<M> {
    inner: M,
    redactor: Arc<Redactor>,
}

impl<M> CleanLogs<M> {
    pub(crate) fn new(inner: M, redactor: Redactor) -> Self {
        Self {
            inner,
            redactor: Arc::new(redactor),
        }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for CleanLogs<M> {
    type Writer = EventWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            inner: self.inner.make_writer(),
            redactor: Arc::clone(&self.redactor),
            buf: Vec::new(),
        }
    }
}

/// Gathers one event and writes it cleaned when dropped.
pub(crate) struct EventWriter<W: Write> {
    inner: W,
    redactor: Arc<Redactor>,
    buf: Vec<u8>,
}

impl<W: Write> Write for EventWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for EventWriter<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let clean = self.redactor.clean(&String::from_utf8_lossy(&self.buf));
        // Nowhere to report a failing log writer: the line is lost, as with stderr itself.
        let _ = self.inner.write_all(clean.as_bytes());
        let _ = self.inner.flush();
    }
}

/// The secrets this process holds, to be kept out of its logs.
fn secrets(settings: &Settings) -> Vec<String> {
    settings.authentik.iter().map(|a| a.token.clone()).collect()
}

/// Sets up the process's logging: the level filter and format from the settings, every line
/// cleaned on its way to stderr.
pub fn init(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let writer = CleanLogs::new(std::io::stderr, Redactor::new(secrets(settings), ansi));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false);
    match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.event_format(SpanFieldsLast).init(),
    }
}

/// The text log line: time, level, message and fields, then the fields of the spans it is in
/// (`host=… container=… app=…`), so the message keeps its place right after the level.
struct SpanFieldsLast;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for SpanFieldsLast
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use tracing_subscriber::fmt::time::FormatTime as _;
        use tracing_subscriber::fmt::FormatFields as _;
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut writer)?;
        write!(writer, " {:>5} ", event.metadata().level())?;
        ctx.format_fields(writer.by_ref(), event)?;
        for span in ctx.event_scope().into_iter().flat_map(|s| s.from_root()) {
            let extensions = span.extensions();
            let fields = extensions.get::<tracing_subscriber::fmt::FormattedFields<N>>();
            if let Some(f) = fields.filter(|f| !f.is_empty()) {
                write!(writer, " {f}")?;
            }
        }
        writeln!(writer)
    }
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
