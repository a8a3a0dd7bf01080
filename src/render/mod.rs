//! Text for people and for nginx (pure): the proxy-conf ([`conf`]), the dry-run printout
//! ([`dryrun`]), and one sentence per change for both the dry run and the log ([`wording`]).

pub mod conf;
pub mod dryrun;
pub mod wording;

pub use conf::*;
