//! Plumbing every carebook service shares. Services depend on this crate and on `contracts`,
//! never on each other.

pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod docs;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod master_key;
pub mod outbox;
pub mod page;
pub mod request_id;
pub mod retention;
pub mod schema;
pub mod security;
pub mod server;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod validation;
pub mod values;
pub mod wire;

pub use error::{ApiError, FieldError, Problem, Result};
