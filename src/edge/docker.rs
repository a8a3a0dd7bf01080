//! Everything that talks to the Docker engine (through bollard): the container snapshot and the
//! event stream. Results are plain data from [`crate::model::workload`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::{Stream, StreamExt};

use crate::model::workload::{NetworkAttachment, Workload};

/// How far back, by the engine's clock, a new event subscription starts: the engine replays
/// these seconds before following live events.
pub const EVENT_REPLAY_SECS: i64 = 5;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    #[error("cannot set up the Docker client (check DOCKER_HOST): {0}")]
    Client(String),
    #[error("Docker engine answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("cannot reach the Docker engine: {0}")]
    Unreachable(String),
}

impl From<bollard::errors::Error> for DockerError {
    fn from(e: bollard::errors::Error) -> Self {
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => Self::Api {
                status: status_code,
                message,
            },
            other => Self::Unreachable(other.to_string()),
        }
    }
}

impl DockerError {
    /// The engine (or a socket proxy in front of it) refuses the request.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Api { status: 403, .. })
    }

    /// The container or network named in the request does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

/// How a network connect or disconnect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChange {
    /// The engine made the change.
    Done,
    /// Nothing to do: already connected, or already not connected.
    AlreadyDone,
}

/// The engine, with a count of the requests made to it (for the benchmark and metrics).
#[derive(Debug, Clone)]
pub struct DockerClient {
    api: bollard::Docker,
    scope: Option<String>,
    negotiated: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
}

/// What woke the loop, from the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub kind: String,
    pub action: String,
    /// The container or network id.
    pub id: String,
    /// The container or network name, when the event carries one.
    pub name: String,
    /// The event's attributes: a container's labels; a network event's `container` id.
    pub attributes: BTreeMap<String, String>,
    /// The engine replayed it from before the subscription: history, not news. It may wake a
    /// pass, but says nothing of a container's state now (the pass's listing does).
    pub replayed: bool,
}

impl DockerClient {
    /// A client for `DOCKER_HOST`, or the local socket when it is unset. Nothing is sent yet.
    /// `scope` (`key=value`) limits every listing to containers carrying that label.
    pub fn from_env(scope: Option<(String, String)>) -> Result<Self, DockerError> {
        let api = bollard::Docker::connect_with_defaults()
            .map_err(|e| DockerError::Client(e.to_string()))?;
        Ok(Self {
            api,
            scope: scope.map(|(k, v)| format!("{k}={v}")),
            negotiated: Arc::new(AtomicBool::new(false)),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests sent to the engine so far.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Agrees on an API version with the engine once (older engines speak older versions). The
    /// version is shared by every clone of this client.
    async fn negotiate(&self) -> Result<(), DockerError> {
        if self.negotiated.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.count();
        let api = self.api.clone().negotiate_version().await?;
        tracing::debug!(api_version = %api.client_version(), "agreed Docker API version");
        self.negotiated.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The engine's clock, in Unix nanoseconds (from `/info`), so that an event subscription
    /// can start from a moment the engine agrees on whatever the skew between the two hosts.
    /// `None` when the engine does not say or says something unreadable.
    pub async fn engine_time(&self) -> Result<Option<i64>, DockerError> {
        self.negotiate().await?;
        self.count();
        let info = self.api.info().await?;
        Ok(info.system_time.as_deref().and_then(unix_nanos))
    }

    /// Every running container, in one list request.
    pub async fn running_containers(&self) -> Result<Vec<Workload>, DockerError> {
        self.negotiate().await?;
        self.count();
        let mut builder = ListContainersOptionsBuilder::new().all(false);
        if let Some(scope) = &self.scope {
            builder = builder.filters(&HashMap::from([("label", vec![scope.as_str()])]));
        }
        let options = builder.build();
        let list = self.api.list_containers(Some(options)).await?;
        Ok(list.into_iter().filter_map(container_info).collect())
    }

    /// The engine's events that can change what gatehouse publishes. The stream ends or yields an
    /// error when the connection is lost.
    ///
    /// `since` (Unix seconds by the engine's clock, see [`DockerClient::engine_time`]) makes
    /// the engine replay what happened from then on before following live events. Events that
    /// happened before `live_from` (Unix nanoseconds, the engine's clock) are marked
    /// [`EngineEvent::replayed`].
    pub fn events(
        &self,
        since: Option<i64>,
        live_from: Option<i64>,
    ) -> impl Stream<Item = Result<EngineEvent, DockerError>> + use<> {
        self.count();
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([
            ("type", vec!["container", "network"]),
            (
                "event",
                vec![
                    "start",
                    "kill",
                    "die",
                    "destroy",
                    "rename",
                    "connect",
                    "disconnect",
                ],
            ),
        ]);
        // The scope label is checked here, not by the engine: a label filter there would drop
        // every network event (they carry no labels), and with them an app's late attachment
        // to the network its labels name.
        let scope = self
            .scope
            .as_deref()
            .and_then(|s| s.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let mut options = EventsOptionsBuilder::new().filters(&filters);
        let since = since.map(|s| s.to_string());
        if let Some(since) = &since {
            options = options.since(since);
        }
        let options = options.build();
        self.api.events(Some(options)).filter_map(move |item| {
            let event = item.map_err(DockerError::from).map(|e| {
                let actor = e.actor.unwrap_or_default();
                let attributes: BTreeMap<String, String> =
                    actor.attributes.unwrap_or_default().into_iter().collect();
                let at = e
                    .time_nano
                    .or_else(|| e.time.and_then(|t| t.checked_mul(1_000_000_000)));
                EngineEvent {
                    replayed: matches!((at, live_from), (Some(at), Some(live)) if at < live),
                    kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
                    action: e.action.unwrap_or_default(),
                    id: actor.id.unwrap_or_default(),
                    name: attributes.get("name").cloned().unwrap_or_default(),
                    attributes,
                }
            });
            let keep = match (&event, &scope) {
                (Ok(ev), Some((k, v))) if ev.kind == "container" => ev.attributes.get(k) == Some(v),
                _ => true,
            };
            futures_util::future::ready(keep.then_some(event))
        })
    }
}

impl DockerClient {
    /// Attaches `container` (name or id) to `network` (name or id). An engine that says the
    /// container is already there counts as success.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, DockerError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config: None,
        };
        match self.api.connect_network(network, request).await {
            Ok(()) => Ok(NetworkChange::Done),
            // The engine answers 403 "endpoint with name … already exists in network …".
            Err(e) => match DockerError::from(e) {
                DockerError::Api {
                    status: 403,
                    message,
                } if message.contains("already exists") => Ok(NetworkChange::AlreadyDone),
                other => Err(other),
            },
        }
    }

    /// Detaches `container` (name or id) from `network` (name or id). A container that is not
    /// attached counts as success.
    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<NetworkChange, DockerError> {
        self.negotiate().await?;
        self.count();
        let request = bollard::models::NetworkDisconnectRequest {
            container: container.to_owned(),
            force: Some(false),
        };
        match self.api.disconnect_network(network, request).await {
            Ok(()) => Ok(NetworkChange::Done),
            // The engine answers 500 "container … is not connected to network …".
            Err(e) => match DockerError::from(e) {
                DockerError::Api { message, .. } if message.contains("is not connected") => {
                    Ok(NetworkChange::AlreadyDone)
                }
                other => Err(other),
            },
        }
    }

    /// The id of the network called `name`, or `None` when there is none (a read: nothing is
    /// changed).
    pub async fn find_network(&self, name: &str) -> Result<Option<String>, DockerError> {
        self.negotiate().await?;
        self.count();
        match self.api.inspect_network(name, None).await {
            Ok(n) => Ok(Some(n.id.unwrap_or_else(|| name.to_owned()))),
            Err(e) => {
                let e = DockerError::from(e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The id of the network called `name`, creating it (a bridge network carrying `labels`)
    /// when there is none. Returns the id and whether it was created.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(String, bool), DockerError> {
        if let Some(id) = self.find_network(name).await? {
            return Ok((id, false));
        }
        self.count();
        let request = bollard::models::NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let created = self.api.create_network(request).await?;
        Ok((created.id, true))
    }
}

fn container_info(c: bollard::models::ContainerSummary) -> Option<Workload> {
    let name = c
        .names
        .as_ref()?
        .first()?
        .trim_start_matches('/')
        .to_owned();
    let mut ports: Vec<u16> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            matches!(
                p.typ,
                Some(bollard::models::PortSummaryTypeEnum::TCP) | None
            )
        })
        .map(|p| p.private_port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let networks: BTreeMap<String, NetworkAttachment> = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| {
            (
                name,
                NetworkAttachment {
                    network_id: ep.network_id.unwrap_or_default(),
                },
            )
        })
        .collect();
    Some(Workload {
        host: crate::model::workload::LOCAL_HOST.to_owned(),
        kind: crate::model::workload::WorkloadKind::Container,
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        exposed_tcp_ports: ports,
        networks,
    })
}

/// Unix nanoseconds of an RFC 3339 time as the engine prints it
/// (`2026-11-22T22:11:07.674010123Z`, or with an offset such as `+01:00`). `None` for anything
/// else, including years outside 1970..=2200 and offsets of a day or more: the text comes from
/// the network.
pub fn unix_nanos(text: &str) -> Option<i64> {
    fn num(s: &[u8]) -> Option<i64> {
        if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        s.iter().try_fold(0i64, |n, d| {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    }
    let t = text.as_bytes();
    // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then the zone.
    if t.len() < 20 || [t[4], t[7], t[10], t[13], t[16]] != [b'-', b'-', b'T', b':', b':'] {
        return None;
    }
    let (y, mo, day) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    let (h, mi, sec) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
    let mut rest = &t[19..];
    let mut nanos = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        nanos = num(&frac[..digits])? * 10i64.pow(9 - u32::try_from(digits).ok()?);
        rest = &frac[digits..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    if !(1970..=2200).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::unix_nanos;

    const S: i64 = 1_000_000_000;

    #[test]
    fn engine_times_become_unix_nanoseconds() {
        assert_eq!(unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_nanos("2026-11-22T22:11:07.674010123Z"),
            Some(1_795_385_467 * S + 674_010_123)
        );
        assert_eq!(
            unix_nanos("2026-11-22T23:11:07.5+01:00"),
            Some(1_795_385_467 * S + 500_000_000)
        );
        assert_eq!(
            unix_nanos("2026-11-22T17:11:07-05:00"),
            Some(1_795_385_467 * S)
        );
        assert_eq!(unix_nanos("2024-02-29T12:00:00Z"), Some(1_709_208_000 * S));
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T22:11Z",
            "2026-13-01T00:00:00Z",
            "2026-11-22T22:11:07",
            "2026-11-22T22:11:07.Z",
            "2026-11-22T22:11:07.1234567891Z",
            "2026-11-22T22:11:07+0100",
            "2026-11-22T22:11:07+99:99",
            "2026-11-22T22:11:07x",
            // From the network: never a panic, whatever the bytes.
            "2026-11-22T22:11:0\u{e9}7Z",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "9000000000000000000-01-01T00:00:00Z",
            "9999-01-01T00:00:00Z",
            "-001-01-01T00:00:00Z",
            "+123-01-01T00:00:00Z",
        ] {
            assert_eq!(unix_nanos(bad), None, "{bad}");
        }
    }
}
