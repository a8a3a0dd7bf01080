//! The fake's outposts beyond the provider list: create and delete (a remote host's own
//! outpost), each outpost's API token and its `view_key`, and the health authentik reports of
//! the outpost processes connected to it. As authentik does: a new outpost gets the token
//! `ak-outpost-<pk>-api` (deleted with it), its config must name `authentik_host`
//! (`OutpostConfig` has no default for it), its name is unique, and only proxy providers go
//! into a proxy outpost.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{checked, field_error, outpost, reply, respond, State};

/// The outpost endpoints this module answers; `None` for any other request.
pub(super) fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    body: Option<&Value>,
) -> Option<(StatusCode, Option<Value>)> {
    Some(match (method.clone(), segs) {
        (Method::POST, ["outposts", "instances"]) => create(st, body),
        (Method::DELETE, ["outposts", "instances", uuid]) => delete(st, uuid),
        (Method::GET, ["outposts", "instances", uuid, "health"]) => health(st, uuid),
        (Method::GET, ["core", "tokens", identifier, "view_key"]) => view_key(st, identifier),
        _ => return None,
    })
}

fn create(st: &mut State, body: Option<&Value>) -> (StatusCode, Option<Value>) {
    let b = match checked(st, "OutpostRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let name = b["name"].as_str().unwrap_or_default().to_owned();
    if st.outposts.iter().any(|o| o["name"] == json!(name)) {
        return field_error("name", "outpost with this name already exists.");
    }
    if b["config"]
        .get("authentik_host")
        .and_then(Value::as_str)
        .is_none()
    {
        return field_error("config", "missing value for field \"authentik_host\"");
    }
    if let Some(ps) = b["providers"].as_array() {
        for p in ps {
            if !st.providers.iter().any(|x| &x["pk"] == p) {
                return field_error(
                    "providers",
                    &format!("Invalid pk \"{p}\" - object does not exist."),
                );
            }
        }
    }
    let pk = st.next_uuid();
    let mut v = outpost(&pk, &name, None);
    for (k, val) in &b {
        v[k] = val.clone();
    }
    let identifier = format!("ak-outpost-{pk}-api");
    st.outpost_tokens
        .insert(identifier.clone(), format!("outpost-token-{pk}-v1"));
    st.outposts.push(v.clone());
    respond(st, StatusCode::CREATED, "Outpost", v)
}

fn delete(st: &mut State, uuid: &str) -> (StatusCode, Option<Value>) {
    let Some(i) = st
        .outposts
        .iter()
        .position(|o| o["pk"].as_str() == Some(uuid))
    else {
        return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
    };
    if st.outposts[i]["managed"].as_str() == Some("goauthentik.io/outposts/embedded") {
        // authentik's embedded outpost comes back on the next start; refuse it like a guard.
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"non_field_errors": ["Embedded outpost cannot be deleted."]}),
        );
    }
    st.outposts.remove(i);
    st.outpost_tokens.remove(&format!("ak-outpost-{uuid}-api"));
    st.outpost_seen.remove(uuid);
    (StatusCode::NO_CONTENT, None)
}

fn health(st: &mut State, uuid: &str) -> (StatusCode, Option<Value>) {
    if !st.outposts.iter().any(|o| o["pk"].as_str() == Some(uuid)) {
        return reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
    }
    let items = st.outpost_seen.get(uuid).cloned().unwrap_or_default();
    for item in &items {
        let (status, _) = respond(st, StatusCode::OK, "OutpostHealth", item.clone());
        assert_eq!(status, StatusCode::OK);
    }
    (StatusCode::OK, Some(Value::Array(items)))
}

fn view_key(st: &mut State, identifier: &str) -> (StatusCode, Option<Value>) {
    match st.outpost_tokens.get(identifier).cloned() {
        Some(key) => respond(st, StatusCode::OK, "TokenView", json!({ "key": key })),
        None => reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
    }
}

/// An outpost process connected to authentik, as `/health/` lists it.
pub fn seen(last_seen: &str, version: &str, should: &str) -> Value {
    json!({
        "uid": "0123456789abcdef", "last_seen": last_seen, "version": version,
        "golang_version": "go1.24", "openssl_enabled": false, "openssl_version": "",
        "fips_enabled": null, "version_should": should, "version_outdated": version != should,
        "build_hash": "", "build_hash_should": "", "hostname": "outpost"
    })
}

/// Tokens and health by outpost, for a test to look at or change.
pub type Tokens = BTreeMap<String, String>;
