//! An authentik in memory, for unit tests of the provisioner, the worker and the planner (whose
//! plans the provisioner applies on it, [`World::from_actual`]) without HTTP. It
//! keeps the objects gatehouse touches and the rules that decide what gatehouse must handle
//! (unique names and slugs, one application per provider, a binding needs a known target,
//! deletions that cascade), and counts requests like the HTTP client. Field names and the
//! serializers' cross-field rules are checked by the schema-checked fake in `tests/`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Api, ApiError};
use crate::model::authentik::{
    AppCreate, AppPatch, Application, BindingCreate, CertificateKeyPair, Flow, Group, OAuth2Create,
    OAuth2Patch, OAuth2Provider, Outpost, PolicyBinding, ProviderCreate, ProviderPatch,
    ProxyProvider, ScopeMapping, ScopeMappingCreate, ServerVersion, VersionInfo,
};
use crate::plan::authentik::{Actual, Rules, EMBEDDED_OUTPOST};

#[path = "memory_oauth2.rs"]
mod oauth2;

/// What the in-memory authentik holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct World {
    pub(crate) version: String,
    pub(crate) flows: Vec<Flow>,
    pub(crate) providers: Vec<ProxyProvider>,
    pub(crate) applications: Vec<Application>,
    pub(crate) outposts: Vec<Outpost>,
    pub(crate) groups: Vec<Group>,
    pub(crate) bindings: Vec<PolicyBinding>,
    /// Every request fails as if authentik could not be reached.
    pub(crate) down: bool,
    next_id: i64,
    /// The pks of applications deleted: never given again (authentik's are UUIDs).
    retired: Vec<String>,
    pub(crate) oauth2: Vec<OAuth2Provider>,
    pub(crate) scope_mappings: Vec<ScopeMapping>,
    pub(crate) certificates: Vec<CertificateKeyPair>,
}

impl World {
    /// A current authentik with the default flows and the embedded outpost, nothing else.
    pub(crate) fn current() -> Self {
        Self {
            version: "2026.5.6".into(),
            flows: vec![
                flow(
                    "flow-authz",
                    "default-provider-authorization-implicit-consent",
                ),
                flow("flow-inval", "default-provider-invalidation-flow"),
            ],
            outposts: vec![Outpost {
                pk: "outpost-embedded".into(),
                name: "authentik Embedded Outpost".into(),
                kind: Some("proxy".into()),
                providers: Vec::new(),
                managed: Some(EMBEDDED_OUTPOST.into()),
            }],
            scope_mappings: ["openid", "email", "profile", "offline_access"]
                .iter()
                .map(|s| ScopeMapping {
                    pk: format!("scope-{s}"),
                    managed: Some(crate::plan::authentik::managed_scope(s)),
                    name: format!("authentik default OAuth Mapping: {s}"),
                    scope_name: (*s).into(),
                })
                .collect(),
            certificates: vec![CertificateKeyPair {
                pk: "cert-self-signed".into(),
                name: crate::plan::authentik::SIGNING_KEY_NAME.into(),
            }],
            ..Self::default()
        }
    }

    /// An authentik holding what the planner read: `actual`'s objects, its version, and its
    /// flows under the slugs of `rules`.
    pub(crate) fn from_actual(actual: &Actual, rules: &Rules) -> Self {
        let version = actual
            .version
            .map(|v| format!("{}.{}.0", v.year, v.month))
            .unwrap_or_default();
        let flows = [
            (&actual.authorization_flow, &rules.authorization_flow_slug),
            (&actual.invalidation_flow, &rules.invalidation_flow_slug),
        ]
        .into_iter()
        .filter_map(|(pk, slug)| pk.as_deref().map(|pk| flow(pk, slug)))
        .collect();
        Self {
            version,
            flows,
            providers: actual.providers.clone(),
            applications: actual.applications.clone(),
            outposts: actual.outposts.clone(),
            groups: actual.groups.clone(),
            bindings: actual.bindings.clone(),
            down: false,
            next_id: actual
                .providers
                .iter()
                .map(|p| p.pk)
                .chain(actual.oauth2_providers.iter().map(|p| p.pk))
                .max()
                .unwrap_or(0),
            retired: Vec::new(),
            oauth2: actual.oauth2_providers.clone(),
            scope_mappings: actual.scope_mappings.clone(),
            certificates: actual
                .signing_key
                .iter()
                .map(|pk| CertificateKeyPair {
                    pk: pk.clone(),
                    name: crate::plan::authentik::SIGNING_KEY_NAME.into(),
                })
                .collect(),
        }
    }

    /// What the planner reads of it now: its objects, with the version and flows of `before`.
    pub(crate) fn to_actual(&self, before: &Actual) -> Actual {
        Actual {
            providers: self.providers.clone(),
            applications: self.applications.clone(),
            outposts: self.outposts.clone(),
            groups: self.groups.clone(),
            bindings: self.bindings.clone(),
            oauth2_providers: self.oauth2.clone(),
            ..before.clone()
        }
    }

    /// A new application's pk: `app-<slug>`, or with a number when that one was given before.
    fn app_pk(&mut self, slug: &str) -> String {
        let pk = format!("app-{slug}");
        let taken = self.retired.contains(&pk) || self.applications.iter().any(|a| a.pk == pk);
        if taken {
            format!("{pk}-{}", self.id())
        } else {
            pk
        }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

fn flow(pk: &str, slug: &str) -> Flow {
    Flow {
        pk: pk.into(),
        slug: slug.into(),
    }
}

/// The in-memory authentik: [`Api`] over a [`World`]. Clones share it (keep one to look at
/// what a worker did).
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryApi {
    world: Arc<Mutex<World>>,
    reads: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
}

fn refused(status: u16, method: &str, path: &str, message: &str) -> ApiError {
    ApiError::Status {
        status,
        method: method.into(),
        path: path.into(),
        message: message.into(),
    }
}

fn set<T>(slot: &mut T, value: &Option<T>)
where
    T: Clone,
{
    if let Some(v) = value {
        *slot = v.clone();
    }
}

fn set_opt(slot: &mut Option<String>, value: &Option<String>) {
    if let Some(v) = value {
        *slot = Some(v.clone());
    }
}

impl MemoryApi {
    pub(crate) fn new(world: World) -> Self {
        Self {
            world: Arc::new(Mutex::new(world)),
            ..Self::default()
        }
    }

    /// What it holds now.
    pub(crate) fn world(&self) -> World {
        self.lock().clone()
    }

    /// Changes what it holds, as the user would in authentik.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read<R>(&self, f: impl FnOnce(&World) -> Result<R, ApiError>) -> Result<R, ApiError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let w = self.lock();
        if w.down {
            return Err(ApiError::Unreachable("connection refused".into()));
        }
        f(&w)
    }

    fn write<R>(&self, f: impl FnOnce(&mut World) -> Result<R, ApiError>) -> Result<R, ApiError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut w = self.lock();
        if w.down {
            return Err(ApiError::Unreachable("connection refused".into()));
        }
        f(&mut w)
    }
}

impl Api for MemoryApi {
    fn reads_made(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn writes_made(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    async fn version(&self) -> Result<VersionInfo, ApiError> {
        self.read(|w| {
            Ok(VersionInfo {
                version_current: w.version.clone(),
            })
        })
    }

    async fn flow_by_slug(&self, slug: &str) -> Result<Option<Flow>, ApiError> {
        self.read(|w| Ok(w.flows.iter().find(|f| f.slug == slug).cloned()))
    }

    async fn proxy_providers(&self) -> Result<Vec<ProxyProvider>, ApiError> {
        self.read(|w| Ok(w.providers.clone()))
    }

    async fn applications(&self) -> Result<Vec<Application>, ApiError> {
        self.read(|w| Ok(w.applications.clone()))
    }

    async fn outposts(&self) -> Result<Vec<Outpost>, ApiError> {
        self.read(|w| Ok(w.outposts.clone()))
    }

    async fn groups(&self) -> Result<Vec<Group>, ApiError> {
        self.read(|w| Ok(w.groups.clone()))
    }

    async fn bindings(&self, targets: &[String]) -> Result<Vec<PolicyBinding>, ApiError> {
        self.read(|w| {
            Ok({
                w.bindings
                    .iter()
                    .filter(|b| targets.contains(&b.target))
                    .cloned()
                    .collect()
            })
        })
    }

    async fn create_provider(&self, body: &ProviderCreate) -> Result<ProxyProvider, ApiError> {
        self.write(|w| {
            if w.providers.iter().any(|p| p.name == body.name) {
                return Err(refused(
                    400,
                    "POST",
                    "/providers/proxy/",
                    "name: Provider with this name already exists.",
                ));
            }
            let p = ProxyProvider {
                pk: w.id(),
                name: body.name.clone(),
                authorization_flow: Some(body.authorization_flow.clone()),
                invalidation_flow: body.invalidation_flow.clone(),
                external_host: body.external_host.clone(),
                skip_path_regex: body.skip_path_regex.clone(),
                mode: Some(body.mode.as_str().into()),
                assigned_application_slug: None,
            };
            w.providers.push(p.clone());
            Ok(p)
        })
    }

    async fn patch_provider(&self, pk: i64, body: &ProviderPatch) -> Result<(), ApiError> {
        let body = body.request();
        self.write(|w| {
            let p = w
                .providers
                .iter_mut()
                .find(|p| p.pk == pk)
                .ok_or_else(|| refused(404, "PATCH", "/providers/proxy/", "Not found."))?;
            set(&mut p.name, &body.name);
            set_opt(&mut p.authorization_flow, &body.authorization_flow);
            set_opt(&mut p.invalidation_flow, &body.invalidation_flow);
            set(&mut p.external_host, &body.external_host);
            set(&mut p.skip_path_regex, &body.skip_path_regex);
            p.mode = body.mode.map(|m| m.as_str().to_owned());
            Ok(())
        })
    }

    async fn delete_provider(&self, pk: i64) -> Result<(), ApiError> {
        self.write(|w| {
            let before = w.providers.len();
            w.providers.retain(|p| p.pk != pk);
            if w.providers.len() == before {
                return Err(refused(404, "DELETE", "/providers/proxy/", "Not found."));
            }
            for o in &mut w.outposts {
                o.providers.retain(|p| *p != pk);
            }
            for a in &mut w.applications {
                if a.provider == Some(pk) {
                    a.provider = None;
                }
            }
            Ok(())
        })
    }

    async fn create_application(&self, body: &AppCreate) -> Result<Application, ApiError> {
        self.write(|w| {
            let path = "/core/applications/";
            if w.applications.iter().any(|a| a.slug == body.slug) {
                return Err(refused(
                    400,
                    "POST",
                    path,
                    "slug: Application with this slug already exists.",
                ));
            }
            if body.provider.is_some() && w.applications.iter().any(|a| a.provider == body.provider)
            {
                return Err(refused(
                    400,
                    "POST",
                    path,
                    "provider: Application with this provider already exists.",
                ));
            }
            let pk = w.app_pk(&body.slug);
            let a = Application {
                pk,
                slug: body.slug.clone(),
                name: body.name.clone(),
                provider: body.provider,
                group: body.group.clone(),
                meta_icon: body.meta_icon.clone(),
                meta_description: body.meta_description.clone(),
                meta_launch_url: body.meta_launch_url.clone(),
                meta_publisher: Some(body.meta_publisher.clone()),
            };
            w.applications.push(a.clone());
            Ok(a)
        })
    }

    async fn patch_application(
        &self,
        slug: &str,
        body: &AppPatch,
    ) -> Result<Application, ApiError> {
        self.write(|w| {
            let path = "/core/applications/";
            let taken = body.provider.is_some()
                && w.applications
                    .iter()
                    .any(|a| a.slug != slug && a.provider == body.provider);
            if taken {
                return Err(refused(
                    400,
                    "PATCH",
                    path,
                    "provider: Application with this provider already exists.",
                ));
            }
            let a = w
                .applications
                .iter_mut()
                .find(|a| a.slug == slug)
                .ok_or_else(|| refused(404, "PATCH", path, "Not found."))?;
            set(&mut a.name, &body.name);
            set(&mut a.slug, &body.slug);
            set_opt(&mut a.meta_publisher, &body.meta_publisher);
            set_opt(&mut a.group, &body.group);
            set_opt(&mut a.meta_icon, &body.meta_icon);
            set_opt(&mut a.meta_description, &body.meta_description);
            set_opt(&mut a.meta_launch_url, &body.meta_launch_url);
            if body.provider.is_some() {
                a.provider = body.provider;
            }
            Ok(a.clone())
        })
    }

    async fn delete_application(&self, slug: &str) -> Result<(), ApiError> {
        self.write(|w| {
            let Some(i) = w.applications.iter().position(|a| a.slug == slug) else {
                return Err(refused(404, "DELETE", "/core/applications/", "Not found."));
            };
            let pk = w.applications.remove(i).pk;
            w.bindings.retain(|b| b.target != pk);
            w.retired.push(pk);
            Ok(())
        })
    }

    async fn outpost(&self, pk: &str) -> Result<Outpost, ApiError> {
        self.read(|w| {
            w.outposts
                .iter()
                .find(|o| o.pk == pk)
                .cloned()
                .ok_or_else(|| refused(404, "GET", "/outposts/instances/", "Not found."))
        })
    }

    async fn set_outpost_providers(&self, pk: &str, providers: &[i64]) -> Result<(), ApiError> {
        self.write(|w| {
            let path = "/outposts/instances/";
            if let Some(p) = providers
                .iter()
                .find(|p| !w.providers.iter().any(|x| x.pk == **p))
            {
                return Err(refused(
                    400,
                    "PATCH",
                    path,
                    &format!("providers: Invalid pk \"{p}\" - object does not exist."),
                ));
            }
            let o = w
                .outposts
                .iter_mut()
                .find(|o| o.pk == pk)
                .ok_or_else(|| refused(404, "PATCH", path, "Not found."))?;
            o.providers = providers.to_vec();
            Ok(())
        })
    }

    async fn create_binding(&self, body: &BindingCreate) -> Result<(), ApiError> {
        self.write(|w| {
            let path = "/policies/bindings/";
            if !w.applications.iter().any(|a| a.pk == body.target) {
                return Err(refused(
                    400,
                    "POST",
                    path,
                    "target: Invalid pk - object does not exist.",
                ));
            }
            if !w.groups.iter().any(|g| g.pk == body.group) {
                return Err(refused(
                    400,
                    "POST",
                    path,
                    "group: Invalid pk - object does not exist.",
                ));
            }
            let pk = format!("binding-{}", w.id());
            w.bindings.push(PolicyBinding {
                pk,
                policy: None,
                group: Some(body.group.clone()),
                user: None,
                target: body.target.clone(),
                order: body.order,
            });
            Ok(())
        })
    }

    async fn delete_binding(&self, pk: &str) -> Result<(), ApiError> {
        self.write(|w| {
            let before = w.bindings.len();
            w.bindings.retain(|b| b.pk != pk);
            if w.bindings.len() == before {
                return Err(refused(404, "DELETE", "/policies/bindings/", "Not found."));
            }
            Ok(())
        })
    }

    async fn oauth2_providers(&self) -> Result<Vec<OAuth2Provider>, ApiError> {
        self.read(|w| Ok(w.oauth2.clone()))
    }

    async fn scope_mappings(&self, _: ServerVersion) -> Result<Vec<ScopeMapping>, ApiError> {
        self.read(|w| Ok(w.scope_mappings.clone()))
    }

    async fn certificate_by_name(
        &self,
        name: &str,
    ) -> Result<Option<CertificateKeyPair>, ApiError> {
        self.read(|w| Ok(w.certificates.iter().find(|c| c.name == name).cloned()))
    }

    async fn create_oauth2_provider(
        &self,
        body: &OAuth2Create,
    ) -> Result<OAuth2Provider, ApiError> {
        self.write(|w| w.create_oauth2(body))
    }

    async fn patch_oauth2_provider(
        &self,
        pk: i64,
        body: &OAuth2Patch,
    ) -> Result<OAuth2Provider, ApiError> {
        self.write(|w| w.patch_oauth2(pk, body))
    }

    async fn delete_oauth2_provider(&self, pk: i64) -> Result<(), ApiError> {
        self.write(|w| w.delete_oauth2(pk))
    }

    async fn create_scope_mapping(
        &self,
        _: ServerVersion,
        body: &ScopeMappingCreate,
    ) -> Result<ScopeMapping, ApiError> {
        self.write(|w| {
            let m = ScopeMapping {
                pk: format!("scope-made-{}", w.id()),
                managed: None,
                name: body.name.clone(),
                scope_name: body.scope_name.clone(),
            };
            w.scope_mappings.push(m.clone());
            Ok(m)
        })
    }
}
