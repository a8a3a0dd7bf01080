//! An app -> the text of its SWAG proxy-conf (pure, byte-for-byte deterministic).
//!
//! Two sources: a built-in template equivalent to SWAG's `_template.subdomain.conf.sample`, or one
//! of SWAG's own samples (a preset) with the upstream, `server_name` and authentik lines filled in.
//! Every value pasted in comes from a validated type in [`crate::model::spec`]. A protected conf is checked
//! after rendering: unless the server block includes `authentik-server.conf` and `location /`
//! includes `authentik-location.conf`, rendering fails and nothing is written (fail closed).

use std::fmt::Write as _;

use crate::model::spec::{Access, Address, AppSpec, Port, PresetName, Proto};

mod preset;
mod protection;
pub mod remote;

use preset::render_preset;
pub use protection::check_protected;

/// The first line of every conf gatehouse writes. Only files starting with it are ever changed or
/// removed.
pub const MARKER: &str = "## Managed by gatehouse.";

const MARKER_LINE: &str = "## Managed by gatehouse. Do not edit: gatehouse rewrites or removes this file as the container's labels change.";

const AUTHENTIK_SERVER: &str = "include /config/nginx/authentik-server.conf;";
const AUTHENTIK_LOCATION: &str = "include /config/nginx/authentik-location.conf;";
const BYPASS_COMMENT_TAIL: &str = ": served without authentik";

/// Where SWAG connects to, resolved from labels, the container and the preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub(crate) address: Address,
    pub port: Port,
    pub proto: Proto,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("preset {preset} has no commented authentik lines to switch on, so it cannot be protected; remove the preset label to use the built-in template, or publish with expose instead of protect")]
    PresetCannotBeProtected { preset: String },
    #[error(
        "preset {preset} has {count} server blocks; gatehouse renders presets with exactly one"
    )]
    PresetServerBlocks { preset: String, count: usize },
    #[error("preset {preset} has no server_name line")]
    PresetWithoutServerName { preset: String },
    #[error("rendered conf lacks the authentik includes ({0}); refusing to publish a protected app without them")]
    NotProtected(String),
}

/// The file a conf is written to: prefixed so it cannot collide with SWAG's samples or the user's
/// own `<app>.subdomain.conf` files, and ending in `.subdomain.conf` so SWAG loads it.
/// Its length is bounded by [`crate::model::spec::SERVER_NAME_MAX`].
pub(crate) fn conf_file_name(spec: &AppSpec) -> String {
    use crate::model::spec::{CONF_FILE_PREFIX, CONF_FILE_SUFFIX};
    format!(
        "{CONF_FILE_PREFIX}{}{CONF_FILE_SUFFIX}",
        spec.server_names[0].key()
    )
}

/// What the header of a conf gatehouse wrote says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub container: Option<String>,
    pub protected: bool,
}

/// Reads gatehouse's header; `None` when the file does not start with the marker.
pub fn parse_header(text: &str) -> Option<Header> {
    let mut lines = text.lines();
    if !lines.next()?.starts_with(MARKER) {
        return None;
    }
    let mut header = Header {
        container: None,
        protected: false,
    };
    if let Some(meta) = lines.next().and_then(|l| l.strip_prefix("## gatehouse:")) {
        for field in meta.split_whitespace() {
            match field.split_once('=') {
                Some(("container", v)) => header.container = Some(v.to_owned()),
                Some(("access", v)) => header.protected = v == "protected",
                _ => {}
            }
        }
    }
    Some(header)
}

/// Container names come from Docker and follow its grammar; this keeps the header one clean line
/// even if they did not.
fn header_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn header(spec: &AppSpec, template: &str, upstream: &Upstream) -> String {
    format!(
        "{MARKER_LINE}\n## gatehouse: container={} access={} template={}\n# upstream: {}://{}:{}\n",
        header_safe(&spec.container),
        spec.access.as_str(),
        template,
        upstream.proto.as_str(),
        upstream.address.as_str(),
        upstream.port,
    )
}

fn server_names(spec: &AppSpec) -> String {
    spec.server_names
        .iter()
        .map(|s| s.nginx_token())
        .collect::<Vec<_>>()
        .join(" ")
}

fn upstream_lines(out: &mut String, indent: &str, u: &Upstream) {
    let _ = writeln!(out, "{indent}include /config/nginx/proxy.conf;");
    let _ = writeln!(out, "{indent}include /config/nginx/resolver.conf;");
    let _ = writeln!(out, "{indent}set $upstream_app {};", u.address.as_str());
    let _ = writeln!(out, "{indent}set $upstream_port {};", u.port);
    let _ = writeln!(out, "{indent}set $upstream_proto {};", u.proto.as_str());
    let _ = writeln!(
        out,
        "{indent}proxy_pass $upstream_proto://$upstream_app:$upstream_port;"
    );
}

fn location_directives(out: &mut String, indent: &str, spec: &AppSpec) {
    for d in &spec.location_directives {
        let _ = writeln!(out, "{indent}{} # from a label", d.as_str());
    }
}

/// The bypass locations: regex locations placed before any other, so they win over `location /`
/// and over a preset's own regex locations.
fn bypass_locations(out: &mut String, spec: &AppSpec, u: &Upstream) {
    if spec.access != Access::Protected {
        return;
    }
    for path in &spec.bypass {
        let _ = writeln!(
            out,
            "    # bypass {}: served without authentik",
            path.as_str()
        );
        let _ = writeln!(out, "    location ~ {} {{", path.regex());
        location_directives(out, "        ", spec);
        upstream_lines(out, "        ", u);
        let _ = writeln!(out, "    }}\n");
    }
}

/// Renders the conf for `spec`. `sample` is the preset's text when the spec names one that exists.
pub(crate) fn render(
    spec: &AppSpec,
    upstream: &Upstream,
    sample: Option<(&PresetName, &str)>,
) -> Result<String, RenderError> {
    let text = match sample {
        None => render_builtin(spec, upstream),
        Some((name, text)) => render_preset(spec, upstream, name, text)?,
    };
    if spec.access == Access::Protected {
        check_protected(&text)?;
    }
    Ok(text)
}

fn render_builtin(spec: &AppSpec, u: &Upstream) -> String {
    let protected = spec.access == Access::Protected;
    let mut out = header(spec, "builtin", u);
    out.push_str("\nserver {\n    listen 443 ssl;\n#    listen 443 quic;\n    listen [::]:443 ssl;\n#    listen [::]:443 quic;\n\n");
    let _ = writeln!(out, "    server_name {};\n", server_names(spec));
    out.push_str("    include /config/nginx/ssl.conf;\n\n");
    if !label_sets(spec, BODY_SIZE) {
        out.push_str("    client_max_body_size 0;\n\n");
    }
    for d in &spec.server_directives {
        let _ = writeln!(out, "    {} # from a label", d.as_str());
    }
    if !spec.server_directives.is_empty() {
        out.push('\n');
    }
    if protected {
        let _ = writeln!(out, "    # authentik forward auth (requires authentik-location.conf in the location block)\n    {AUTHENTIK_SERVER}\n");
    }
    bypass_locations(&mut out, spec, u);
    out.push_str("    location / {\n");
    if protected {
        let _ = writeln!(out, "        # authentik forward auth (requires authentik-server.conf in the server block)\n        {AUTHENTIK_LOCATION}\n");
    }
    location_directives(&mut out, "        ", spec);
    upstream_lines(&mut out, "        ", u);
    out.push_str("    }\n}\n");
    out
}

/// The template's server-level `client_max_body_size`, which nginx refuses to see twice in a block.
const BODY_SIZE: &str = "client_max_body_size";

/// Whether a server directive from a label sets `directive`: the template's own line then gives
/// way, since a duplicate would make `nginx -t` fail and SWAG refuse to reload anything at all.
fn label_sets(spec: &AppSpec, directive: &str) -> bool {
    spec.server_directives.iter().any(|d| {
        d.as_str()
            .split(|c: char| c.is_ascii_whitespace() || c == ';')
            .next()
            == Some(directive)
    })
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The value of the first active `set $<var> <value>;` line of a sample.
pub(crate) fn sample_set_value<'a>(text: &'a str, var: &str) -> Option<&'a str> {
    let prefix = format!("set ${var} ");
    text.lines()
        .filter(|l| !is_comment_or_blank(l))
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.strip_suffix(';'))
        .map(str::trim)
}

/// The upstream port a sample uses, as a default when the container does not say.
pub fn sample_port(text: &str) -> Option<Port> {
    sample_set_value(text, "upstream_port").and_then(|v| Port::parse(v).ok())
}

/// The upstream protocol a sample uses (nextcloud's is https).
pub fn sample_proto(text: &str) -> Option<Proto> {
    sample_set_value(text, "upstream_proto").and_then(|v| Proto::parse(v).ok())
}

/// The names in every active `server_name` directive of an nginx file, lower-cased, without the
/// catch-all `_` and empty names.
pub fn server_name_tokens(text: &str) -> Vec<String> {
    let uncommented: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for statement in uncommented.split([';', '{', '}']) {
        let mut words = statement.split_whitespace();
        if words.next() == Some("server_name") {
            for w in words {
                let w = w.trim_matches(['"', '\'']).to_ascii_lowercase();
                if !w.is_empty() && w != "_" {
                    out.push(w);
                }
            }
        }
    }
    out
}
