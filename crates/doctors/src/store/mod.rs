//! The doctor service's tables. Queries are portable SQL run on SQLite and PostgreSQL:
//! instants as epoch milliseconds, booleans as 0/1.

mod availability;
mod doctors;
mod schedule;
mod time_off;

use platform::db::Db;

pub use availability::DoctorCalendar;
pub use doctors::DoctorQuery;

const SOURCE: &str = "doctors";

#[derive(Debug, Clone)]
pub struct DoctorStore {
    db: Db,
}

impl DoctorStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn to_flag(value: bool) -> i64 {
    i64::from(value)
}

fn from_flag(value: i64) -> bool {
    value != 0
}

#[cfg(test)]
mod tests;
