//! The retention job of the record service: an erased patient's records (and their files)
//! are kept `CAREBOOK_RETENTION_RECORDS_YEARS` after they were written, then removed.

use jiff::Timestamp;
use platform::db::Db;
use platform::time::to_millis;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::store::RecordStore;

#[derive(Debug, Clone)]
pub struct Retention {
    store: RecordStore,
    blobs: Blobs,
    years: u32,
}

impl Retention {
    pub(crate) fn new(store: RecordStore, blobs: Blobs, years: u32) -> Self {
        Self {
            store,
            blobs,
            years,
        }
    }

    /// The job for the service `config` describes, on its (migrated) database.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let db = Db::open(config.database_url.as_str(), &crate::MIGRATIONS).await?;
        let blobs = Blobs::open(&config.blob_location)?;
        Ok(Self::new(
            RecordStore::new(db),
            blobs,
            config.retention_years,
        ))
    }

    /// Removes every erased patient's record older than the retention period at `now`, its
    /// file first (a file without its row would be unreachable; a row without its file is
    /// retried at the next pass). Returns how many records went.
    pub async fn sweep(&self, now: Timestamp) -> anyhow::Result<u64> {
        let cutoff = to_millis(platform::retention::cutoff(now, self.years));
        let due = self.store.past_retention(cutoff).await?;
        let mut removed = 0;
        for (id, object) in due {
            if let Some(object) = object {
                self.blobs.delete(&object).await?;
            }
            self.store.delete_record(id).await?;
            removed += 1;
        }
        if removed > 0 {
            self.store.db().scrub_erased().await;
        }
        Ok(removed)
    }
}
