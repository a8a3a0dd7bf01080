//! The containers gatehouse runs itself (a remote host's outpost), through bollard: list by
//! label, create, start, remove, pull, and a file put in before the start.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{BollardEngine, EngineError};
use crate::model::container::{ContainerSpec, ListedContainer};

impl BollardEngine {
    pub(super) async fn containers_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<ListedContainer>, EngineError> {
        self.negotiate().await?;
        self.count();
        let label = format!("{key}={value}");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self.answered("GET", "200", self.api.list_containers(Some(options)).await)?;
        Ok(list.into_iter().filter_map(listed).collect())
    }

    pub(super) async fn create_container(
        &self,
        spec: &ContainerSpec,
    ) -> Result<String, EngineError> {
        self.negotiate().await?;
        self.count();
        let host_config = bollard::models::HostConfig {
            network_mode: Some(spec.network.clone()),
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(restart_policy(spec.restart)),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        let endpoint = bollard::models::EndpointSettings {
            aliases: Some(vec![spec.name.clone()]),
            ..Default::default()
        };
        let body = bollard::models::ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            host_config: Some(host_config),
            networking_config: Some(bollard::models::NetworkingConfig {
                endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let made = self.answered(
            "POST",
            "201",
            self.api.create_container(Some(options), body).await,
        )?;
        Ok(made.id)
    }

    pub(super) async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.negotiate().await?;
        self.count();
        self.answered("POST", "204", self.api.start_container(id, None).await)
    }

    pub(super) async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.negotiate().await?;
        self.count();
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        let answer = self.api.remove_container(id, Some(options)).await;
        Self::record("DELETE", "204", &answer);
        match answer {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }

    pub(super) async fn pull_image(&self, image: &str) -> Result<(), EngineError> {
        self.negotiate().await?;
        self.count();
        let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
        let options = CreateImageOptionsBuilder::new()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut progress = self.api.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step.map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    pub(super) async fn put_file(
        &self,
        id: &str,
        dir: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), EngineError> {
        self.negotiate().await?;
        self.count();
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        let tar = one_file_tar(name, bytes);
        self.api
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.error(e))
    }
}

fn restart_policy(name: &str) -> bollard::models::RestartPolicyNameEnum {
    use bollard::models::RestartPolicyNameEnum as R;
    match name {
        "always" => R::ALWAYS,
        "on-failure" => R::ON_FAILURE,
        "no" => R::NO,
        _ => R::UNLESS_STOPPED,
    }
}

fn listed(c: bollard::models::ContainerSummary) -> Option<ListedContainer> {
    let name = c
        .names
        .as_ref()?
        .first()?
        .trim_start_matches('/')
        .to_owned();
    let ips: BTreeMap<String, String> = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(net, ep)| {
            ep.ip_address
                .filter(|ip| !ip.is_empty())
                .map(|ip| (net, ip))
        })
        .collect();
    Some(ListedContainer {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        status: c.status.unwrap_or_default(),
        ips,
    })
}

/// A POSIX tar archive holding one regular file `name` (mode 0444: the outpost does not run as root) with `bytes`.
pub(crate) fn one_file_tar(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let field = |h: &mut [u8; 512], at: usize, value: &[u8]| {
        h[at..at + value.len()].copy_from_slice(value);
    };
    field(&mut header, 0, &name.as_bytes()[..name.len().min(100)]);
    field(&mut header, 100, b"0000444\0");
    field(&mut header, 108, b"0000000\0");
    field(&mut header, 116, b"0000000\0");
    field(
        &mut header,
        124,
        format!("{:011o}\0", bytes.len()).as_bytes(),
    );
    field(&mut header, 136, b"00000000000\0");
    field(&mut header, 156, b"0");
    field(&mut header, 257, b"ustar\0");
    field(&mut header, 263, b"00");
    // The checksum is summed with its own field as spaces.
    field(&mut header, 148, b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    field(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(bytes);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tar_has_one_padded_file_and_a_valid_checksum() {
        let t = super::one_file_tar("token", b"secret");
        assert_eq!(t.len(), 512 + 512 + 1024);
        assert_eq!(&t[..5], b"token");
        assert_eq!(&t[512..518], b"secret");
        let mut h = t[..512].to_vec();
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|b| u32::from(*b)).sum::<u32>());
    }
}
