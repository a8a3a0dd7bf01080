//! The fake's user and API tokens, as `gatehouse check` reads them: `GET /core/users/me/` (who
//! the token belongs to) and `GET /core/tokens/` (filtered by `user__username` and `intent`,
//! never showing a key), `GET /admin/settings/`, plus the embedded outpost's `/outpost.goauthentik.io/ping` (204, no
//! token needed, outside `/api/v3`). The token [`super::TOKEN`] belongs to `akadmin` and, like a
//! token made in authentik's UI by default, can be made to expire ([`super::FakeAuthentik::expire_token_at`]).

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{page, respond, State};

/// The user [`super::TOKEN`] authenticates as.
pub const USER: &str = "akadmin";
/// The identifier of [`super::TOKEN`].
pub const TOKEN_ID: &str = "gatehouse-api-token";

/// The token list of a fresh fake: gatehouse's token, not expiring.
pub fn initial() -> Vec<Value> {
    vec![token_obj(TOKEN_ID, None)]
}

fn user_obj() -> Value {
    json!({
        "pk": 1, "username": USER, "name": "authentik Default Admin", "is_active": true,
        "last_login": null, "date_joined": "2026-01-01T00:00:00Z", "is_superuser": true,
        "groups": [], "groups_obj": [], "roles": [], "roles_obj": [], "email": "admin@example.com",
        "avatar": "", "attributes": {}, "uid": "0000", "path": "users", "type": "internal",
        "uuid": "8e1b4b6c-2d1f-4c0a-9d2e-00000000a001",
        "password_change_date": "2026-01-01T00:00:00Z", "last_updated": "2026-01-01T00:00:00Z"
    })
}

/// One API token of [`USER`]; `expires` (RFC 3339) makes it expiring.
pub fn token_obj(identifier: &str, expires: Option<&str>) -> Value {
    json!({
        "pk": "8e1b4b6c-2d1f-4c0a-9d2e-00000000b001", "managed": null, "identifier": identifier,
        "intent": "api", "user": 1, "user_obj": user_obj(), "description": "",
        "expires": expires, "expiring": expires.is_some()
    })
}

/// The routes of this file, or `None` for a path it does not serve.
pub fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    q: &BTreeMap<String, Vec<String>>,
) -> Option<(StatusCode, Option<Value>)> {
    match (method.clone(), segs) {
        (Method::GET, ["core", "users", "me"]) => {
            let me = json!({"user": {
                "pk": 1, "username": USER, "name": "authentik Default Admin", "is_active": true,
                "is_superuser": true, "groups": [], "roles": [], "email": "admin@example.com",
                "avatar": "", "uid": "0000", "settings": {}, "type": "internal",
                "system_permissions": []
            }});
            Some(respond(st, StatusCode::OK, "SessionUser", me))
        }
        (Method::GET, ["core", "tokens"]) => {
            let keep = |t: &Value, key: &str, field: &str| {
                q.get(key)
                    .is_none_or(|vals| vals.iter().any(|v| t[field].as_str() == Some(v)))
            };
            let items: Vec<Value> = st
                .tokens
                .iter()
                .filter(|t| keep(t, "intent", "intent") && keep(t, "identifier", "identifier"))
                .filter(|t| {
                    q.get("user__username")
                        .is_none_or(|v| v.iter().any(|u| t["user_obj"]["username"] == u.as_str()))
                })
                .cloned()
                .collect();
            Some(page(st, items, q, "Token"))
        }
        // The system settings as the 2026.5.6 schema has them: no `base_url` yet (2026.8 adds
        // it), so the check falls back to AUTHENTIK_WEB__BASE_URL on the server container.
        (Method::GET, ["admin", "settings"]) => {
            let settings = json!({"flags": {
                "core_default_app_access": true, "enterprise_audit_include_expanded_diff": false,
                "flows_continuous_login": false, "flows_refresh_others": false
            }});
            Some(respond(st, StatusCode::OK, "Settings", settings))
        }
        _ => None,
    }
}

/// The embedded outpost's ping (outside the API): 204 while the fake runs.
pub fn is_ping(path: &str) -> bool {
    path == "/outpost.goauthentik.io/ping"
}
