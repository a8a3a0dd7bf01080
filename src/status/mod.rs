//! What gatehouse tells about itself: the health record ([`health`]) and clean log lines
//! ([`logs`]).

pub mod health;
pub mod logs;
