//! The fake's flows, stages, flow stage bindings, users, tokens, devices, brands and roles: the
//! endpoints of the MFA settings and `gatehouse admin create`, seeded with what authentik's
//! default blueprints make (`default-authentication-flow` with its four stages, the validation
//! stage at order 30 with "skip", every device class and no configuration stage; the TOTP and
//! WebAuthn setup stages; `akadmin` in `authentik Admins` owning the bootstrap token; the default
//! brand without a recovery flow). Like the rest of the fake, every body is schema-checked
//! and the rules the schema cannot say are kept: "configure" needs a configuration stage, a
//! flow's deletion takes its bindings and the providers using it as authorization flow, a
//! recovery link needs the brand's recovery flow.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{checked, field_error, flow, page, reply, respond, State};

pub const AUTH_FLOW_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a0";
pub const VALIDATE_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a3";
pub const TOTP_SETUP_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a5";
pub const WEBAUTHN_SETUP_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a6";
pub const ADMINS_GROUP_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000b1";
pub const BRAND_PK: &str = "8e1b4b6c-2d1f-4c0a-9d2e-0000000000c1";
/// `akadmin`, the same user as the one of [`super::tokens`].
pub const AKADMIN_PK: i64 = 1;
const COMPONENT_VALIDATE: &str = "ak-stage-authenticator-validate-form";
const COMPONENT_TOTP: &str = "ak-stage-authenticator-totp-form";
const COMPONENT_WEBAUTHN: &str = "ak-stage-authenticator-webauthn-form";
const NOW: &str = "2026-11-30T09:00:00Z";

/// What the MFA and admin endpoints keep.
#[derive(Debug, Default)]
pub struct MfaWorld {
    /// Every stage, told apart by `component`.
    pub stages: Vec<Value>,
    pub flow_bindings: Vec<Value>,
    pub users: Vec<Value>,
    pub tokens: Vec<Value>,
    /// Authenticator devices by user pk.
    pub devices: BTreeMap<i64, Vec<Value>>,
    pub brands: Vec<Value>,
    pub roles: Vec<Value>,
    /// Permissions assigned to each role (by role pk).
    pub role_permissions: BTreeMap<String, Vec<String>>,
    /// Passwords set through the API, by user pk.
    pub passwords: BTreeMap<i64, String>,
    /// Who the fake's token belongs to.
    pub token_owner: i64,
}

fn stage(pk: &str, name: &str, component: &str) -> Value {
    json!({
        "pk": pk, "name": name, "component": component, "verbose_name": "Stage",
        "verbose_name_plural": "Stages", "meta_model_name": "stage", "flow_set": []
    })
}

fn validate_stage(pk: &str, name: &str) -> Value {
    let mut v = stage(pk, name, COMPONENT_VALIDATE);
    for (k, val) in [
        ("not_configured_action", json!("skip")),
        (
            "device_classes",
            json!(["static", "totp", "webauthn", "duo", "sms", "email"]),
        ),
        ("configuration_stages", json!([])),
        ("last_auth_threshold", json!("seconds=0")),
        ("webauthn_user_verification", json!("preferred")),
        ("webauthn_hints", json!([])),
        ("webauthn_allowed_device_types", json!([])),
        ("webauthn_allowed_device_types_obj", json!([])),
    ] {
        v[k] = val;
    }
    v
}

fn binding(pk: &str, target: &str, stage: &Value, order: i64) -> Value {
    // `stage_obj` is the plain Stage serializer.
    let stage_obj: Map<String, Value> = [
        "pk",
        "name",
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
        "flow_set",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), stage[*k].clone()))
    .collect();
    json!({
        "pk": pk, "policybindingmodel_ptr_id": pk, "target": target,
        "stage": stage["pk"], "stage_obj": stage_obj, "evaluate_on_plan": false,
        "re_evaluate_policies": true, "order": order, "policy_engine_mode": "any",
        "invalid_response_action": "retry"
    })
}

pub fn user_obj(pk: i64, username: &str, name: &str, email: &str, kind: &str) -> Value {
    json!({
        "pk": pk, "username": username, "name": name, "is_active": true, "last_login": null,
        "date_joined": NOW, "is_superuser": false, "groups": [], "groups_obj": null,
        "roles": [], "roles_obj": null, "email": email, "avatar": "", "attributes": {},
        "uid": format!("uid{pk}"), "path": "users", "type": kind,
        "uuid": format!("8e1b4b6c-2d1f-4c0a-9d2e-{:012x}", 0x9000 + pk),
        "password_change_date": NOW, "last_updated": NOW
    })
}

fn token_obj(pk: &str, identifier: &str, user: &Value, expiring: bool) -> Value {
    json!({
        "pk": pk, "managed": null, "identifier": identifier, "intent": "api",
        "user": user["pk"], "user_obj": user, "description": "", "expires": null,
        "expiring": expiring
    })
}

/// A confirmed (or not) TOTP device of a user.
pub fn device(pk: &str, confirmed: bool) -> Value {
    json!({
        "verbose_name": "TOTP Device", "verbose_name_plural": "TOTP Devices",
        "meta_model_name": "authentik_stages_authenticator_totp.totpdevice", "pk": pk,
        "name": "phone", "type": "authentik_stages_authenticator_totp.TOTPDevice",
        "confirmed": confirmed, "created": NOW, "last_updated": NOW, "last_used": null,
        "extra_description": null, "external_id": null
    })
}

/// What the default blueprints make.
pub fn seed(st: &mut State) {
    st.flows.push(flow(
        AUTH_FLOW_PK,
        "default-authentication-flow",
        "authentication",
    ));
    let stages = [
        stage(
            "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a1",
            "default-authentication-identification",
            "ak-stage-identification-form",
        ),
        stage(
            "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a2",
            "default-authentication-password",
            "ak-stage-password-form",
        ),
        validate_stage(VALIDATE_PK, "default-authentication-mfa-validation"),
        stage(
            "8e1b4b6c-2d1f-4c0a-9d2e-0000000000a4",
            "default-authentication-login",
            "ak-stage-user-login-form",
        ),
    ];
    for (i, (s, order)) in stages.iter().zip([10, 20, 30, 100]).enumerate() {
        let pk = format!("8e1b4b6c-2d1f-4c0a-9d2e-0000000000d{i}");
        st.mfa
            .flow_bindings
            .push(binding(&pk, AUTH_FLOW_PK, s, order));
    }
    st.mfa.stages.extend(stages);
    let mut totp = stage(
        TOTP_SETUP_PK,
        "default-authenticator-totp-setup",
        COMPONENT_TOTP,
    );
    totp["digits"] = json!("6");
    totp["configure_flow"] = Value::Null;
    totp["friendly_name"] = json!("");
    st.mfa.stages.push(totp);
    let mut webauthn = stage(
        WEBAUTHN_SETUP_PK,
        "default-authenticator-webauthn-setup",
        COMPONENT_WEBAUTHN,
    );
    webauthn["device_type_restrictions_obj"] = json!([]);
    st.mfa.stages.push(webauthn);
    let akadmin = user_obj(
        AKADMIN_PK,
        "akadmin",
        "authentik Default Admin",
        "",
        "internal",
    );
    st.mfa.tokens.push(token_obj(
        "8e1b4b6c-2d1f-4c0a-9d2e-0000000000e1",
        "authentik-bootstrap-token",
        &akadmin,
        false,
    ));
    st.mfa.users.push(akadmin);
    st.mfa.token_owner = AKADMIN_PK;
    st.groups.push(json!({
        "pk": ADMINS_GROUP_PK, "num_pk": 1, "name": "authentik Admins", "is_superuser": true,
        "parents": [], "parents_obj": null, "users": [AKADMIN_PK], "users_obj": null,
        "attributes": {}, "roles": [], "roles_obj": [], "inherited_roles_obj": null,
        "children": [], "children_obj": null
    }));
    st.mfa.brands.push(json!({
        "brand_uuid": BRAND_PK, "domain": "authentik-default", "default": true,
        "branding_title": "authentik", "branding_logo": "", "branding_favicon": "",
        "branding_custom_css": "", "branding_default_flow_background": "",
        "flow_authentication": AUTH_FLOW_PK, "flow_invalidation": null, "flow_recovery": null,
        "flow_unenrollment": null, "flow_user_settings": null, "flow_device_code": null,
        "flow_lockdown": null, "default_application": null, "web_certificate": null,
        "client_certificates": [], "attributes": {}
    }));
}

pub type Answer = (StatusCode, Option<Value>);
pub type Query = BTreeMap<String, Vec<String>>;

fn not_found() -> Answer {
    reply(StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
}

fn filtered(items: &[Value], q: &Query, key: &str, field: &str) -> Vec<Value> {
    match q.get(key) {
        Some(vals) => items
            .iter()
            .filter(|i| {
                vals.iter().any(|v| match &i[field] {
                    Value::String(s) => s == v,
                    Value::Bool(b) => v.parse() == Ok(*b),
                    _ => false,
                })
            })
            .cloned()
            .collect(),
        None => items.to_vec(),
    }
}

fn of_component(st: &State, component: &str) -> Vec<Value> {
    st.mfa
        .stages
        .iter()
        .filter(|s| s["component"] == component)
        .cloned()
        .collect()
}

/// The answer to a request this part of the fake serves; `None` for the rest of the fake.
pub fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    q: &Query,
    body: Option<&Value>,
) -> Option<Answer> {
    Some(match (method.clone(), segs) {
        (Method::GET, ["flows", "instances"]) if q.contains_key("designation") => {
            let items = filtered(&st.flows, q, "designation", "designation");
            let items = filtered(&items, q, "slug", "slug");
            page(st, items, q, "Flow")
        }
        (Method::POST, ["flows", "instances"]) => create_flow(st, body),
        (Method::DELETE, ["flows", "instances", slug]) => delete_flow(st, slug),
        (Method::GET, ["flows", "bindings"]) => {
            let items = filtered(&st.mfa.flow_bindings, q, "target", "target");
            page(st, items, q, "FlowStageBinding")
        }
        (Method::POST, ["flows", "bindings"]) => create_binding(st, body),
        (Method::GET, ["stages", "authenticator", "validate"]) => {
            let items = of_component(st, COMPONENT_VALIDATE);
            page(st, items, q, "AuthenticatorValidateStage")
        }
        (Method::POST, ["stages", "authenticator", "validate"]) => create_validate(st, body),
        (Method::PATCH, ["stages", "authenticator", "validate", pk]) => {
            patch_validate(st, pk, body)
        }
        (Method::DELETE, ["stages", "authenticator", "validate", pk]) => delete_stage(st, pk),
        (Method::GET, ["stages", "authenticator", "totp"]) => {
            let items = of_component(st, COMPONENT_TOTP);
            page(st, items, q, "AuthenticatorTOTPStage")
        }
        (Method::POST, ["stages", "authenticator", "totp"]) => {
            create_setup(st, body, "AuthenticatorTOTPStage")
        }
        (Method::GET, ["stages", "authenticator", "webauthn"]) => {
            let items = of_component(st, COMPONENT_WEBAUTHN);
            page(st, items, q, "AuthenticatorWebAuthnStage")
        }
        (Method::POST, ["stages", "authenticator", "webauthn"]) => {
            create_setup(st, body, "AuthenticatorWebAuthnStage")
        }
        _ => return super::admin::route(st, method, segs, q, body),
    })
}

fn create_flow(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "FlowRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if st.flows.iter().any(|f| f["slug"] == b["slug"]) {
        return field_error("slug", "flow with this slug already exists.");
    }
    let pk = st.uuid();
    let mut v = flow(
        &pk,
        b["slug"].as_str().unwrap_or_default(),
        b["designation"].as_str().unwrap_or_default(),
    );
    for (k, val) in &b {
        v[k] = val.clone();
    }
    st.flows.push(v.clone());
    respond(st, StatusCode::CREATED, "Flow", v)
}

/// authentik deletes the flow's bindings with it, and every provider whose authorization flow
/// it is (a cascading foreign key).
fn delete_flow(st: &mut State, slug: &str) -> Answer {
    let Some(i) = st
        .flows
        .iter()
        .position(|f| f["slug"].as_str() == Some(slug))
    else {
        return not_found();
    };
    let pk = st.flows.remove(i)["pk"].clone();
    st.mfa.flow_bindings.retain(|b| b["target"] != pk);
    st.providers.retain(|p| p["authorization_flow"] != pk);
    (StatusCode::NO_CONTENT, None)
}

fn create_binding(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "FlowStageBindingRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if !st.flows.iter().any(|f| f["pk"] == b["target"]) {
        return field_error("target", "Invalid pk - object does not exist.");
    }
    let Some(stage_obj) = st
        .mfa
        .stages
        .iter()
        .find(|s| s["pk"] == b["stage"])
        .cloned()
    else {
        return field_error("stage", "Invalid pk - object does not exist.");
    };
    if st
        .mfa
        .flow_bindings
        .iter()
        .any(|x| x["target"] == b["target"] && x["stage"] == b["stage"] && x["order"] == b["order"])
    {
        return field_error(
            "non_field_errors",
            "The fields target, stage, order must make a unique set.",
        );
    }
    let pk = st.uuid();
    let target = b["target"].as_str().unwrap_or_default().to_owned();
    let order = b["order"].as_i64().unwrap_or_default();
    let v = binding(&pk, &target, &stage_obj, order);
    st.mfa.flow_bindings.push(v.clone());
    respond(st, StatusCode::CREATED, "FlowStageBinding", v)
}

/// authentik's serializer: "configure" needs a configuration stage.
fn configure_without_stage(v: &Value) -> Option<Answer> {
    let empty = v["configuration_stages"]
        .as_array()
        .is_none_or(|a| a.is_empty());
    (v["not_configured_action"] == "configure" && empty).then(|| {
        field_error(
            "non_field_errors",
            "When \"Not configured action\" is set to \"Configure\", you must set a configuration stage.",
        )
    })
}

fn stages_exist(st: &State, b: &Map<String, Value>) -> Option<Answer> {
    let ids = b.get("configuration_stages").and_then(Value::as_array)?;
    ids.iter()
        .find(|id| !st.mfa.stages.iter().any(|s| &s["pk"] == *id))
        .map(|id| {
            field_error(
                "configuration_stages",
                &format!("Invalid pk \"{id}\" - object does not exist."),
            )
        })
}

fn unique_name(st: &State, b: &Map<String, Value>) -> Option<Answer> {
    st.mfa
        .stages
        .iter()
        .any(|s| s["name"] == b["name"])
        .then(|| field_error("name", "stage with this name already exists."))
}

fn create_validate(st: &mut State, body: Option<&Value>) -> Answer {
    let b = match checked(st, "AuthenticatorValidateStageRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some(e) = unique_name(st, &b).or_else(|| stages_exist(st, &b)) {
        return e;
    }
    let pk = st.uuid();
    let mut v = validate_stage(&pk, "");
    for (k, val) in &b {
        v[k] = val.clone();
    }
    if let Some(e) = configure_without_stage(&v) {
        return e;
    }
    st.mfa.stages.push(v.clone());
    respond(st, StatusCode::CREATED, "AuthenticatorValidateStage", v)
}

fn patch_validate(st: &mut State, pk: &str, body: Option<&Value>) -> Answer {
    let b = match checked(st, "PatchedAuthenticatorValidateStageRequest", body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some(e) = stages_exist(st, &b) {
        return e;
    }
    let Some(i) = st
        .mfa
        .stages
        .iter()
        .position(|s| s["pk"].as_str() == Some(pk) && s["component"] == COMPONENT_VALIDATE)
    else {
        return not_found();
    };
    let mut v = st.mfa.stages[i].clone();
    for (k, val) in &b {
        v[k] = val.clone();
    }
    if let Some(e) = configure_without_stage(&v) {
        return e;
    }
    st.mfa.stages[i] = v.clone();
    respond(st, StatusCode::OK, "AuthenticatorValidateStage", v)
}

fn delete_stage(st: &mut State, pk: &str) -> Answer {
    let before = st.mfa.stages.len();
    st.mfa.stages.retain(|s| s["pk"].as_str() != Some(pk));
    if st.mfa.stages.len() == before {
        return not_found();
    }
    st.mfa
        .flow_bindings
        .retain(|b| b["stage"].as_str() != Some(pk));
    (StatusCode::NO_CONTENT, None)
}

fn create_setup(st: &mut State, body: Option<&Value>, schema: &str) -> Answer {
    let request = format!("{schema}Request");
    let b = match checked(st, &request, body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some(e) = unique_name(st, &b) {
        return e;
    }
    let pk = st.uuid();
    let mut v = if schema == "AuthenticatorTOTPStage" {
        let mut v = stage(&pk, "", COMPONENT_TOTP);
        v["configure_flow"] = Value::Null;
        v["friendly_name"] = json!("");
        v
    } else {
        let mut v = stage(&pk, "", COMPONENT_WEBAUTHN);
        v["device_type_restrictions_obj"] = json!([]);
        v
    };
    for (k, val) in &b {
        v[k] = val.clone();
    }
    st.mfa.stages.push(v.clone());
    respond(st, StatusCode::CREATED, schema, v)
}

/// The stage with this name, as the fake holds it.
pub fn stage_named(st: &State, name: &str) -> Option<Value> {
    st.mfa.stages.iter().find(|s| s["name"] == name).cloned()
}
