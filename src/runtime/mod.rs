//! What every round shares: the backoff ([`backoff`]), saying a lasting problem once
//! ([`report`]), and the error policy that turns a round's end into what to do next
//! ([`policy`]).

pub mod backoff;
pub mod policy;
pub mod report;
