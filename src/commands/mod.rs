//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]).

pub mod init;
pub mod check;
