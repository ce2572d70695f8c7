//! Access tokens (EdDSA JWTs), the keys that sign them, and refresh tokens.

pub mod access;
pub mod keys;
pub mod refresh;
pub mod ring;
