//! gatehouse's own conf labels: `auth.protect`, `auth.expose`, `auth.subdomain`, `auth.port`,
//! `auth.proto`, `auth.address`, `auth.bypass`, `auth.preset` and the raw directives (prefix
//! configurable); the upstream part is shared with the swag-auto-proxy labels.

use super::reader::Reader;
use super::shown;
use crate::model::spec::{
    Access, Address, AppSpec, BypassPath, LabelSet, Port, PresetName, Proto, RawDirective,
    ServerName, Template,
};
use crate::model::workload::{Workload, WorkloadKind};

impl Reader<'_> {
    pub(super) fn read_gatehouse(&mut self) -> Option<AppSpec> {
        let protect_label = self.own("protect");
        let expose_label = self.own("expose");
        let protect = self.get_bool(&protect_label);
        if self.has_own("protect") && protect != Some(false) {
            // An unreadable value counts as asking for protection: fail closed.
            self.wants_protection = true;
        }
        let expose = self.get_bool(&expose_label);
        let access = match (protect, expose) {
            (Some(true), Some(true)) => {
                self.problem(
                    &expose_label,
                    "true",
                    format!("cannot be true together with {protect_label}=true: choose one"),
                );
                None
            }
            (Some(true), _) => Some(Access::Protected),
            (_, Some(true)) if !self.wants_protection => Some(Access::Exposed),
            _ => None,
        };
        if access.is_none() && self.problems.is_empty() {
            return None; // both false: not published
        }

        let sub_label = self.own("subdomain");
        let server_names = if self.label(&sub_label).is_some() {
            self.get_list(&sub_label, |s| ServerName::parse(s, false))
        } else {
            self.default_server_names(&sub_label)
        };
        let spec_common = self.read_upstream_and_extras(
            &self.own("address"),
            &self.own("port"),
            &self.own("proto"),
            &self.own("bypass"),
            &[self.own("server_directive")],
            &[self.own("location_directive")],
        );
        let preset_label = self.own("preset");
        let template = match self.get(&preset_label, PresetName::parse) {
            Some(p) => Template::Preset(p),
            None => Template::BuiltIn,
        };
        let access = access?;
        let common = spec_common?;
        if server_names.is_empty() {
            return None;
        }
        Some(common.into_spec(self.c, access, server_names, template, LabelSet::Gatehouse))
    }

    pub(super) fn default_server_names(&mut self, label: &str) -> Vec<ServerName> {
        let name = self.c.default_subdomain();
        match ServerName::parse(name, false) {
            Ok(s) => vec![s],
            Err(rule) => {
                // The default is the compose service's name when compose named the container.
                let whose = if name == self.c.name {
                    "the container's name"
                } else {
                    "the compose service's name"
                };
                let rule = format!(
                    "is not set, and the default, {whose} {}, {rule}: set {label}",
                    shown(name)
                );
                self.problem(label, "", rule);
                Vec::new()
            }
        }
    }

    pub(super) fn read_upstream_and_extras(
        &mut self,
        address_label: &str,
        port_label: &str,
        proto_label: &str,
        bypass_label: &str,
        server_directive_labels: &[String],
        location_directive_labels: &[String],
    ) -> Option<Common> {
        let upstream = self.swarm_upstream(address_label);
        let address = if self.label(address_label).is_some() {
            self.get(address_label, Address::parse)
        } else {
            let host = upstream?;
            match Address::parse(&host) {
                Ok(a) => Some(a),
                Err(rule) => {
                    let rule = format!("is not set, and the container's name {rule}");
                    self.problem(address_label, "", rule);
                    None
                }
            }
        };
        let port = self.get(port_label, Port::parse);
        let proto = self.get(proto_label, Proto::parse);
        let bypass = self.get_list(bypass_label, BypassPath::parse);
        let server_directives = self.raw_directives(server_directive_labels);
        let location_directives = self.raw_directives(location_directive_labels);
        Some(Common {
            address: address?,
            port,
            proto,
            bypass,
            server_directives,
            location_directives,
        })
    }

    /// The default upstream host: the workload's name; for a Swarm service with
    /// `<prefix>.upstream=tasks`, `tasks.<service>` (DNS round robin over the tasks, for
    /// `endpoint_mode: dnsrr`). `None` when the label is bad (a problem is recorded).
    fn swarm_upstream(&mut self, address_label: &str) -> Option<String> {
        let label = self.own("upstream");
        let Some(value) = self.label(&label) else {
            return Some(self.c.name.clone());
        };
        let service = self.c.kind == WorkloadKind::Service;
        let rule = match value {
            _ if self.label(address_label).is_some() => {
                format!("cannot be set together with {address_label}: choose one")
            }
            "service" | "tasks" if !service => {
                "only applies to a Swarm service (set in its deploy.labels); a container is reached by its name".to_owned()
            }
            "service" => return Some(self.c.name.clone()),
            "tasks" => return Some(format!("tasks.{}", self.c.name)),
            _ => "must be service (the service's name) or tasks (tasks.<service>, for endpoint_mode: dnsrr)".to_owned(),
        };
        self.problem(&label, value, rule);
        None
    }

    pub(super) fn raw_directives(&mut self, labels: &[String]) -> Vec<RawDirective> {
        let mut out = Vec::new();
        for label in labels {
            let Some(value) = self.label(label) else {
                continue;
            };
            if !self.rules.allow_raw_directives {
                self.problem(
                    label,
                    value,
                    "is refused: raw nginx directives from labels are off (anyone who can label a container could write into SWAG's config); set GATEHOUSE_ALLOW_RAW_DIRECTIVES=true to allow them",
                );
                continue;
            }
            if let Some(d) = self.get(label, RawDirective::parse) {
                out.push(d);
            }
        }
        out
    }
}

pub(super) struct Common {
    address: Address,
    port: Option<Port>,
    proto: Option<Proto>,
    bypass: Vec<BypassPath>,
    server_directives: Vec<RawDirective>,
    location_directives: Vec<RawDirective>,
}

impl Common {
    pub(super) fn into_spec(
        self,
        c: &Workload,
        access: Access,
        server_names: Vec<ServerName>,
        template: Template,
        label_set: LabelSet,
    ) -> AppSpec {
        AppSpec {
            container: c.name.clone(),
            access,
            server_names,
            address: self.address,
            port: self.port,
            proto: self.proto,
            bypass: self.bypass,
            template,
            server_directives: self.server_directives,
            location_directives: self.location_directives,
            label_set,
        }
    }
}
