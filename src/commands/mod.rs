//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `db dump` and
//! `db restore` ([`db`]).

pub mod check;
pub mod db;
pub mod init;
