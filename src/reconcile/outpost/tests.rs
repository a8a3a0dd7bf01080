//! The keeper against the in-memory engine and authentik.
