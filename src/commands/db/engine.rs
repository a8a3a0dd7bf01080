//! The Docker engine as `gatehouse db` needs it: list and inspect containers, stop and start
//! them, and run a program inside one with its input and output streamed (never held whole).

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::find::Seen;
use super::DbError;
use crate::edge::docker::{Endpoint, EngineError};

/// The most of a program's stderr kept for an error message (its end: the cause is there).
const STDERR_KEPT: usize = 4096;

/// A client for the engine `DOCKER_HOST` names (the local socket when unset).
pub(crate) struct Docker {
    api: bollard::Docker,
    endpoint: Endpoint,
}

/// How a program run inside a container ended.
#[derive(Debug)]
pub(crate) struct Finished {
    /// `None` when the engine did not say (the exec was cut off).
    pub(crate) exit_code: Option<i64>,
    /// The end of what it wrote to stderr, at most [`STDERR_KEPT`] bytes.
    pub(crate) stderr: String,
    /// Bytes it wrote to stdout.
    pub(crate) stdout_bytes: u64,
    /// Writing its input (or our output) failed, with why; the exit code says more.
    pub(crate) pipe_error: Option<String>,
}

impl Finished {
    pub(crate) fn ok(&self) -> bool {
        self.exit_code == Some(0) && self.pipe_error.is_none()
    }

    /// What went wrong, in one line for the user: the program's own words first.
    pub(crate) fn failure(&self, program: &str) -> String {
        let stderr = self.stderr.trim();
        let code = self
            .exit_code
            .map_or_else(|| "did not finish".to_owned(), |c| format!("exited {c}"));
        match (stderr.is_empty(), &self.pipe_error) {
            (false, _) => format!("{program} {code}: {stderr}"),
            (true, Some(pipe)) => format!("{program} {code}: {pipe}"),
            (true, None) => format!("{program} {code}"),
        }
    }
}

impl Docker {
    pub(crate) async fn from_env() -> Result<Self, DbError> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        let endpoint = Endpoint::parse(&host);
        let api = bollard::Docker::connect_with_host(&host)
            .map_err(|e| EngineError::from_bollard(e, &endpoint))?;
        let api = api
            .negotiate_version()
            .await
            .map_err(|e| EngineError::from_bollard(e, &endpoint))?;
        Ok(Self { api, endpoint })
    }

    fn error(&self, e: bollard::errors::Error) -> DbError {
        DbError::Engine(EngineError::from_bollard(e, &self.endpoint))
    }

    /// Every container, running or not.
    pub(crate) async fn containers(&self) -> Result<Vec<Seen>, DbError> {
        let options = ListContainersOptionsBuilder::new().all(true).build();
        let list = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(list.into_iter().filter_map(seen).collect())
    }

    /// A container's environment, as `NAME=value` pairs split.
    pub(crate) async fn env_of(&self, id: &str) -> Result<BTreeMap<String, String>, DbError> {
        let c = self
            .api
            .inspect_container(id, None)
            .await
            .map_err(|e| self.error(e))?;
        let env = c.config.and_then(|c| c.env).unwrap_or_default();
        Ok(env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// A label of the image a container runs (e.g. `org.opencontainers.image.version`).
    pub(crate) async fn image_label(&self, image: &str, key: &str) -> Option<String> {
        let image = self.api.inspect_image(image).await.ok()?;
        image.config?.labels?.get(key).cloned()
    }

    /// Whether the container runs, its health check's verdict (`None`: it has none) and its
    /// addresses on its networks.
    pub(crate) async fn state_of(&self, id: &str) -> Result<ContainerState, DbError> {
        let c = self
            .api
            .inspect_container(id, None)
            .await
            .map_err(|e| self.error(e))?;
        let state = c.state.unwrap_or_default();
        let health = state
            .health
            .and_then(|h| h.status)
            .filter(|s| !matches!(s, bollard::models::HealthStatusEnum::EMPTY))
            .filter(|s| !matches!(s, bollard::models::HealthStatusEnum::NONE))
            .map(|s| s.to_string());
        let addresses = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_values()
            .filter_map(|n| n.ip_address)
            .filter(|ip| !ip.is_empty())
            .collect();
        Ok(ContainerState {
            running: state.running.unwrap_or(false),
            health,
            addresses,
        })
    }

    pub(crate) async fn stop(&self, id: &str) -> Result<(), DbError> {
        match self.api.stop_container(id, None).await {
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => other.map_err(|e| self.error(e)),
        }
    }

    pub(crate) async fn start(&self, id: &str) -> Result<(), DbError> {
        match self.api.start_container(id, None).await {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => other.map_err(|e| self.error(e)),
        }
    }

    /// Runs `cmd` in container `id`: `input` (if any) is streamed to its stdin and closed at
    /// its end, its stdout is streamed into `out` as it arrives (`progress` told the running
    /// total), its stderr kept (the end of it). Memory stays at a few frames whatever the size.
    pub(crate) async fn exec(
        &self,
        id: &str,
        cmd: &[String],
        input: Option<&mut (dyn AsyncRead + Unpin + Send)>,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Finished, DbError> {
        let config = CreateExecOptions {
            attach_stdin: Some(input.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            ..Default::default()
        };
        let created = self
            .api
            .create_exec(id, config)
            .await
            .map_err(|e| self.error(e))?;
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(64 * 1024),
        };
        let started = self
            .api
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| self.error(e))?;
        let StartExecResults::Attached {
            output,
            input: stdin,
        } = started
        else {
            return Err(DbError::Failed(
                "the engine did not attach to the program".into(),
            ));
        };
        let feed = feed(input, stdin);
        let drain = drain(output, out, progress);
        let (fed, drained) = tokio::join!(feed, drain);
        let (stdout_bytes, stderr, drain_error) = drained;
        let exit_code = self.exit_code(&created.id).await;
        Ok(Finished {
            exit_code,
            stderr,
            stdout_bytes,
            pipe_error: drain_error.or(fed.err()),
        })
    }

    /// The exit code of a finished exec; the engine may take a moment to record it.
    async fn exit_code(&self, exec_id: &str) -> Option<i64> {
        for _ in 0..50 {
            let inspect = self.api.inspect_exec(exec_id).await.ok()?;
            if inspect.running != Some(true) {
                return inspect.exit_code;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

/// What `state_of` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerState {
    pub(crate) running: bool,
    pub(crate) health: Option<String>,
    pub(crate) addresses: Vec<String>,
}

/// Streams `input` into the program's stdin, then closes it (the program sees the end).
async fn feed(
    input: Option<&mut (dyn AsyncRead + Unpin + Send)>,
    mut stdin: std::pin::Pin<Box<dyn AsyncWrite + Send>>,
) -> Result<(), String> {
    let Some(input) = input else {
        return Ok(());
    };
    let copied = tokio::io::copy(input, &mut stdin).await;
    let closed = stdin.shutdown().await;
    copied.map_err(|e| format!("sending the input failed: {e}"))?;
    closed.map_err(|e| format!("closing the input failed: {e}"))
}

type Output = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<bollard::container::LogOutput, bollard::errors::Error>,
            > + Send,
    >,
>;

/// Writes the program's stdout into `out` frame by frame; keeps the end of its stderr.
async fn drain(
    mut output: Output,
    out: &mut (dyn AsyncWrite + Unpin + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> (u64, String, Option<String>) {
    use bollard::container::LogOutput;
    let mut bytes = 0u64;
    let mut stderr: Vec<u8> = Vec::new();
    let mut error = None;
    while let Some(frame) = output.next().await {
        match frame {
            Ok(LogOutput::StdOut { message }) => {
                if let Err(e) = out.write_all(&message).await {
                    error = Some(format!("writing the output failed: {e}"));
                    break;
                }
                bytes += message.len() as u64;
                progress(bytes);
            }
            Ok(LogOutput::StdErr { message }) => {
                stderr.extend_from_slice(&message);
                if stderr.len() > STDERR_KEPT {
                    stderr.drain(..stderr.len() - STDERR_KEPT);
                }
            }
            Ok(_) => {}
            Err(e) => {
                error = Some(format!("the engine's stream broke: {e}"));
                break;
            }
        }
    }
    if error.is_none() {
        if let Err(e) = out.flush().await {
            error = Some(format!("writing the output failed: {e}"));
        }
    }
    (bytes, String::from_utf8_lossy(&stderr).into_owned(), error)
}

fn seen(c: bollard::models::ContainerSummary) -> Option<Seen> {
    use bollard::models::ContainerSummaryStateEnum as S;
    let name = c
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_owned())?;
    Some(Seen {
        id: c.id?,
        name,
        image: c.image.unwrap_or_default(),
        command: c.command.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        running: matches!(c.state, Some(S::RUNNING | S::RESTARTING)),
    })
}
