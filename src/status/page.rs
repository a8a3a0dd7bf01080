//! `/`: the status page for people. One self-contained HTML document (the CSS is inline, no
//! script, no external asset), readable on a phone, refreshing itself every few seconds.

use std::fmt::Write as _;

use super::board::View;
use super::snapshot::{AppStatus, RejectedStatus};
use crate::model::check::{Check, CheckLevel};

/// How often the page reloads itself, in seconds.
pub(crate) const REFRESH_SECS: u32 = 10;

const CSS: &str = "
:root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--mute:#6e7781;--line:#d0d7de;--card:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--ok:#3fb950;--bad:#f85149;--warn:#d29922;--mute:#8b949e;--line:#30363d;--card:#161b22}}
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:64rem;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
.sum{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.pill{border:1px solid var(--line);border-radius:1rem;padding:.15rem .7rem;font-size:.9rem}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.mute{color:var(--mute)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.7rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.7rem .8rem;overflow-wrap:anywhere}
.card h3{font-size:1.05rem;margin:0 0 .3rem}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .6rem;margin:0;font-size:.9rem}
.card dt{color:var(--mute)}.card dd{margin:0}
.tag{font-size:.75rem;border-radius:.3rem;padding:.05rem .4rem;margin-left:.3rem;vertical-align:middle;border:1px solid currentColor}
code{font-size:.85rem}
ul.checks{list-style:none;padding:0;margin:0}ul.checks li{padding:.35rem 0;border-bottom:1px solid var(--line)}
footer{margin-top:2rem;font-size:.85rem;color:var(--mute)}
a{color:inherit}
";

/// The whole page.
pub(crate) fn render(view: &View) -> String {
    let s = &view.snapshot;
    let mut out = String::with_capacity(8192 + s.apps.len() * 700);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
<title>gatehouse</title><style>{CSS}</style></head><body>\n<h1>gatehouse</h1>\n"
    );
    summary(&mut out, view);
    out.push_str("<h2 id=\"apps\">Published apps</h2>\n");
    if s.apps.is_empty() {
        out.push_str("<p class=\"mute\">No app is published yet: label a container with <code>auth.protect=true</code> or <code>auth.expose=true</code>.</p>\n");
    } else {
        out.push_str("<div class=\"cards\">\n");
        for app in &s.apps {
            app_card(&mut out, app, view.now);
        }
        out.push_str("</div>\n");
    }
    out.push_str("<h2 id=\"rejected\">Rejected containers</h2>\n");
    if s.rejected.is_empty() {
        out.push_str("<p class=\"ok\">&#10004; None: every labelled container is published.</p>\n");
    } else {
        out.push_str("<div class=\"cards\">\n");
        for r in &s.rejected {
            rejected_card(&mut out, r);
        }
        out.push_str("</div>\n");
    }
    out.push_str("<h2 id=\"checks\">Checks</h2>\n");
    checks(&mut out, &s.checks);
    let _ = write!(
        out,
        "<footer>gatehouse {} &middot; refreshes every {REFRESH_SECS}s &middot; \
<a href=\"api/status\">/api/status</a> &middot; <a href=\"metrics\">/metrics</a> &middot; \
<a href=\"healthz\">/healthz</a> &middot; <a href=\"readyz\">/readyz</a></footer>\n</body></html>\n",
        esc(s.version)
    );
    out
}

fn summary(out: &mut String, view: &View) {
    let s = &view.snapshot;
    let p = &s.passes;
    out.push_str("<div class=\"sum\">");
    match view.ready() {
        Ok(_) => out.push_str("<span class=\"pill ok\">&#10004; ready</span>"),
        Err(e) => {
            let _ = write!(
                out,
                "<span class=\"pill bad\">&#10008; not ready: {}</span>",
                esc(&e)
            );
        }
    }
    let protected = s.apps.iter().filter(|a| a.access == "protected").count();
    let _ = write!(
        out,
        "<span class=\"pill\">{} app(s): {protected} protected, {} exposed</span>",
        s.apps.len(),
        s.apps.len() - protected
    );
    let (class, mark) = if s.rejected.is_empty() {
        ("ok", "&#10004;")
    } else {
        ("bad", "&#10008;")
    };
    let _ = write!(
        out,
        "<span class=\"pill {class}\">{mark} {} rejected</span>",
        s.rejected.len()
    );
    authentik_pill(out, &s.authentik);
    out.push_str("</div>\n<p class=\"mute\">");
    match p.last_at {
        Some(at) => {
            let _ = write!(
                out,
                "Last pass {} ({} ms, woken by {}); {} good, {} failed since {}; {} running container(s).",
                ago(view.now, at),
                p.last_duration_ms.unwrap_or(0),
                esc(p.last_why.as_deref().unwrap_or("start")),
                p.ok_total,
                p.failed_total,
                utc(p.started_at),
                p.containers
            );
        }
        None => out.push_str("No pass has ended yet."),
    }
    out.push_str("</p>\n");
    if let Some(e) = &p.last_error {
        let _ = writeln!(
            out,
            "<p class=\"bad\">&#10008; The last pass failed: {}</p>",
            esc(e)
        );
    }
}

fn authentik_pill(out: &mut String, a: &super::snapshot::AuthentikStatus) {
    if !a.enabled {
        out.push_str("<span class=\"pill mute\">authentik provisioning off</span>");
        return;
    }
    let version = a
        .version
        .as_deref()
        .map(|v| format!(" {}", esc(v)))
        .unwrap_or_default();
    match a.reachable {
        Some(true) => {
            let _ = write!(
                out,
                "<span class=\"pill ok\">&#10004; authentik{version}</span>"
            );
        }
        Some(false) => {
            let why = a.error.as_deref().map(esc).unwrap_or_default();
            let _ = write!(
                out,
                "<span class=\"pill bad\">&#10008; authentik unreachable: {why}</span>"
            );
        }
        None => out.push_str("<span class=\"pill mute\">authentik: no round yet</span>"),
    }
}

fn app_card(out: &mut String, app: &AppStatus, now: u64) {
    let (class, mark) = match app.access {
        "protected" => ("ok", "protected"),
        _ => ("warn", "exposed"),
    };
    let _ = write!(
        out,
        "<div class=\"card\"><h3>{}<span class=\"tag {class}\">{mark}</span>",
        esc(&app.container)
    );
    if app.oidc {
        out.push_str("<span class=\"tag\">OIDC</span>");
    }
    out.push_str("</h3><dl>");
    let hosts: Vec<String> = if app.links.is_empty() {
        app.hosts
            .iter()
            .map(|h| format!("<code>{}</code>", esc(h)))
            .collect()
    } else {
        app.links
            .iter()
            .map(|l| format!("<a href=\"{0}\">{0}</a>", esc(l)))
            .collect()
    };
    row(out, "host", &hosts.join("<br>"));
    row(
        out,
        "upstream",
        &format!("<code>{}</code>", esc(&app.upstream)),
    );
    row(
        out,
        "conf",
        &format!("<code>{}</code>", esc(&app.conf_file)),
    );
    row(out, "network", &esc(&app.networks.join(", ")));
    if let Some(ak) = &app.authentik {
        let via = match &ak.outpost {
            Some(o) => format!("outpost {}", esc(o)),
            None => "single sign-on (OIDC), no outpost".to_owned(),
        };
        row(
            out,
            "authentik",
            &format!("application <code>{}</code>, {via}", esc(&ak.application)),
        );
    }
    if let Some(c) = &app.last_change {
        row(
            out,
            "changed",
            &format!("{} {} (why: {})", ago(now, c.at), esc(&c.what), esc(&c.why)),
        );
    }
    out.push_str("</dl></div>\n");
}

fn rejected_card(out: &mut String, r: &RejectedStatus) {
    let state = if r.still_served {
        "<span class=\"tag warn\">still served</span>"
    } else {
        "<span class=\"tag bad\">not published</span>"
    };
    let _ = write!(
        out,
        "<div class=\"card\"><h3 class=\"bad\">&#10008; {}{state}</h3><dl>",
        esc(&r.container)
    );
    row(out, "reason", &esc(&r.reason));
    row(out, "fix", &esc(&r.fix));
    out.push_str("</dl></div>\n");
}

fn checks(out: &mut String, checks: &[Check]) {
    if checks.is_empty() {
        out.push_str("<p class=\"mute\">No checks yet: they appear here once <code>gatehouse check</code> has run.</p>\n");
        return;
    }
    out.push_str("<ul class=\"checks\">\n");
    for c in checks {
        let (class, mark) = match c.level {
            CheckLevel::Ok => ("ok", "&#10004;"),
            CheckLevel::Warn => ("warn", "&#9888;"),
            CheckLevel::Fail => ("bad", "&#10008;"),
        };
        let _ = write!(
            out,
            "<li><span class=\"{class}\">{mark}</span> <code>{}</code> {}",
            esc(&c.name),
            esc(&c.found)
        );
        if let Some(fix) = &c.fix {
            let _ = write!(
                out,
                " <span class=\"mute\">&mdash; fix: {}</span>",
                esc(fix)
            );
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

fn row(out: &mut String, name: &str, html: &str) {
    let _ = write!(out, "<dt>{name}</dt><dd>{html}</dd>");
}

/// Text escaped for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `12s ago`, `5 min ago`, `3 h ago`.
fn ago(now: u64, at: u64) -> String {
    let d = now.saturating_sub(at);
    match d {
        0..=119 => format!("{d}s ago"),
        120..=7199 => format!("{} min ago", d / 60),
        _ => format!("{} h ago", d / 3600),
    }
}

/// Seconds since the epoch as `2026-11-30 09:15 UTC`.
pub(crate) fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
