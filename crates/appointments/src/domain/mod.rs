//! Booking rules and the status lifecycle, free of HTTP and SQL.

pub mod booking;
pub mod lifecycle;
pub mod rules;
