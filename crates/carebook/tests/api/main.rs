//! End-to-end tests: the real services on random ports, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod helpers;

mod appointments;
mod audit;
mod authorization;
mod booking_rules;
mod concurrency;
mod doctors;
mod events;
mod fixtures;
mod gateway;
mod patients;
mod readme;
mod resilience;
mod schema;
mod test_script;
mod tokens;
