//! Sealed attachments in an object store: a directory under the data dir by default, or an
//! S3-compatible bucket (`CAREBOOK_RECORDS_BLOB_URL=s3://bucket/prefix`, credentials from the
//! usual `AWS_*` variables). Never in the SQL database.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::keys::DataKey;
use crate::seal::{ChunkOpener, ChunkSealer, Tampered};

/// Sealed bytes buffered before a part goes to the store (S3's smallest part).
const PART_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// `s3://…` for a bucket; anything else is a local directory (created private).
    pub fn open(location: &str) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = if location.starts_with("s3://") {
            Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(location)
                    .build()
                    .context("CAREBOOK_RECORDS_BLOB_URL is not a usable S3 location")?,
            )
        } else {
            let dir = Path::new(location.strip_prefix("file://").unwrap_or(location));
            platform::files::private_dir(dir)?;
            // A file is on disk before its row commits, so a crash leaves no row without its bytes.
            Arc::new(LocalFileSystem::new_with_prefix(dir)?.with_fsync(true))
        };
        Ok(Self { store })
    }

    /// Starts writing record `record_id`'s attachment under `key`, as a new object.
    pub async fn create(&self, key: &DataKey, record_id: i64) -> anyhow::Result<SealedWriter> {
        let sealer = ChunkSealer::new(key, record_id);
        let object = format!("records/{record_id}-{}", hex::encode(sealer.nonce_prefix()));
        let upload = self
            .store
            .put_multipart(&ObjectPath::from(object.as_str()))
            .await?;
        Ok(SealedWriter {
            upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
            sealer,
            object,
        })
    }

    /// The attachment's bytes, opened and checked against the size and SHA-256 it was stored
    /// with. Anything else is an error: wrong bytes are never returned.
    pub async fn read(&self, file: &Sealed<'_>) -> anyhow::Result<Vec<u8>> {
        let size = usize::try_from(file.size).unwrap_or(0);
        let mut opener = ChunkOpener::new(file.key, file.record_id, file.nonce_prefix, size)
            .map_err(|_| anyhow::anyhow!("attachment nonce is malformed"))?;
        let mut stream = self
            .store
            .get(&ObjectPath::from(file.object))
            .await?
            .into_stream();
        while let Some(bytes) = stream.next().await {
            opener.push(&bytes?).map_err(integrity)?;
        }
        let plain = opener.finish().map_err(integrity)?;
        let digest = hex::encode(Sha256::digest(&plain));
        if plain.len() != size || digest != file.sha256 {
            return Err(anyhow::anyhow!(
                "attachment does not match its stored size and SHA-256"
            ));
        }
        Ok(plain)
    }

    pub async fn delete(&self, object: &str) -> anyhow::Result<()> {
        self.store.delete(&ObjectPath::from(object)).await?;
        Ok(())
    }
}

fn integrity(_: Tampered) -> anyhow::Error {
    anyhow::anyhow!("attachment failed authentication: tampered, truncated or moved")
}

/// What it takes to open one stored attachment.
#[derive(Debug)]
pub struct Sealed<'a> {
    pub record_id: i64,
    pub key: &'a DataKey,
    pub nonce_prefix: &'a [u8],
    pub object: &'a str,
    pub size: i64,
    pub sha256: &'a str,
}

/// An attachment being sealed into the store chunk by chunk; [`Self::abort`] leaves nothing.
pub struct SealedWriter {
    upload: WriteMultipart,
    sealer: ChunkSealer,
    object: String,
}

impl SealedWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let sealed = self.sealer.push(bytes)?;
        if !sealed.is_empty() {
            // One part in flight at a time keeps memory flat however large the file.
            self.upload.wait_for_capacity(1).await?;
            self.upload.write(&sealed);
        }
        Ok(())
    }

    /// Completes the object; returns its path and nonce prefix.
    pub async fn finish(mut self) -> anyhow::Result<(String, [u8; 8])> {
        let prefix = self.sealer.nonce_prefix();
        let last = self.sealer.finish()?;
        self.upload.write(&last);
        self.upload.finish().await?;
        Ok((self.object, prefix))
    }

    pub async fn abort(self) {
        if let Err(err) = self.upload.abort().await {
            tracing::warn!(error = %err, "could not abort an attachment upload");
        }
    }
}
