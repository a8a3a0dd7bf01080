//! The endpoints `gatehouse admin create` uses, over HTTP (not part of [`super::Api`]: the
//! provisioner never touches users).

use hyper::Method;
use serde_json::json;

use super::transport::{encode, Client, NO_BODY};
use super::ApiError;
use crate::model::authentik::{
    Brand, Device, GroupCreate, Link, Owner, ServiceAccount, SessionUser, SuperGroup, User,
    UserCreate,
};

impl Client {
    /// The user the API token belongs to.
    pub(crate) async fn token_owner(&self) -> Result<Owner, ApiError> {
        let me: SessionUser = self.json(Method::GET, "/core/users/me/", NO_BODY).await?;
        Ok(me.user)
    }

    pub(crate) async fn user_named(&self, username: &str) -> Result<Option<User>, ApiError> {
        let users: Vec<User> = self
            .list("/core/users/", &format!("username={}", encode(username)))
            .await?;
        Ok(users.into_iter().find(|u| u.username == username))
    }

    pub(crate) async fn create_user(&self, body: &UserCreate) -> Result<User, ApiError> {
        self.json(Method::POST, "/core/users/", Some(body)).await
    }

    pub(crate) async fn set_user_active(&self, pk: i64, active: bool) -> Result<(), ApiError> {
        let body = json!({ "is_active": active });
        self.send(Method::PATCH, &format!("/core/users/{pk}/"), Some(&body))
            .await
            .map(drop)
    }

    /// The groups whose members are superusers (authentik's `is_superuser` flag: the admins
    /// group is found by it, not by its name).
    pub(crate) async fn superuser_groups(&self) -> Result<Vec<SuperGroup>, ApiError> {
        self.list(
            "/core/groups/",
            "is_superuser=true&include_users=false&ordering=name",
        )
        .await
    }

    pub(crate) async fn create_group(&self, body: &GroupCreate) -> Result<SuperGroup, ApiError> {
        self.json(Method::POST, "/core/groups/", Some(body)).await
    }

    pub(crate) async fn add_to_group(&self, group: &str, user: i64) -> Result<(), ApiError> {
        let body = json!({ "pk": user });
        self.send(
            Method::POST,
            &format!("/core/groups/{}/add_user/", encode(group)),
            Some(&body),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn brands(&self) -> Result<Vec<Brand>, ApiError> {
        self.list("/core/brands/", "").await
    }

    /// A one-time recovery link: `POST` as in the 2026.5 schema; a server that answers 405 to
    /// it (older releases served the link on `GET`) is asked with `GET`.
    pub(crate) async fn recovery_link(&self, pk: i64) -> Result<String, ApiError> {
        let path = format!("/core/users/{pk}/recovery/");
        let link: Link = match self.json(Method::POST, &path, Some(&json!({}))).await {
            Err(e) if e.status() == Some(405) => self.json(Method::GET, &path, NO_BODY).await?,
            other => other?,
        };
        Ok(link.link)
    }

    pub(crate) async fn set_password(&self, pk: i64, password: &str) -> Result<(), ApiError> {
        let body = json!({ "password": password });
        self.send(
            Method::POST,
            &format!("/core/users/{pk}/set_password/"),
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// The user's authenticator devices (confirmed or not).
    pub(crate) async fn devices_of(&self, pk: i64) -> Result<Vec<Device>, ApiError> {
        self.json(
            Method::GET,
            &format!("/authenticators/admin/all/?user={pk}"),
            NO_BODY,
        )
        .await
    }

    /// A service account with a non-expiring token (returned once).
    pub(crate) async fn create_service_account(
        &self,
        name: &str,
    ) -> Result<ServiceAccount, ApiError> {
        let body = json!({ "name": name, "create_group": false, "expiring": false });
        self.json(Method::POST, "/core/users/service_account/", Some(&body))
            .await
    }
}
