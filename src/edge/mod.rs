//! Everything that does I/O: the Docker engine ([`docker`]), the proxy-confs folder
//! ([`confdir`]), state files ([`files`], [`netstate`], [`fieldstate`]) and authentik's REST API
//! ([`authentik`]); [`requests`] counts the requests made to Docker and authentik.

pub mod authentik;
pub mod confdir;
pub mod docker;
pub mod fieldstate;
pub mod files;
pub mod mfastate;
pub mod netstate;
pub(crate) mod ping;
pub mod requests;
pub mod sso;
pub mod statefile;
