//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `sso show`
//! ([`sso`]), `admin create` ([`admin`]).

pub mod admin;
pub mod check;
pub mod init;
pub mod sso;
