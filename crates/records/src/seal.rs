//! AES-256-GCM sealing of record text and of attachments.
//!
//! Text is one sealed message. An attachment is sealed in fixed-size chunks as it streams in
//! (a STREAM-like construction): chunk `i` uses the nonce `prefix ‖ i` and the associated data
//! names the record, the chunk's index and whether it is the last, so chunks cannot be
//! reordered, dropped, cut off at the end or moved to another record. Every nonce is fresh: a
//! random 12 bytes per text, a random 8-byte prefix per attachment.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};

type Nonce = aes_gcm::Nonce<U12>;

use crate::keys::DataKey;

/// Plaintext bytes per attachment chunk.
pub const CHUNK: usize = 64 * 1024;
/// Bytes an AES-GCM tag adds to each chunk.
pub const TAG: usize = 16;

/// A message that does not open: wrong key, tampered bytes, or moved to another record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealed data does not open")]
pub struct Tampered;

fn cipher(key: &DataKey) -> Aes256Gcm {
    Aes256Gcm::new(&key.0.into())
}

fn text_aad(record_id: i64) -> Vec<u8> {
    let mut aad = b"carebook/record-text/".to_vec();
    aad.extend_from_slice(&record_id.to_be_bytes());
    aad
}

/// Seals a record's text; returns `(nonce, ciphertext)`.
pub fn seal_text(
    key: &DataKey,
    record_id: i64,
    plain: &[u8],
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let nonce: [u8; 12] = rand::random();
    let aad = text_aad(record_id);
    let sealed = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
    Ok((nonce.to_vec(), sealed))
}

pub fn open_text(
    key: &DataKey,
    record_id: i64,
    nonce: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, Tampered> {
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| Tampered)?;
    let aad = text_aad(record_id);
    cipher(key)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| Tampered)
}

fn chunk_nonce(prefix: &[u8; 8], index: u32) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&index.to_be_bytes());
    Nonce::from(nonce)
}

fn chunk_aad(record_id: i64, index: u32, last: bool) -> [u8; 34] {
    let mut aad = [0u8; 34];
    aad[..21].copy_from_slice(b"carebook/record-file/");
    aad[21..29].copy_from_slice(&record_id.to_be_bytes());
    aad[29..33].copy_from_slice(&index.to_be_bytes());
    aad[33] = u8::from(last);
    aad
}

/// Seals an attachment chunk by chunk. Feed it bytes as they arrive; it hands back sealed
/// chunks, holding at most one chunk of plaintext.
pub struct ChunkSealer {
    cipher: Aes256Gcm,
    record_id: i64,
    prefix: [u8; 8],
    index: u32,
    pending: Vec<u8>,
}

impl ChunkSealer {
    pub fn new(key: &DataKey, record_id: i64) -> Self {
        Self {
            cipher: cipher(key),
            record_id,
            prefix: rand::random(),
            index: 0,
            pending: Vec::with_capacity(CHUNK),
        }
    }

    pub fn nonce_prefix(&self) -> [u8; 8] {
        self.prefix
    }

    /// Takes `bytes`; returns the chunks that are now known not to be the last.
    pub fn push(&mut self, mut bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            if self.pending.len() == CHUNK {
                // More follows, so the full chunk is not the last one.
                out.extend(self.seal_pending(false)?);
            }
            let take = (CHUNK - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(out)
    }

    /// Seals what is left as the last chunk.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        self.seal_pending(true)
    }

    fn seal_pending(&mut self, last: bool) -> anyhow::Result<Vec<u8>> {
        let aad = chunk_aad(self.record_id, self.index, last);
        let nonce = chunk_nonce(&self.prefix, self.index);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &self.pending,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| anyhow::anyhow!("file too long"))?;
        self.pending.clear();
        Ok(sealed)
    }
}

/// Opens a sealed attachment as its bytes arrive, into one plaintext buffer.
pub struct ChunkOpener {
    cipher: Aes256Gcm,
    record_id: i64,
    prefix: [u8; 8],
    index: u32,
    pending: Vec<u8>,
    plain: Vec<u8>,
}

impl ChunkOpener {
    pub fn new(
        key: &DataKey,
        record_id: i64,
        prefix: &[u8],
        size_hint: usize,
    ) -> Result<Self, Tampered> {
        Ok(Self {
            cipher: cipher(key),
            record_id,
            prefix: prefix.try_into().map_err(|_| Tampered)?,
            index: 0,
            pending: Vec::with_capacity(CHUNK + TAG),
            plain: Vec::with_capacity(size_hint),
        })
    }

    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), Tampered> {
        while !bytes.is_empty() {
            if self.pending.len() == CHUNK + TAG {
                self.open_pending(false)?;
            }
            let take = (CHUNK + TAG - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    /// The whole plaintext, once the last chunk opened.
    pub fn finish(mut self) -> Result<Vec<u8>, Tampered> {
        self.open_pending(true)?;
        Ok(self.plain)
    }

    fn open_pending(&mut self, last: bool) -> Result<(), Tampered> {
        let aad = chunk_aad(self.record_id, self.index, last);
        let nonce = chunk_nonce(&self.prefix, self.index);
        let plain = self
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &self.pending,
                    aad: &aad,
                },
            )
            .map_err(|_| Tampered)?;
        self.plain.extend_from_slice(&plain);
        self.index = self.index.checked_add(1).ok_or(Tampered)?;
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: DataKey = DataKey([7; 32]);

    fn seal_file(record_id: i64, plain: &[u8], piece: usize) -> ([u8; 8], Vec<u8>) {
        let mut sealer = ChunkSealer::new(&KEY, record_id);
        let mut out = Vec::new();
        for part in plain.chunks(piece) {
            out.extend(sealer.push(part).unwrap());
        }
        let prefix = sealer.nonce_prefix();
        out.extend(sealer.finish().unwrap());
        (prefix, out)
    }

    fn open_file(
        record_id: i64,
        prefix: &[u8],
        sealed: &[u8],
        piece: usize,
    ) -> Result<Vec<u8>, Tampered> {
        let mut opener = ChunkOpener::new(&KEY, record_id, prefix, 0)?;
        for part in sealed.chunks(piece) {
            opener.push(part)?;
        }
        opener.finish()
    }

    #[test]
    fn text_opens_only_for_its_record() {
        let (nonce, sealed) = seal_text(&KEY, 5, b"amoxicillin 500 mg").unwrap();
        assert_eq!(
            open_text(&KEY, 5, &nonce, &sealed).unwrap(),
            b"amoxicillin 500 mg"
        );
        assert_eq!(open_text(&KEY, 6, &nonce, &sealed), Err(Tampered));
        assert_eq!(
            open_text(&DataKey([8; 32]), 5, &nonce, &sealed),
            Err(Tampered)
        );
    }

    #[test]
    fn files_of_every_length_round_trip_whatever_the_pieces() {
        for len in [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (prefix, sealed) = seal_file(9, &plain, 10_000);
            assert_eq!(sealed.len(), len + len.div_ceil(CHUNK) * TAG, "{len}");
            assert_eq!(
                open_file(9, &prefix, &sealed, 7_777).unwrap(),
                plain,
                "{len}"
            );
        }
    }

    #[test]
    fn a_changed_cut_reordered_or_moved_file_does_not_open() {
        let plain = vec![42u8; 2 * CHUNK + 5];
        let (prefix, sealed) = seal_file(9, &plain, CHUNK);
        let mut flipped = sealed.clone();
        flipped[CHUNK + 3] ^= 1;
        assert_eq!(open_file(9, &prefix, &flipped, 4096), Err(Tampered));
        // Cut after a whole chunk: the new last chunk was not sealed as the last.
        assert_eq!(
            open_file(9, &prefix, &sealed[..CHUNK + TAG], 4096),
            Err(Tampered)
        );
        let mut swapped = sealed[CHUNK + TAG..2 * (CHUNK + TAG)].to_vec();
        swapped.extend_from_slice(&sealed[..CHUNK + TAG]);
        swapped.extend_from_slice(&sealed[2 * (CHUNK + TAG)..]);
        assert_eq!(open_file(9, &prefix, &swapped, 4096), Err(Tampered));
        assert_eq!(open_file(10, &prefix, &sealed, 4096), Err(Tampered));
    }
}
