//! Shared test support. Each test binary uses a part of it.
#![allow(dead_code)]

pub mod docker;
pub mod fake_authentik;
pub mod nginx;
pub mod outpost;
pub mod postgres;
pub mod provisioning;
pub mod status;
pub mod swarm;
