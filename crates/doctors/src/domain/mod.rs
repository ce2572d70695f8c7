//! The doctor service's rules, free of HTTP and SQL: what valid input is, and how working hours
//! become bookable instants.

pub mod availability;
pub mod decision;
pub mod doctor;
pub mod schedule;
pub mod slots;
pub mod time_off;
