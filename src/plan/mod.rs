//! Pure planners: observed world + labels → the changes to make. Proxy-confs ([`confs`],
//! re-exported here), networks ([`networks`]), authentik ([`authentik`]).

pub mod authentik;
pub mod confs;
pub mod grace;
pub mod networks;
pub mod outpost_container;

pub use confs::*;
pub use grace::GraceClock;
