//! Buckets kept in this process (governor's keyed GCRA limiters), for one gateway alone and as
//! the fallback of the Redis limiter.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::{Decision, Key, RateLimits};

/// Forgetting buckets that are full again walks every key, so it is done every this many checks
/// rather than on each: memory stays bounded by the clients of the last minute or so.
const CLEANUP_EVERY: u64 = 4096;

pub(super) struct MemoryLimiter {
    clients: DefaultKeyedRateLimiter<IpAddr>,
    users: DefaultKeyedRateLimiter<i64>,
    logins: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl MemoryLimiter {
    pub(super) fn new(limits: RateLimits) -> Self {
        Self {
            clients: DefaultKeyedRateLimiter::keyed(Quota::per_minute(limits.per_minute)),
            users: DefaultKeyedRateLimiter::keyed(Quota::per_minute(limits.per_minute)),
            logins: DefaultKeyedRateLimiter::keyed(Quota::per_minute(limits.login_per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// Stops at the first bucket without room; the buckets before it have counted the request
    /// (unlike the Redis script, which takes from all or none). At equal limits that only makes
    /// a refused client wait a little longer.
    pub(super) fn check(&self, keys: &[Key]) -> Decision {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.forget_full_buckets();
        }
        for key in keys {
            // Each limiter's instants come from its own clock.
            let refused = match key {
                Key::Client(ip) => refusal(&self.clients, ip),
                Key::User(id) => refusal(&self.users, id),
                Key::Login(ip) => refusal(&self.logins, ip),
            };
            if let Some(retry_after) = refused {
                return Decision::Limited { retry_after };
            }
        }
        Decision::Allowed
    }

    fn forget_full_buckets(&self) {
        self.clients.retain_recent();
        self.users.retain_recent();
        self.logins.retain_recent();
        self.clients.shrink_to_fit();
        self.users.shrink_to_fit();
        self.logins.shrink_to_fit();
    }
}

/// `None` when `key`'s bucket had room (and now counts the request), else how long until it has.
fn refusal<K: Clone + Hash + Eq>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Option<Duration> {
    limiter
        .check_key(key)
        .err()
        .map(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limiter(per_minute: u32, login_per_minute: u32) -> MemoryLimiter {
        MemoryLimiter::new(RateLimits {
            per_minute: NonZeroU32::new(per_minute).expect("non-zero"),
            login_per_minute: NonZeroU32::new(login_per_minute).expect("non-zero"),
        })
    }

    fn allowed(limiter: &MemoryLimiter, keys: &[Key], times: usize) -> usize {
        (0..times)
            .filter(|_| limiter.check(keys) == Decision::Allowed)
            .count()
    }

    #[test]
    fn a_user_gets_the_limit_whatever_address_they_come_from() {
        let limiter = limiter(3, 3);
        let home = Key::client(IpAddr::from([192, 0, 2, 1]));
        let office = Key::client(IpAddr::from([198, 51, 100, 1]));

        assert_eq!(allowed(&limiter, &[home, Key::User(7)], 2), 2);
        assert_eq!(allowed(&limiter, &[office, Key::User(7)], 1), 1);
        let Decision::Limited { retry_after } = limiter.check(&[office, Key::User(7)]) else {
            panic!("the user's fourth request in a minute must be refused");
        };
        // 3 per minute: one request comes back every 20 s.
        assert!(retry_after > Duration::from_secs(15), "{retry_after:?}");
        assert!(retry_after <= Duration::from_secs(20), "{retry_after:?}");

        // Another user at the same office is not affected by user 7's limit.
        assert_eq!(allowed(&limiter, &[office, Key::User(8)], 1), 1);
    }

    #[test]
    fn one_address_is_limited_across_users() {
        let limiter = limiter(2, 2);
        let ip = Key::client(IpAddr::from([203, 0, 113, 5]));
        assert_eq!(allowed(&limiter, &[ip, Key::User(1)], 1), 1);
        assert_eq!(allowed(&limiter, &[ip, Key::User(2)], 1), 1);
        assert!(matches!(
            limiter.check(&[ip, Key::User(3)]),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn credential_requests_have_their_own_stricter_bucket() {
        let limiter = limiter(10, 2);
        let ip = IpAddr::from([203, 0, 113, 6]);
        let login = [Key::login(ip), Key::client(ip)];
        assert_eq!(allowed(&limiter, &login, 3), 2);
        // Other requests from that address still have room.
        assert_eq!(allowed(&limiter, &[Key::client(ip)], 1), 1);
    }

    #[test]
    fn cleanup_keeps_buckets_that_are_not_full_again() {
        let limiter = limiter(1, 1);
        let ip = Key::client(IpAddr::from([203, 0, 113, 7]));
        assert_eq!(limiter.check(&[ip]), Decision::Allowed);
        limiter.forget_full_buckets();
        assert!(matches!(limiter.check(&[ip]), Decision::Limited { .. }));
    }
}
