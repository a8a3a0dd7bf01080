use std::time::Duration;

use super::*;
use crate::model::check::{Check, CheckLevel};
use crate::status::board::Board;

fn page_of(board: &Board) -> String {
    render(&board.view())
}

#[test]
fn the_page_shows_apps_rejections_and_an_empty_checks_state() {
    let board = Board::new(Duration::from_secs(60), true);
    let mut seen = crate::status::board::tests::seen(&[(
        "web",
        "wrote gatehouse.web.subdomain.conf for container web",
    )]);
    seen.apps[1].authentik = Some(crate::status::snapshot::AuthentikObjects {
        application: "secure".into(),
        outpost: Some("authentik Embedded Outpost".into()),
    });
    board.pass_done(
        Some(seen),
        None,
        Duration::from_millis(12),
        "container start web",
    );
    board.authentik_round(1, None, 0, Some("2026.5".into()));
    let html = page_of(&board);
    for needle in [
        "<meta http-equiv=\"refresh\" content=\"10\">",
        "name=\"viewport\"",
        "<a href=\"https://web.example.com\">https://web.example.com</a>",
        "<code>http://secure:8080</code>",
        "gatehouse.secure.subdomain.conf",
        "secure_default",
        "application <code>secure</code>, outpost authentik Embedded Outpost",
        "wrote gatehouse.web.subdomain.conf for container web (why: container start web)",
        "label auth.port=http must be a number",
        "recreate the container",
        "No checks yet",
        "&#10004; ready",
        "authentik 2026.5",
        "2 app(s): 1 protected, 1 exposed",
    ] {
        assert!(html.contains(needle), "{needle:?} not in the page:\n{html}");
    }
    // Self-contained: no script and nothing fetched from elsewhere.
    for banned in ["<script", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "{banned:?} in the page");
    }
}

#[test]
fn checks_get_marks_and_fixes() {
    let board = Board::new(Duration::from_secs(60), false);
    board.set_checks(vec![
        Check {
            name: "docker.engine".into(),
            level: CheckLevel::Ok,
            found: "Docker 27.5, API 1.47".into(),
            fix: None,
        },
        Check {
            name: "swag.autoreload".into(),
            level: CheckLevel::Fail,
            found: "SWAG_AUTORELOAD is not true on swag".into(),
            fix: Some("set SWAG_AUTORELOAD=true on swag".into()),
        },
    ]);
    let html = page_of(&board);
    assert!(
        html.contains(
            "<span class=\"ok\">&#10004;</span> <code>docker.engine</code> Docker 27.5, API 1.47"
        ),
        "{html}"
    );
    assert!(html.contains("<span class=\"bad\">&#10008;</span> <code>swag.autoreload</code>"));
    assert!(html.contains("fix: set SWAG_AUTORELOAD=true on swag"));
    assert!(html.contains("authentik provisioning off"));
    assert!(html.contains("not ready: no pass has succeeded yet"));
}

#[test]
fn hostile_text_is_escaped() {
    let board = Board::new(Duration::from_secs(60), false);
    let mut seen = crate::status::board::tests::seen(&[]);
    seen.rejected[0].reason = "label auth.x=<script>alert(1)</script> \"q\" & 'a'".into();
    board.pass_done(Some(seen), None, Duration::ZERO, "<img src=x>");
    let html = page_of(&board);
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp; &#39;a&#39;"));
}

#[test]
fn times_read_as_utc_and_ages() {
    assert_eq!(utc(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc(1_796_030_437), "2026-11-30 09:20 UTC");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    assert_eq!(ago(100, 95), "5s ago");
    assert_eq!(ago(1000, 100), "15 min ago");
    assert_eq!(ago(100_000, 100), "27 h ago");
}

#[test]
fn an_oidc_app_says_so_and_names_no_outpost() {
    let board = Board::new(Duration::from_secs(60), true);
    let mut seen = crate::status::board::tests::seen(&[]);
    seen.apps[0].oidc = true;
    seen.apps[0].authentik = Some(crate::status::snapshot::AuthentikObjects {
        application: "web".into(),
        outpost: None,
    });
    board.pass_done(Some(seen), None, Duration::ZERO, "start");
    let html = page_of(&board);
    assert!(html.contains("<span class=\"tag\">OIDC</span>"), "{html}");
    assert!(html.contains("application <code>web</code>, single sign-on (OIDC), no outpost"));
}
