//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `sso show`
//! ([`sso`]), `db dump` and `db restore` ([`db`]).

pub mod check;
pub mod db;
pub mod init;
pub mod sso;
