//! The outpost's health in one line: the container's state, its own ping, and when the central
//! authentik last saw it connect.

use super::OutpostKeeper;
use crate::edge::authentik::Api;
use crate::edge::ping::ping_outpost;
use crate::model::authentik::Outpost;
use crate::plan::outpost_container::OUTPOST_LABEL;

impl OutpostKeeper {
    /// `healthy: …` or `unhealthy: …`, with what was found.
    pub(super) async fn health_of<A: Api>(&self, api: &A, own: &Outpost) -> String {
        let name = self.name();
        let listed = self
            .engine
            .containers_labelled(OUTPOST_LABEL, &self.instance)
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|c| c.name == name));
        let container = match &listed {
            None => "container missing".to_owned(),
            Some(c) if c.state == "running" => format!("container running ({})", c.status),
            Some(c) => format!(
                "container {} ({}); gatehouse does not start a stopped outpost: docker start {name}",
                c.state, c.status
            ),
        };
        let ip = listed
            .as_ref()
            .filter(|c| c.state == "running")
            .and_then(|c| c.ips.get(&name).or_else(|| c.ips.values().next()).cloned());
        let ping = match ip {
            None => None,
            Some(ip) => Some(ping_outpost(&ip).await),
        };
        let ping_ok = matches!(ping, Some(Ok(204)));
        let ping_said = match ping {
            None => "no ping".to_owned(),
            Some(Ok(s)) => format!("ping answered {s}"),
            Some(Err(e)) => {
                format!("ping failed ({e}; gatehouse may not share the outpost's network)")
            }
        };
        let seen = match api.outpost_health(&own.pk).await {
            Ok(h) if h.is_empty() => "authentik has not seen it connect".to_owned(),
            Ok(h) => {
                let latest = h.iter().max_by(|a, b| a.last_seen.cmp(&b.last_seen));
                latest
                    .map(|h| {
                        let outdated = if h.version_outdated {
                            format!(", outdated: authentik wants {}", h.version_should)
                        } else {
                            String::new()
                        };
                        format!(
                            "authentik last saw it at {} (version {}{outdated})",
                            h.last_seen, h.version
                        )
                    })
                    .unwrap_or_default()
            }
            Err(e) => format!("authentik's health of it unknown ({e})"),
        };
        let state = if ping_ok { "healthy" } else { "unhealthy" };
        format!(
            "{state}: outpost {:?}: {container}, {ping_said}, {seen}",
            own.name
        )
    }
}

/// What a change of health is told on: the state and the container's state, not the times.
pub(super) fn gist(line: &str) -> String {
    let container = line
        .split(": ")
        .nth(2)
        .and_then(|r| r.split(" (").next())
        .unwrap_or_default();
    let seen = line.contains("has not seen it");
    format!(
        "{} {container} {seen}",
        line.split(':').next().unwrap_or_default()
    )
}
