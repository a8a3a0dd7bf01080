//! The fake's users, groups (superuser group, membership), tokens, devices, brands and roles:
//! what `gatehouse admin create` uses (seeded in [`super::mfa::seed`]).

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::mfa::{user_obj, Answer, Query};
use super::{checked, field_error, page, reply, respond, State};

fn user_index(st: &State, id: &str) -> Option<usize> {
    st.mfa
        .users
        .iter()
        .position(|u| u["pk"].as_i64().is_some_and(|pk| id.parse() == Ok(pk)))
}

fn not_found() -> Answer {
    reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
}

pub fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    q: &Query,
    body: Option<&Value>,
) -> Option<Answer> {
    Some(match (method.clone(), segs) {
        (Method::GET, ["core", "users"]) => {
            let mut items = st.mfa.users.clone();
            if let Some(v) = q.get("username") {
                items.retain(|u| v.iter().any(|n| u["username"] == n.as_str()));
            }
            page(st, items, q, "User")
        }
        // akadmin's token is answered by `tokens.rs`; another owner (the service account after
        // `.env` got its token) here.
        (Method::GET, ["core", "users", "me"]) if st.mfa.token_owner != super::mfa::AKADMIN_PK => {
            let owner = st.mfa.token_owner;
            let Some(u) = st.mfa.users.iter().find(|u| u["pk"] == owner).cloned() else {
                return Some(not_found());
            };
            let me = json!({
                "pk": u["pk"], "username": u["username"], "name": u["name"],
                "is_active": u["is_active"], "is_superuser": u["is_superuser"], "groups": [],
                "roles": [], "email": u["email"], "avatar": "", "uid": u["uid"], "settings": {},
                "type": u["type"], "system_permissions": []
            });
            respond(st, StatusCode::OK, "SessionUser", json!({ "user": me }))
        }
        (Method::POST, ["core", "users", "service_account"]) => service_account(st, body),
        (Method::POST, ["core", "users"]) => create_user(st, body),
        (Method::PATCH, ["core", "users", id]) => patch_user(st, id, body),
        (Method::POST, ["core", "users", id, "recovery"]) => recovery(st, id, body),
        (Method::POST, ["core", "users", id, "set_password"]) => {
            let b = match checked(st, "UserPasswordSetRequest", body) {
                Ok(b) => b,
                Err(e) => return Some(e),
            };
            let Some(i) = user_index(st, id) else {
                return Some(not_found());
            };
            let pk = st.mfa.users[i]["pk"].as_i64().unwrap_or_default();
            let pw = b["password"].as_str().unwrap_or_default().to_owned();
            st.mfa.passwords.insert(pk, pw);
            (StatusCode::NO_CONTENT, None)
        }
        (Method::GET, ["core", "groups"]) if q.contains_key("is_superuser") => {
            let want = q["is_superuser"].first().map(String::as_str) == Some("true");
            let items: Vec<Value> = st
                .groups
                .iter()
                .filter(|g| g["is_superuser"].as_bool().unwrap_or(false) == want)
                .cloned()
                .collect();
            page(st, items, q, "Group")
        }
        (Method::POST, ["core", "groups"]) => create_group(st, body),
        (Method::POST, ["core", "groups", uuid, "add_user"]) => add_user(st, uuid, body),
        (Method::GET, ["core", "brands"]) => {
            let items = st.mfa.brands.clone();
            page(st, items, q, "Brand")
        }
        (Method::GET, ["authenticators", "admin", "all"]) => {
            let user: i64 = q
                .get("user")
                .and_then(|v| v.first())
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            let devices = st.mfa.devices.get(&user).cloned().unwrap_or_default();
            (StatusCode::OK, Some(Value::Array(devices)))
        }
        (Method::POST, ["rbac", "roles"]) => {
            let b = match checked(st, "RoleRequest", body) {
                Ok(b) => b,
                Err(e) => return Some(e),
            };
            if st.mfa.roles.iter().any(|r| r["name"] == b["name"]) {
                return Some(field_error("name", "role with this name already exists."));
            }
            let pk = st.uuid();
            let v = json!({ "pk": pk, "name": b["name"] });
            st.mfa.roles.push(v.clone());
            respond(st, StatusCode::CREATED, "Role", v)
        }
        (Method::POST, ["rbac", "permissions", "assigned_by_roles", uuid, "assign"]) => {
            let b = match checked(st, "PermissionAssignRequest", body) {
                Ok(b) => b,
                Err(e) => return Some(e),
            };
            if !st.mfa.roles.iter().any(|r| r["pk"].as_str() == Some(uuid)) {
                return Some(not_found());
            }
            let perms: Vec<String> = b["permissions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            st.mfa
                .role_permissions
                .entry((*uuid).to_owned())
                .or_default()
                .extend(perms);
            (StatusCode::OK, Some(json!([])))
        }
        _ => return None,
    })
}

fn create_user(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "UserRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if st.mfa.users.iter().any(|u| u["username"] == b["username"]) {
        return field_error("username", "This field must be unique.");
    }
    let pk = st.uuid_int();
    let mut v = user_obj(pk, "", "", "", "internal");
    for (k, val) in &b {
        v[k] = val.clone();
    }
    st.mfa.users.push(v.clone());
    respond(st, StatusCode::CREATED, "User", v)
}

fn patch_user(st: &mut State, id: &str, body: Option<&Value>) -> Answer {
    let b = match checked(st, "PatchedUserRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(i) = user_index(st, id) else {
        return not_found();
    };
    for (k, val) in &b {
        st.mfa.users[i][k] = val.clone();
    }
    let v = st.mfa.users[i].clone();
    respond(st, StatusCode::OK, "User", v)
}

/// authentik refuses a recovery link when the brand has no recovery flow.
fn recovery(st: &mut State, id: &str, body: Option<&Value>) -> Answer {
    if body.is_some() {
        if let Err(e) = checked(st, "UserRecoveryLinkRequest", body) {
            return e;
        }
    }
    let Some(i) = user_index(st, id) else {
        return not_found();
    };
    let has_flow = st
        .mfa
        .brands
        .iter()
        .any(|b| b["default"] == true && !b["flow_recovery"].is_null());
    if !has_flow {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"non_field_errors": ["No recovery flow set."]}),
        );
    }
    let pk = st.mfa.users[i]["pk"].clone();
    let v = json!({ "link": format!("https://auth.example.com/if/flow/recovery/?token=tok{pk}") });
    respond(st, StatusCode::OK, "Link", v)
}

fn service_account(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "UserServiceAccountRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if st.mfa.users.iter().any(|u| u["username"] == b["name"]) {
        return field_error("username", "This field must be unique.");
    }
    let pk = st.uuid_int();
    let name = b["name"].as_str().unwrap_or_default().to_owned();
    let user = user_obj(pk, &name, &name, "", "service_account");
    st.mfa.users.push(user.clone());
    let expiring = b.get("expiring").and_then(Value::as_bool).unwrap_or(true);
    let id = format!("service-account-{name}-password");
    let tpk = st.uuid();
    st.mfa.tokens.push(json!({
        "pk": tpk, "managed": null, "identifier": id, "intent": "app_password",
        "user": pk, "user_obj": user, "description": "", "expires": null, "expiring": expiring
    }));
    let v = json!({
        "username": name, "token": format!("sa-token-{pk}-secret-value"), "user_uid": user["uid"],
        "user_pk": pk
    });
    respond(st, StatusCode::OK, "UserServiceAccountResponse", v)
}

fn create_group(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "GroupRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if st.groups.iter().any(|g| g["name"] == b["name"]) {
        return field_error("name", "group with this name already exists.");
    }
    let pk = st.uuid();
    let num = st.uuid_int();
    let mut v = json!({
        "pk": pk, "num_pk": num, "name": "", "is_superuser": false, "parents": [],
        "parents_obj": null, "users": [], "users_obj": null, "attributes": {}, "roles": [],
        "roles_obj": [], "inherited_roles_obj": null, "children": [], "children_obj": null
    });
    for (k, val) in &b {
        v[k] = val.clone();
    }
    st.groups.push(v.clone());
    respond(st, StatusCode::CREATED, "Group", v)
}

fn add_user(st: &mut State, uuid: &str, body: Option<&Value>) -> Answer {
    let b = match checked(st, "UserAccountRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(i) = st
        .groups
        .iter()
        .position(|g| g["pk"].as_str() == Some(uuid))
    else {
        return not_found();
    };
    if !st.mfa.users.iter().any(|u| u["pk"] == b["pk"]) {
        return field_error("pk", "User does not exist.");
    }
    if let Some(users) = st.groups[i]["users"].as_array_mut() {
        if !users.contains(&b["pk"]) {
            users.push(b["pk"].clone());
        }
    }
    let group = st.groups[i]["pk"].clone();
    if let Some(u) = st.mfa.users.iter_mut().find(|u| u["pk"] == b["pk"]) {
        if let Some(groups) = u["groups"].as_array_mut() {
            groups.push(group);
        }
    }
    (StatusCode::NO_CONTENT, None)
}
