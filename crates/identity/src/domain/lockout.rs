//! When repeated failed logins lock an account or a client out, and for how long.
//!
//! Failures are counted per scope: an account (by e-mail, whether or not the account exists, so
//! a lockout does not reveal which accounts exist) and a client address (with a larger limit,
//! against one client trying many accounts). A scope that reaches its limit is locked; every
//! further failure after a lock ends doubles the lock, up to [`MAX_LOCK`]. A quiet period of one
//! window forgets the failures. While a scope is locked, logins are refused before the password
//! is looked at, so hammering a locked account costs no hashing.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The first lock; each further failure doubles it.
pub const FIRST_LOCK: Duration = Duration::from_secs(30);
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A client address may fail this many times the account limit.
pub const CLIENT_FACTOR: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures of one account before it is locked (`CAREBOOK_LOGIN_MAX_FAILURES`).
    pub max_failures: u32,
    /// Failures older than this (since the last one) are forgotten.
    pub window: Duration,
}

/// What failures are counted against, as the key stored in the database: a SHA-256, so the
/// table holds neither e-mail addresses nor client addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub key: String,
    pub limit: u32,
}

impl LockoutPolicy {
    /// The scope of the account with this e-mail (normalized the way accounts store it).
    pub fn account(&self, normalized_email: &str) -> Scope {
        Scope {
            key: format!("account:{}", sha256_hex(normalized_email)),
            limit: self.max_failures.max(1),
        }
    }

    pub fn client(&self, ip: IpAddr) -> Scope {
        Scope {
            key: format!("client:{}", sha256_hex(&ip.to_string())),
            limit: self.max_failures.max(1).saturating_mul(CLIENT_FACTOR),
        }
    }

    /// The scope of a caller asking for service tokens: as strict as one account, since no
    /// legitimate caller ever guesses.
    pub fn service_caller(&self, ip: IpAddr) -> Scope {
        Scope {
            key: format!("service:{}", sha256_hex(&ip.to_string())),
            limit: self.max_failures.max(1),
        }
    }

    /// How long a scope is locked after its `failures`-th failure in a row; `None` while it is
    /// under its limit.
    pub fn lock_after(failures: i64, limit: u32) -> Option<Duration> {
        let excess = u64::try_from(failures.checked_sub(i64::from(limit))?).ok()?;
        let doublings = u32::try_from(excess.min(16)).unwrap_or(16);
        Some(FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK))
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_the_limit_and_doubles_up_to_the_cap() {
        let secs = |failures| LockoutPolicy::lock_after(failures, 5).map(|d| d.as_secs());
        assert_eq!(secs(1), None);
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(30));
        assert_eq!(secs(6), Some(60));
        assert_eq!(secs(7), Some(120));
        assert_eq!(secs(9), Some(480));
        assert_eq!(secs(10), Some(900));
        assert_eq!(secs(200), Some(900));
        assert_eq!(secs(i64::MAX), Some(900));
    }

    #[test]
    fn scopes_hide_what_they_count() {
        let policy = LockoutPolicy {
            max_failures: 5,
            window: Duration::from_secs(900),
        };
        let account = policy.account("ada@example.org");
        assert!(account.key.starts_with("account:"));
        assert!(!account.key.contains("ada"));
        assert_eq!(account.limit, 5);
        let client = policy.client("203.0.113.9".parse().unwrap());
        assert!(!client.key.contains("203"));
        assert_eq!(client.limit, 100);
        let service = policy.service_caller("203.0.113.9".parse().unwrap());
        assert!(service.key.starts_with("service:"));
        assert_ne!(service.key, client.key);
        assert_eq!(service.limit, 5);
        assert_ne!(
            policy.account("a@example.org"),
            policy.account("b@example.org")
        );
    }
}
