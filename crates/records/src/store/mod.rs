//! The record service's tables. Portable SQL on SQLite and PostgreSQL; text and files are
//! already sealed when they get here.

mod care;
mod records;
mod retention;
mod rotation;

pub use care::record_appointments;
pub use records::{NewRow, StoredFile, StoredRecord};
pub use retention::record_erasure;

use platform::db::Db;

#[derive(Debug, Clone)]
pub struct RecordStore {
    db: Db,
}

impl RecordStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}
