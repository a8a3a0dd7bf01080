//! linuxserver's swag-auto-proxy labels (`swag=enable`, `swag_url`, `swag_auth`, ...), so users
//! of that mod can switch without relabelling. They map onto the same [`AppSpec`] as gatehouse's.

use super::reader::Reader;
use crate::model::spec::{Access, AppSpec, LabelSet, PresetName, ServerName, Template};

impl Reader<'_> {
    pub(super) fn read_swag(&mut self) -> Option<AppSpec> {
        let enabled = self.label("swag") == Some("enable");
        let access = match self.label("swag_auth") {
            None => Access::Exposed,
            Some("authentik") => {
                self.wants_protection = true;
                Access::Protected
            }
            Some(other) => {
                self.wants_protection = true;
                let rule = match other {
                    "authelia" | "ldap" | "tinyauth" | "http" => {
                        "names an auth method gatehouse does not provide: gatehouse only puts authentik in front of apps (use swag_auth=authentik or auth.protect=true)"
                    }
                    _ => "must be authentik (the only auth method gatehouse provides)",
                };
                self.problem("swag_auth", other, rule);
                return None;
            }
        };
        if !enabled {
            if let Some(v) = self.label("swag") {
                if v != "disable" {
                    self.problem("swag", v, "must be enable (or disable)");
                }
            }
            return None;
        }
        let server_names = if self.label("swag_url").is_some() {
            self.get("swag_url", |s| ServerName::parse(s, true))
                .into_iter()
                .collect()
        } else {
            self.default_server_names("swag_url")
        };
        let common = self.read_upstream_and_extras(
            "swag_address",
            "swag_port",
            "swag_proto",
            "swag_auth_bypass",
            &["swag_server_custom_directive".into()],
            &["swag_location_custom_directive".into()],
        );
        let template = match self.get("swag_preset_conf", PresetName::parse) {
            Some(p) => Template::Preset(p),
            None => match PresetName::parse(&self.c.name) {
                Ok(p) => Template::PresetByName(p),
                Err(_) => Template::BuiltIn,
            },
        };
        let common = common?;
        if server_names.is_empty() {
            return None;
        }
        Some(common.into_spec(
            self.c,
            access,
            server_names,
            template,
            LabelSet::SwagAutoProxy,
        ))
    }
}
