//! `carebook rotate-records-key`: a new data key, and every record's text and file re-sealed
//! under it while the service keeps running. The service re-reads the key file when it changes,
//! so it seals new records under the new key and opens re-sealed ones right away.

use platform::db::Db;

use crate::blobs::{Blobs, Sealed};
use crate::config::Config;
use crate::key_file::append_new_key;
use crate::keys::{KeySource, Keys};
use crate::seal::seal_text;
use crate::store::{RecordStore, StoredRecord};
use crate::{MIGRATIONS, view};

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub key_id: String,
    pub texts: u64,
    pub files: u64,
}

const BATCH: i64 = 100;

/// Adds a key to the key file (with `CAREBOOK_RECORDS_KEYS`, the operator adds it there first
/// and the newest listed key is used) and re-seals everything else under it.
pub async fn rotate_key(config: &Config) -> anyhow::Result<Rotation> {
    let master = config.master_key.clone();
    // Read first: a key file written before sealing is sealed before it grows.
    Keys::load(config.keys.clone(), master.clone())?;
    if let (KeySource::File(path), Some(master)) = (&config.keys, &master) {
        append_new_key(path, master)?;
    }
    let keys = Keys::load(config.keys.clone(), master)?;
    let ring = keys.ring()?;
    let (key_id, key) = ring.newest();
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    let store = RecordStore::new(db.clone());
    let blobs = Blobs::open(&config.blob_location)?;
    let mut done = Rotation {
        key_id: key_id.to_owned(),
        texts: 0,
        files: 0,
    };
    let mut after = 0;
    loop {
        let batch = store.sealed_under_other_keys(key_id, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for record in batch {
            if record.key_id != key_id {
                let text = view::open_sealed(&ring, &record)?;
                let plain = serde_json::to_vec(&text)?;
                let (nonce, sealed) = seal_text(key, record.id, &plain)?;
                if store
                    .reseal_text(record.id, &record.nonce, (key_id, &nonce, &sealed))
                    .await?
                {
                    done.texts += 1;
                }
            }
            if reseal_file(&store, &blobs, (&ring, key_id), &record).await? {
                done.files += 1;
            }
        }
    }
    db.close().await;
    tracing::info!(
        key_id,
        texts = done.texts,
        files = done.files,
        "records re-sealed"
    );
    Ok(done)
}

/// Writes the file anew under the new key, switches the row to it, then drops the old object.
async fn reseal_file(
    store: &RecordStore,
    blobs: &Blobs,
    (ring, key_id): (&crate::keys::KeyRing, &str),
    record: &StoredRecord,
) -> anyhow::Result<bool> {
    let Some(file) = record.file.as_ref().filter(|f| f.key_id != key_id) else {
        return Ok(false);
    };
    let old_key = ring
        .get(&file.key_id)
        .ok_or_else(|| anyhow::anyhow!("record {} is sealed under an unknown key", record.id))?;
    let plain = blobs
        .read(&Sealed {
            record_id: record.id,
            key: old_key,
            nonce_prefix: &file.nonce_prefix,
            object: &file.object,
            size: file.size,
            sha256: &file.sha256,
        })
        .await?;
    let (_, new_key) = ring.newest();
    let mut writer = blobs.create(new_key, record.id).await?;
    writer.write(&plain).await?;
    let (object, prefix) = writer.finish().await?;
    if store
        .reseal_file(record.id, &file.object, (key_id, &prefix, &object))
        .await?
    {
        blobs.delete(&file.object).await?;
        Ok(true)
    } else {
        blobs.delete(&object).await?;
        Ok(false)
    }
}
