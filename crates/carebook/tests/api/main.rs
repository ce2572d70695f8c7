//! End-to-end tests: the real services on random ports, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod helpers;

mod appointments;
mod at_rest;
mod audit;
mod authorization;
mod concurrency;
mod doctors;
mod events;
mod fixtures;
mod gateway;
mod patients;
mod protocol;
mod request_ids;
mod resilience;
mod schema;
mod service_tokens;
mod tokens;
