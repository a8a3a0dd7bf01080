//! Commands besides `run` and `render`: `init` ([`init`]), `db dump` and `db restore` ([`db`]).

pub mod db;
pub mod init;
