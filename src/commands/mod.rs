//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `admin create`
//! ([`admin`]).

pub mod admin;
pub mod check;
pub mod init;
