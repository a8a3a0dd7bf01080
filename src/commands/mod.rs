//! Commands besides `run` and `render`: `init` ([`init`]), `sso show` ([`sso`]).

pub mod init;
pub mod sso;
