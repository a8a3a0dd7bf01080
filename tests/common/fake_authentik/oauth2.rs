//! The fake's OAuth2/OpenID endpoints: `/providers/oauth2/`, `/propertymappings/provider/scope/`
//! and `/crypto/certificatekeypairs/`, seeded with what authentik's blueprints make (the default
//! scope mappings, found by their managed names, and the "authentik Self-signed Certificate").
//! Like the real server: `property_mappings` default to none and `signing_key` to null (HS256)
//! when not sent; a generated client id is 40 characters and a generated secret 128; servers
//! before 2024.8.5 / 2024.10.3 take `redirect_uris` as a newline-separated string.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{checked, field_error, flow_exists, page, reply, respond, State};

pub const SELF_SIGNED_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000c1";
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// The scope mapping pk of a default scope.
pub fn scope_pk(scope: &str) -> String {
    let n = SCOPES.iter().position(|s| *s == scope).unwrap_or(9);
    format!("8e1b4b6c-2d1f-4c0a-9d2e-0000000000a{n}")
}

/// What authentik's blueprints make at first start.
pub fn seed(st: &mut State) {
    for s in SCOPES {
        st.scope_mappings.push(json!({
            "pk": scope_pk(s),
            "managed": format!("goauthentik.io/providers/oauth2/scope-{s}"),
            "name": format!("authentik default OAuth Mapping: OpenID '{s}'"),
            "expression": "return {}",
            "component": "ak-property-mapping-provider-scope-form",
            "verbose_name": "Scope Mapping",
            "verbose_name_plural": "Scope Mappings",
            "meta_model_name": "authentik_providers_oauth2.scopemapping",
            "scope_name": s,
            "description": "",
        }));
    }
    st.certificates.push(json!({
        "pk": SELF_SIGNED_PK,
        "name": "authentik Self-signed Certificate",
        "fingerprint_sha256": "00", "fingerprint_sha1": "00",
        "cert_expiry": "2027-01-01T00:00:00Z", "cert_subject": "CN=authentik Self-signed Certificate",
        "private_key_available": true, "key_type": "rsa",
        "certificate_download_url": "/", "private_key_download_url": "/",
        "managed": null,
    }));
}

/// An OAuth2 provider made by the user (not gatehouse).
pub fn add_user_provider(st: &mut State, name: &str) -> i64 {
    let pk = st.int_id();
    let b = json!({"name": name, "authorization_flow": super::AUTHZ_FLOW_PK,
        "invalidation_flow": super::INVAL_FLOW_PK, "client_id": name, "client_secret": "theirs"});
    st.oauth2.push(provider_obj(pk, b.as_object().unwrap()));
    pk
}

/// Whether the server takes `redirect_uris` as a list (2024.8.5 and 2024.10.3 on).
fn list_redirects(version: &str) -> bool {
    let n: Vec<u32> = version
        .split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let (y, m, p) = (
        n[0],
        n.get(1).copied().unwrap_or(0),
        n.get(2).copied().unwrap_or(0),
    );
    match (y, m) {
        (y, _) if y < 2024 => false,
        (2024, m) if m < 8 => false,
        (2024, 8) => p >= 5,
        (2024, 10) => p >= 3,
        _ => true,
    }
}

fn random_word(st: &mut State, len: usize) -> String {
    let seed = format!(
        "{:x}",
        0x9e37_79b9_7f4a_7c15u64.wrapping_mul(st.next_id + 7)
    );
    seed.chars().cycle().take(len).collect()
}

fn provider_obj(pk: i64, b: &Map<String, Value>) -> Value {
    let mut v = json!({
        "pk": pk, "name": "", "authentication_flow": null, "authorization_flow": "",
        "invalidation_flow": "", "property_mappings": [], "component": "ak-provider-oauth2-form",
        "assigned_application_slug": null, "assigned_application_name": null,
        "assigned_backchannel_application_slug": null, "assigned_backchannel_application_name": null,
        "verbose_name": "OAuth2/OpenID Provider", "verbose_name_plural": "OAuth2/OpenID Providers",
        "meta_model_name": "authentik_providers_oauth2.oauth2provider",
        "client_type": "confidential", "grant_types": ["authorization_code", "refresh_token"],
        "client_id": "", "client_secret": "", "access_code_validity": "minutes=1",
        "access_token_validity": "hours=1", "refresh_token_validity": "days=30",
        "refresh_token_threshold": "seconds=0", "include_claims_in_id_token": true,
        "signing_key": null, "encryption_key": null, "redirect_uris": [],
        "logout_method": "backchannel", "sub_mode": "hashed_user_id",
        "issuer_mode": "per_provider", "jwt_federation_sources": [], "jwt_federation_providers": [],
    });
    for (k, val) in b {
        v[k] = val.clone();
    }
    v
}

/// A body with `redirect_uris` as older servers take it (a string) turned into the list the
/// schema describes; a list sent to an older server is refused as it would be.
fn redirects_for_version(
    st: &State,
    body: Option<&Value>,
) -> Result<Option<Value>, (StatusCode, Option<Value>)> {
    let Some(mut b) = body.cloned() else {
        return Ok(None);
    };
    if list_redirects(&st.version) {
        return Ok(Some(b));
    }
    match b.get("redirect_uris") {
        None => {}
        Some(Value::String(text)) => {
            let list: Vec<Value> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| json!({"matching_mode": "strict", "url": l.trim()}))
                .collect();
            b["redirect_uris"] = Value::Array(list);
        }
        Some(_) => return Err(field_error("redirect_uris", "Not a valid string.")),
    }
    Ok(Some(b))
}

fn known_refs(st: &State, b: &Map<String, Value>) -> Option<(StatusCode, Option<Value>)> {
    if let Some(f) = b.get("authorization_flow") {
        if !flow_exists(st, f) {
            return Some(field_error(
                "authorization_flow",
                "Invalid pk - object does not exist.",
            ));
        }
    }
    if let Some(f) = b.get("invalidation_flow") {
        if !flow_exists(st, f) {
            return Some(field_error(
                "invalidation_flow",
                "Invalid pk - object does not exist.",
            ));
        }
    }
    if let Some(k) = b.get("signing_key").filter(|k| !k.is_null()) {
        if !st.certificates.iter().any(|c| &c["pk"] == k) {
            return Some(field_error(
                "signing_key",
                "Invalid pk - object does not exist.",
            ));
        }
    }
    for m in b
        .get("property_mappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !st.scope_mappings.iter().any(|x| &x["pk"] == m) {
            return Some(field_error(
                "property_mappings",
                &format!("Invalid pk \"{m}\" - object does not exist."),
            ));
        }
    }
    None
}

fn index_of(st: &State, id: &str) -> Option<usize> {
    st.oauth2
        .iter()
        .position(|p| p["pk"].as_i64().map(|n| n.to_string()).as_deref() == Some(id))
}

fn create(st: &mut State, body: Option<&Value>) -> (StatusCode, Option<Value>) {
    let body = match redirects_for_version(st, body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let b = match checked(st, "OAuth2ProviderRequest", body.as_ref()) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let name = b["name"].as_str().unwrap_or_default().to_owned();
    if st
        .providers
        .iter()
        .chain(&st.oauth2)
        .any(|p| p["name"] == json!(name))
    {
        return field_error("name", "Provider with this name already exists.");
    }
    if let Some(e) = known_refs(st, &b) {
        return e;
    }
    let pk = st.int_id();
    let mut v = provider_obj(pk, &b);
    if !st.has_invalidation() {
        v.as_object_mut().map(|o| o.remove("invalidation_flow"));
    }
    if v["client_id"] == json!("") {
        v["client_id"] = json!(random_word(st, 40));
    }
    if v["client_secret"] == json!("") && v["client_type"] == json!("confidential") {
        v["client_secret"] = json!(random_word(st, 128));
    }
    st.oauth2.push(v.clone());
    respond(st, StatusCode::CREATED, "OAuth2Provider", v)
}

fn patch(st: &mut State, id: &str, body: Option<&Value>) -> (StatusCode, Option<Value>) {
    let body = match redirects_for_version(st, body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let b = match checked(st, "PatchedOAuth2ProviderRequest", body.as_ref()) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some(e) = known_refs(st, &b) {
        return e;
    }
    let Some(i) = index_of(st, id) else {
        return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
    };
    for (k, val) in &b {
        st.oauth2[i][k] = val.clone();
    }
    let v = st.oauth2[i].clone();
    respond(st, StatusCode::OK, "OAuth2Provider", v)
}

fn delete(st: &mut State, id: &str) -> (StatusCode, Option<Value>) {
    let Some(i) = index_of(st, id) else {
        return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
    };
    let pk = st.oauth2.remove(i)["pk"].clone();
    for a in &mut st.applications {
        if a["provider"] == pk {
            a["provider"] = Value::Null;
        }
    }
    (StatusCode::NO_CONTENT, None)
}

/// The fake's answer when the request is for one of these endpoints.
pub fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    q: &BTreeMap<String, Vec<String>>,
    body: Option<&Value>,
) -> Option<(StatusCode, Option<Value>)> {
    let by = |items: &[Value], key: &str| -> Vec<Value> {
        match q.get(key) {
            Some(vals) => items
                .iter()
                .filter(|i| vals.iter().any(|v| i[key].as_str() == Some(v)))
                .cloned()
                .collect(),
            None => items.to_vec(),
        }
    };
    Some(match (method.clone(), segs) {
        (Method::GET, ["providers", "oauth2"]) => {
            let mut items = st.oauth2.clone();
            for a in &st.applications {
                for p in items.iter_mut().filter(|p| p["pk"] == a["provider"]) {
                    p["assigned_application_slug"] = a["slug"].clone();
                    p["assigned_application_name"] = a["name"].clone();
                }
            }
            page(st, items, q, "OAuth2Provider")
        }
        (Method::POST, ["providers", "oauth2"]) => create(st, body),
        (Method::PATCH, ["providers", "oauth2", id]) => patch(st, id, body),
        (Method::DELETE, ["providers", "oauth2", id]) => delete(st, id),
        (Method::GET, ["propertymappings", "provider", "scope"]) => {
            let items = by(&by(&st.scope_mappings, "managed"), "scope_name");
            page(st, items, q, "ScopeMapping")
        }
        (Method::POST, ["propertymappings", "provider", "scope"]) => {
            let b = match checked(st, "ScopeMappingRequest", body) {
                Ok(b) => b,
                Err(e) => return Some(e),
            };
            let pk = st.uuid();
            let mut v = json!({
                "pk": pk, "managed": null, "component": "ak-property-mapping-provider-scope-form",
                "verbose_name": "Scope Mapping", "verbose_name_plural": "Scope Mappings",
                "meta_model_name": "authentik_providers_oauth2.scopemapping", "description": "",
            });
            for (k, val) in &b {
                v[k] = val.clone();
            }
            st.scope_mappings.push(v.clone());
            respond(st, StatusCode::CREATED, "ScopeMapping", v)
        }
        (Method::GET, ["crypto", "certificatekeypairs"]) => {
            let mut items = by(&st.certificates, "name");
            if q.get("has_key").is_some_and(|v| v[0] == "true") {
                items.retain(|c| c["private_key_available"] == json!(true));
            }
            page(st, items, q, "CertificateKeyPair")
        }
        _ => return None,
    })
}
