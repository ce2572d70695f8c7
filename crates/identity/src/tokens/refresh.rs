//! Refresh tokens: 256 random bits, handed out once; only their SHA-256 is stored, so a copy
//! of the database does not hold usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A token for the client and the hash to store.
pub struct NewRefreshToken {
    pub token: String,
    pub hash: String,
}

impl NewRefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_refresh_token(&token);
        Self { token, hash }
    }
}

/// The stored form of a presented token.
pub fn hash_refresh_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_only_their_hash_matches() {
        let a = NewRefreshToken::generate();
        let b = NewRefreshToken::generate();
        assert_ne!(a.token, b.token);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.token).unwrap().len(), 32);
        assert_eq!(hash_refresh_token(&a.token), a.hash);
        assert_ne!(a.hash, a.token);
        assert_ne!(hash_refresh_token(&b.token), a.hash);
    }
}
