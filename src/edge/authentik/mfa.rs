//! The flows, stages and flow stage bindings endpoints the MFA settings use, over HTTP
//! (the [`super::Api`] methods of [`Client`] call these).

use hyper::Method;
use serde_json::json;

use super::transport::{encode, Client, NO_BODY};
use super::{ApiError, SetupKind};
use crate::model::authentik::{
    FlowCreate, FlowInfo, FlowStageBinding, FlowStageBindingCreate, SetupStage, TotpStageCreate,
    ValidateFields, ValidateStage, ValidateStageCreate,
};

fn setup_path(kind: SetupKind) -> &'static str {
    match kind {
        SetupKind::Totp => "/stages/authenticator/totp/",
        SetupKind::Webauthn => "/stages/authenticator/webauthn/",
    }
}

impl Client {
    pub(super) async fn mfa_authorization_flows(&self) -> Result<Vec<FlowInfo>, ApiError> {
        self.list("/flows/instances/", "designation=authorization")
            .await
    }

    pub(super) async fn mfa_flow_bindings(
        &self,
        target: &str,
    ) -> Result<Vec<FlowStageBinding>, ApiError> {
        let got: Vec<FlowStageBinding> = self
            .list(
                "/flows/bindings/",
                &format!("target={}&ordering=order", encode(target)),
            )
            .await?;
        Ok(got.into_iter().filter(|b| b.target == target).collect())
    }

    pub(super) async fn mfa_validate_stages(&self) -> Result<Vec<ValidateStage>, ApiError> {
        self.list("/stages/authenticator/validate/", "ordering=name")
            .await
    }

    pub(super) async fn mfa_setup_stages(
        &self,
        kind: SetupKind,
    ) -> Result<Vec<SetupStage>, ApiError> {
        self.list(setup_path(kind), "ordering=name").await
    }

    pub(super) async fn mfa_patch_validate_stage(
        &self,
        pk: &str,
        body: &ValidateFields,
    ) -> Result<(), ApiError> {
        self.send(
            Method::PATCH,
            &format!("/stages/authenticator/validate/{}/", encode(pk)),
            Some(body),
        )
        .await
        .map(drop)
    }

    pub(super) async fn mfa_create_setup_stage(
        &self,
        kind: SetupKind,
        name: &str,
    ) -> Result<SetupStage, ApiError> {
        match kind {
            SetupKind::Totp => {
                let body = TotpStageCreate {
                    name: name.to_owned(),
                    digits: "6".into(),
                };
                self.json(Method::POST, setup_path(kind), Some(&body)).await
            }
            SetupKind::Webauthn => {
                let body = json!({ "name": name });
                self.json(Method::POST, setup_path(kind), Some(&body)).await
            }
        }
    }

    pub(super) async fn mfa_create_validate_stage(
        &self,
        body: &ValidateStageCreate,
    ) -> Result<ValidateStage, ApiError> {
        self.json(Method::POST, "/stages/authenticator/validate/", Some(body))
            .await
    }

    pub(super) async fn mfa_delete_validate_stage(&self, pk: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/stages/authenticator/validate/{}/", encode(pk)),
            NO_BODY,
        )
        .await
        .map(drop)
    }

    pub(super) async fn mfa_create_flow(&self, body: &FlowCreate) -> Result<FlowInfo, ApiError> {
        self.json(Method::POST, "/flows/instances/", Some(body))
            .await
    }

    pub(super) async fn mfa_delete_flow(&self, slug: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            &format!("/flows/instances/{}/", encode(slug)),
            NO_BODY,
        )
        .await
        .map(drop)
    }

    pub(super) async fn mfa_create_flow_binding(
        &self,
        body: &FlowStageBindingCreate,
    ) -> Result<(), ApiError> {
        self.send(Method::POST, "/flows/bindings/", Some(body))
            .await
            .map(drop)
    }
}
