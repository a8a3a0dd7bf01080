//! The fail-closed check on a protected conf's text, whatever template it came from.

use super::{RenderError, AUTHENTIK_LOCATION, AUTHENTIK_SERVER, BYPASS_COMMENT_TAIL};

/// Fails unless the server block includes authentik-server.conf and every location (at any depth,
/// however it is written: one-line, named, nested) includes authentik-location.conf or sits inside
/// a location that does, except the bypass locations the labels asked for (each announced on the
/// line before by gatehouse's `# bypass <path>: served without authentik` comment, which no label
/// value can forge: `#` is outside every label grammar).
pub fn check_protected(text: &str) -> Result<(), RenderError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut c = Checker {
        lines: &lines,
        stack: Vec::new(),
        server_include: false,
        guarded: 0,
        stmt: String::new(),
        stmt_line: 0,
    };
    for (i, line) in lines.iter().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        for ch in code.chars() {
            match ch {
                '{' => c.open_block(),
                ';' => c.end_statement(),
                '}' => c.close_block()?,
                ch => c.push(ch, i),
            }
        }
        c.stmt.push(' ');
    }
    if !c.server_include {
        return Err(RenderError::NotProtected(
            "authentik-server.conf in the server block".into(),
        ));
    }
    if c.guarded == 0 {
        return Err(RenderError::NotProtected(
            "authentik-location.conf in any location".into(),
        ));
    }
    Ok(())
}

struct Frame {
    header: String,
    location: bool,
    bypass: bool,
    included: bool,
    /// Nested locations without their own include: fine only if this one has it.
    unguarded_children: Vec<String>,
}

struct Checker<'a> {
    lines: &'a [&'a str],
    stack: Vec<Frame>,
    server_include: bool,
    /// Locations with their own include.
    guarded: usize,
    /// The statement read so far, and the line it started on.
    stmt: String,
    stmt_line: usize,
}

impl Checker<'_> {
    fn push(&mut self, ch: char, line: usize) {
        if self.stmt.trim().is_empty() && !ch.is_whitespace() {
            self.stmt_line = line;
        }
        self.stmt.push(ch);
    }

    /// Whether the line before `i` is gatehouse's bypass comment.
    fn after_bypass_comment(&self, i: usize) -> bool {
        i > 0 && {
            let prev = self.lines[i - 1].trim();
            prev.starts_with("# bypass ") && prev.ends_with(BYPASS_COMMENT_TAIL)
        }
    }

    fn statement(&mut self) -> String {
        let s = self.stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        self.stmt.clear();
        s
    }

    fn open_block(&mut self) {
        let stmt_line = self.stmt_line;
        let header = self.statement();
        let location = header.starts_with("location ") || header == "location";
        self.stack.push(Frame {
            bypass: location && self.after_bypass_comment(stmt_line),
            location,
            header,
            included: false,
            unguarded_children: Vec::new(),
        });
    }

    fn end_statement(&mut self) {
        let s = self.statement();
        let depth = self.stack.len();
        if let Some(top) = self.stack.last_mut() {
            if s == AUTHENTIK_LOCATION.trim_end_matches(';') && top.location {
                top.included = true;
            }
            if (s == AUTHENTIK_SERVER.trim_end_matches(';')
                || s == super::remote::SERVER_INCLUDE.trim_end_matches(';'))
                && depth == 1
            {
                self.server_include = true;
            }
        }
    }

    /// A location closing without its own include hands itself (and its unguarded children) to
    /// the enclosing location; at the top, that is a location served without sign-in.
    fn close_block(&mut self) -> Result<(), RenderError> {
        self.stmt.clear();
        let Some(f) = self.stack.pop() else {
            return Ok(());
        };
        if !f.location {
            return Ok(());
        }
        if f.included {
            self.guarded += 1;
            return Ok(());
        }
        if f.bypass {
            return Ok(());
        }
        let mut unguarded = f.unguarded_children;
        unguarded.insert(0, f.header);
        match self.stack.iter_mut().rev().find(|p| p.location) {
            Some(parent) => parent.unguarded_children.extend(unguarded),
            None => {
                return Err(RenderError::NotProtected(format!(
                    "authentik-location.conf in `{} {{`",
                    unguarded[0]
                )))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "protection_tests.rs"]
mod tests;
