//! The observed world and every validated value, as plain data (pure): workloads and the
//! proxy-confs folder ([`workload`]), the newtypes label values are parsed into ([`spec`]), and
//! the authentik objects gatehouse reads and writes ([`authentik`]).

pub mod authentik;
pub mod check;
pub mod container;
pub mod problem;
pub mod spec;
pub mod workload;
