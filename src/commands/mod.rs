//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `sso show`
//! ([`sso`]).

pub mod check;
pub mod init;
pub mod sso;
