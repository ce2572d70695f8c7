//! The identity service's tables. Queries are portable SQL run on SQLite and PostgreSQL:
//! instants as epoch milliseconds, booleans as 0/1.

mod login_failures;
mod refresh_tokens;
mod signing_keys;
mod users;

use platform::db::Db;

pub use refresh_tokens::Rotation;
pub use users::User;

#[derive(Debug, Clone)]
pub struct IdentityStore {
    db: Db,
}

impl IdentityStore {
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

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
