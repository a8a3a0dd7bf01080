//! A conf from one of SWAG's own samples (a preset): its text kept, with the upstream,
//! `server_name`, bypass locations and authentik lines filled in.

use std::fmt::Write as _;

use super::{
    bypass_locations, header, is_comment_or_blank, label_sets, location_directives,
    sample_set_value, server_names, RenderError, Upstream, AUTHENTIK_LOCATION, AUTHENTIK_SERVER,
    BODY_SIZE,
};
use crate::model::spec::{Access, AppSpec, PresetName};

pub(super) fn render_preset(
    spec: &AppSpec,
    u: &Upstream,
    preset: &PresetName,
    sample: &str,
) -> Result<String, RenderError> {
    check_sample(spec, preset, sample)?;
    let mut r = Rewriter {
        spec,
        u,
        protected: spec.access == Access::Protected,
        // Only the sample's own upstream values are replaced; a location that talks to another
        // upstream (a helper container, a second port) keeps its own.
        old_app: sample_set_value(sample, "upstream_app").map(str::to_owned),
        old_port: sample_set_value(sample, "upstream_port").map(str::to_owned),
        old_proto: sample_set_value(sample, "upstream_proto").map(str::to_owned),
        out: header(spec, &format!("preset:{}", preset.as_str()), u),
        saw_server_name: false,
        bypass_done: false,
        depth: 0,
    };
    for line in sample.lines() {
        r.line(line);
    }
    if !r.saw_server_name {
        return Err(RenderError::PresetWithoutServerName {
            preset: preset.as_str().to_owned(),
        });
    }
    Ok(r.out)
}

/// A sample gatehouse can render: one server block, and for a protected app the two authentik
/// include lines commented out. A sample without them was not written with authentik in mind:
/// refuse rather than guess (fail closed).
fn check_sample(spec: &AppSpec, preset: &PresetName, sample: &str) -> Result<(), RenderError> {
    let name = || preset.as_str().to_owned();
    let commented = |d: &str| sample.lines().any(|l| l.trim() == format!("#{d}"));
    if spec.access == Access::Protected
        && !(commented(AUTHENTIK_SERVER) && commented(AUTHENTIK_LOCATION))
    {
        return Err(RenderError::PresetCannotBeProtected { preset: name() });
    }
    let server_blocks = sample
        .lines()
        .filter(|l| !is_comment_or_blank(l))
        .filter(|l| {
            let t = l.trim();
            t.starts_with("server") && t.trim_start_matches("server").trim() == "{"
        })
        .count();
    if server_blocks != 1 {
        return Err(RenderError::PresetServerBlocks {
            preset: name(),
            count: server_blocks,
        });
    }
    Ok(())
}

/// The sample, line by line, into the conf.
struct Rewriter<'a> {
    spec: &'a AppSpec,
    u: &'a Upstream,
    protected: bool,
    old_app: Option<String>,
    old_port: Option<String>,
    old_proto: Option<String>,
    out: String,
    saw_server_name: bool,
    bypass_done: bool,
    /// Brace depth before the current line (1: inside the server block).
    depth: usize,
}

impl Rewriter<'_> {
    fn line(&mut self, line: &str) {
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        let t = line.trim();
        if self.protected && t == format!("#{AUTHENTIK_SERVER}") {
            let _ = writeln!(self.out, "{indent}{}", &t[1..]);
            return;
        }
        if self.protected && t == format!("#{AUTHENTIK_LOCATION}") {
            // Switched on at the top of every location instead (see `location`).
            let _ = writeln!(
                self.out,
                "{indent}# (authentik-location.conf: included at the top of this location)"
            );
            return;
        }
        if is_comment_or_blank(line) {
            self.copy(line);
            return;
        }
        self.statement(line, &indent, t);
        self.depth = (self.depth + t.matches('{').count()).saturating_sub(t.matches('}').count());
    }

    fn copy(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn statement(&mut self, line: &str, indent: &str, t: &str) {
        let (spec, u) = (self.spec, self.u);
        let top = self.depth == 1;
        if top && t.starts_with("client_max_body_size ") && label_sets(spec, BODY_SIZE) {
            let _ = writeln!(self.out, "{indent}#{t} # replaced by a label");
        } else if t.starts_with("server_name ") && top {
            let _ = writeln!(self.out, "{indent}server_name {};", server_names(spec));
            for d in &spec.server_directives {
                let _ = writeln!(self.out, "{indent}{} # from a label", d.as_str());
            }
            self.saw_server_name = true;
        } else if let Some(l) =
            set_line(t, indent, "upstream_app", &self.old_app, u.address.as_str())
        {
            let _ = writeln!(self.out, "{l}");
        } else if let Some(l) = set_line(
            t,
            indent,
            "upstream_port",
            &self.old_port,
            &u.port.to_string(),
        ) {
            let _ = writeln!(self.out, "{l}");
        } else if let Some(l) = set_line(
            t,
            indent,
            "upstream_proto",
            &self.old_proto,
            u.proto.as_str(),
        ) {
            let _ = writeln!(self.out, "{l}");
        } else if t.starts_with("location ") && t.ends_with('{') && top {
            self.location(line, indent);
        } else {
            self.copy(line);
        }
    }

    /// A top-level location: the bypass locations go before the first one; every one of a
    /// protected app is behind authentik, not only `location /` as SWAG's samples have it (a
    /// preset's API location would otherwise be served without sign-in; paths that must stay
    /// open are named with the bypass label).
    fn location(&mut self, line: &str, indent: &str) {
        if !self.bypass_done {
            bypass_locations(&mut self.out, self.spec, self.u);
            self.bypass_done = true;
        }
        self.copy(line);
        if self.protected {
            let _ = writeln!(self.out, "{indent}    # authentik: every location of a protected app (open paths: bypass label)\n{indent}    {AUTHENTIK_LOCATION}");
        }
        location_directives(&mut self.out, &format!("{indent}    "), self.spec);
    }
}

/// `set $<var> <new>;` in place of the sample's own `set $<var> <old>;` line.
fn set_line(t: &str, indent: &str, var: &str, old: &Option<String>, new: &str) -> Option<String> {
    let rest = t
        .strip_prefix(&format!("set ${var} "))?
        .strip_suffix(';')?
        .trim();
    (Some(rest) == old.as_deref()).then(|| format!("{indent}set ${var} {new};"))
}
