//! End-to-end tests: the real services on random ports, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod helpers;

mod analytics;
mod appointments;
mod at_rest;
mod audit;
mod authorization;
mod billing;
mod booking_rules;
mod browser;
mod card_payments;
mod concurrency;
mod data_rights;
mod doctors;
mod events;
mod fixtures;
mod fleet;
mod gateway;
mod health_command;
mod limits;
mod patients;
mod protocol;
mod readme;
mod records;
mod request_ids;
mod resilience;
mod schema;
mod service_tokens;
mod test_script;
mod tokens;
mod web;
mod web_console;
mod web_flows;
