//! Wire types only: what crosses a service boundary, over HTTP or as an event.

pub mod appointments;
pub mod clients;
pub mod doctors;
pub mod events;
pub mod identity;
pub mod notifications;
pub mod patients;
pub mod webhooks;
