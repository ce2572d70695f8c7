#![allow(clippy::unwrap_used)]
//! The gateway over real sockets: one test binary, one module per concern.

mod edge;
mod proxy;
mod rate_limits;
mod shared_limits;
mod support;
mod tls;
