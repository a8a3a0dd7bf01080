//! What gatehouse tells about itself: the health record ([`health`]).

pub mod health;
