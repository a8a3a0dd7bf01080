//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]).

pub mod check;
pub mod init;
