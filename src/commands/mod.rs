//! Commands besides `run` and `render`: `init` ([`init`]), `check` ([`check`]), `sso show`
//! ([`sso`]), `db dump` and `db restore` ([`db`]), `admin create` ([`admin`]).

pub mod admin;
pub mod check;
pub mod db;
pub mod init;
pub mod sso;
