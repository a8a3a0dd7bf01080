//! Commands besides `run` and `render`: `init` ([`init`]).

pub mod init;
