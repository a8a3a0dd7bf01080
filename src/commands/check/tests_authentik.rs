//! The judging functions of the authentik checks, on observed data made by hand.

use super::judge_authentik::*;
use crate::edge::authentik::doctor::{Me, MeUser, TokenInfo};
use crate::edge::authentik::ApiError;
use crate::model::authentik::{Outpost, ServerVersion};
use crate::model::check::CheckLevel;

const NOW: i64 = 1_796_033_700; // 2026-11-30T10:15:00Z

fn me(name: &str) -> Result<Me, ApiError> {
    Ok(Me {
        user: MeUser {
            username: name.into(),
            is_superuser: true,
        },
    })
}

fn tok(id: &str, expires: Option<&str>) -> TokenInfo {
    TokenInfo {
        identifier: id.into(),
        intent: Some("api".into()),
        expiring: expires.is_some(),
        expires: expires.map(str::to_owned),
    }
}

fn status(s: u16) -> ApiError {
    ApiError::Status {
        status: s,
        method: "GET".into(),
        path: "/core/users/me/".into(),
        message: "Token invalid/expired".into(),
    }
}

#[test]
fn reachable_says_the_version_or_why_not() {
    let c = reachable("http://ak:9000", &Ok("2026.5.6".into()));
    assert_eq!(c.level, CheckLevel::Ok);
    assert!(c.found.contains("2026.5.6"));
    let down = reachable(
        "http://ak:9000",
        &Err(ApiError::Unreachable("refused".into())),
    );
    assert_eq!(down.level, CheckLevel::Fail);
    assert!(down
        .fix
        .as_deref()
        .unwrap()
        .contains("GATEHOUSE_AUTHENTIK_URL"));
    let refused = reachable("http://ak:9000", &Err(status(403)));
    assert!(refused.fix.as_deref().unwrap().contains("Expiring off"));
}

#[test]
fn a_token_whose_user_has_only_non_expiring_tokens_is_ok() {
    let c = token(&me("gatehouse"), &Ok(vec![tok("t1", None)]), NOW);
    assert_eq!(c.level, CheckLevel::Ok, "{}", c.found);
    assert!(c.found.contains("user gatehouse"));
}

#[test]
fn the_only_token_expiring_is_a_warning_with_its_date() {
    let c = token(
        &me("akadmin"),
        &Ok(vec![tok("ui", Some("2026-11-30T10:45:00.000000Z"))]),
        NOW,
    );
    assert_eq!(c.level, CheckLevel::Warn);
    assert!(c.found.contains("2026-11-30T10:45:00"), "{}", c.found);
    assert!(c.found.contains("in 30 minutes"), "{}", c.found);
    assert!(c.fix.as_deref().unwrap().contains("Expiring off"));
}

#[test]
fn expired_tokens_are_not_the_one_in_use_and_mixed_lists_are_said_honestly() {
    // An expired token cannot be the one just accepted: only the non-expiring one is left.
    let c = token(
        &me("akadmin"),
        &Ok(vec![
            tok("old", Some("2026-11-29T10:00:00Z")),
            tok("good", None),
        ]),
        NOW,
    );
    assert_eq!(c.level, CheckLevel::Ok, "{}", c.found);
    let mixed = token(
        &me("akadmin"),
        &Ok(vec![
            tok("ui", Some("2026-12-01T10:15:00Z")),
            tok("good", None),
        ]),
        NOW,
    );
    assert_eq!(mixed.level, CheckLevel::Warn);
    assert!(mixed.found.contains("1 of akadmin's 2"), "{}", mixed.found);
    assert!(
        mixed.found.contains("does not say which"),
        "{}",
        mixed.found
    );
    let all = token(
        &me("akadmin"),
        &Ok(vec![
            tok("a", Some("2026-12-01T10:15:00Z")),
            tok("b", Some("2026-12-03T10:15:00Z")),
        ]),
        NOW,
    );
    assert!(all.found.contains("all 2 API tokens"), "{}", all.found);
    assert!(all.found.contains("2026-12-01"), "{}", all.found);
}

#[test]
fn a_refused_token_fails_and_an_unlisted_one_warns() {
    let c = token(&Err(status(403)), &Ok(vec![]), NOW);
    assert_eq!(c.level, CheckLevel::Fail);
    let none = token(&me("x"), &Ok(vec![]), NOW);
    assert_eq!(none.level, CheckLevel::Warn);
    assert!(none.found.contains("unknown"), "{}", none.found);
    let unreadable = token(&me("x"), &Err(status(403)), NOW);
    assert_eq!(unreadable.level, CheckLevel::Warn);
}

fn outpost_named(name: &str, managed: Option<&str>) -> Outpost {
    Outpost {
        name: name.into(),
        managed: managed.map(str::to_owned),
        ..Outpost::default()
    }
}

#[test]
fn the_embedded_or_named_outpost_must_exist() {
    let list = Ok(vec![outpost_named(
        "authentik Embedded Outpost",
        Some("goauthentik.io/outposts/embedded"),
    )]);
    assert_eq!(outpost(&list, None).level, CheckLevel::Ok);
    assert_eq!(outpost(&list, Some("mine")).level, CheckLevel::Fail);
    assert_eq!(outpost(&Ok(vec![]), None).level, CheckLevel::Fail);
    let named = Ok(vec![outpost_named("Mine", None)]);
    assert_eq!(outpost(&named, Some("mine")).level, CheckLevel::Ok);
}

fn path(env: Option<&str>, swag: &[(&str, &str)]) -> ProxyPath {
    ProxyPath {
        authentik_container: Some("authentik-server".into()),
        trusted_env: env.map(str::to_owned),
        swag_addresses: swag
            .iter()
            .map(|(n, ip)| ((*n).to_owned(), (*ip).to_owned()))
            .collect(),
    }
}

const V2026_8: Option<ServerVersion> = Some(ServerVersion::new(2026, 8));
const V2026_5: Option<ServerVersion> = Some(ServerVersion::new(2026, 5));

#[test]
fn swags_address_must_be_in_the_trusted_proxy_networks_from_2026_8() {
    let default = trusted_proxies(V2026_8, &path(None, &[("ak_net", "172.18.0.5")]));
    assert_eq!(default.level, CheckLevel::Ok, "{}", default.found);
    assert!(default.found.contains("default"), "{}", default.found);
    let narrow = path(Some("127.0.0.0/8"), &[("ak_net", "172.18.0.5")]);
    let c = trusted_proxies(V2026_8, &narrow);
    assert_eq!(c.level, CheckLevel::Fail);
    assert!(c.found.contains("172.18.0.5 on ak_net"), "{}", c.found);
    assert!(
        c.fix
            .as_deref()
            .unwrap()
            .contains("127.0.0.0/8,172.18.0.5/32"),
        "{:?}",
        c.fix
    );
    // Before 2026.8 the same is a warning about the upgrade.
    let before = trusted_proxies(V2026_5, &narrow);
    assert_eq!(before.level, CheckLevel::Warn);
    assert!(before.found.contains("2026.8"), "{}", before.found);
    let public = trusted_proxies(V2026_8, &path(None, &[("n", "203.0.113.9")]));
    assert_eq!(public.level, CheckLevel::Fail);
}

#[test]
fn trusted_proxies_need_a_shared_network_and_a_readable_list() {
    assert_eq!(
        trusted_proxies(V2026_8, &path(None, &[])).level,
        CheckLevel::Fail
    );
    let json = trusted_proxies(
        V2026_8,
        &path(Some(r#"["10.0.0.0/8"]"#), &[("n", "10.1.1.1")]),
    );
    assert_eq!(json.level, CheckLevel::Fail);
    assert!(json.fix.as_deref().unwrap().contains("comma-separated"));
    let missing = trusted_proxies(V2026_8, &ProxyPath::default());
    assert_eq!(missing.level, CheckLevel::Warn);
    assert!(missing
        .fix
        .as_deref()
        .unwrap()
        .contains("GATEHOUSE_AUTHENTIK_CONTAINER"));
}

#[test]
fn base_url_is_optional_before_2026_11_and_required_from_it() {
    let v = |y, m| Some(ServerVersion::new(y, m));
    assert_eq!(base_url(v(2026, 5), None, None).level, CheckLevel::Ok);
    assert_eq!(base_url(v(2026, 8), None, None).level, CheckLevel::Warn);
    assert_eq!(
        base_url(v(2026, 11), None, Some("")).level,
        CheckLevel::Fail
    );
    let env = base_url(v(2026, 11), None, Some("https://auth.example.com"));
    assert_eq!(env.level, CheckLevel::Ok);
    assert!(env.found.contains("AUTHENTIK_WEB__BASE_URL"));
    let setting = base_url(v(2027, 2), Some("https://auth.example.com"), None);
    assert!(setting.found.contains("System → Settings"));
    assert_eq!(base_url(None, None, None).level, CheckLevel::Warn);
}

#[test]
fn the_authentik_location_needs_the_conf_a_shared_network_and_a_204() {
    let up = |shares| Location::Upstream {
        upstream: "authentik-server".into(),
        shares,
    };
    let url = "http://ak:9000";
    assert_eq!(
        authentik_location(0, &Location::NoConf, &Ok(500), url).level,
        CheckLevel::Ok
    );
    assert_eq!(
        authentik_location(1, &Location::NoConf, &Ok(204), url).level,
        CheckLevel::Fail
    );
    assert_eq!(
        authentik_location(1, &up(None), &Ok(204), url).level,
        CheckLevel::Fail
    );
    assert_eq!(
        authentik_location(1, &up(Some(false)), &Ok(204), url).level,
        CheckLevel::Fail
    );
    assert_eq!(
        authentik_location(1, &up(Some(true)), &Ok(204), url).level,
        CheckLevel::Ok
    );
    assert_eq!(
        authentik_location(1, &up(Some(true)), &Ok(404), url).level,
        CheckLevel::Fail
    );
    let down = authentik_location(
        1,
        &up(Some(true)),
        &Err(ApiError::Unreachable("refused".into())),
        url,
    );
    assert_eq!(down.level, CheckLevel::Fail);
}

#[test]
fn the_upstream_is_read_from_swags_authentik_server_conf() {
    let conf = "# set $upstream_authentik commented;\nlocation ^~ /outpost.goauthentik.io {\n    set $upstream_authentik ak-server;\n}\n";
    assert_eq!(upstream_in_conf(conf).as_deref(), Some("ak-server"));
    assert_eq!(upstream_in_conf("nothing here"), None);
    let reference = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/swag/config/nginx/authentik-server.conf"),
    )
    .expect("reference authentik-server.conf");
    assert_eq!(
        upstream_in_conf(&reference).as_deref(),
        Some("authentik-server")
    );
}

#[test]
fn an_unreadable_expiry_is_shown_as_written() {
    let c = token(
        &me("akadmin"),
        &Ok(vec![tok("ui", Some("next tuesday"))]),
        NOW,
    );
    assert_eq!(c.level, CheckLevel::Warn);
    assert!(c.found.contains("\"next tuesday\""), "{}", c.found);
}
