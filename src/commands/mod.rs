//! Commands besides `run` and `render`: `init` ([`init`]), `admin create` ([`admin`]).

pub mod admin;
pub mod init;
