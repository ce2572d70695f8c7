//! Rate limits at the edge: per client IP, per authenticated user, and a stricter one per IP on
//! the credential endpoints (login, register, refresh).
//!
//! Every bucket is a GCRA ("leaky bucket as a meter"): a limit of N per minute allows a burst of
//! N and then one request every 60/N seconds. In memory (governor) for one gateway; in Redis,
//! with the same algorithm in one Lua script, when several gateway instances must enforce one
//! limit together.

mod client;
mod enforce;
mod memory;
mod shared;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub use client::TrustedProxies;
pub(crate) use enforce::enforce;
pub use shared::RedisSettings;

use self::memory::MemoryLimiter;
use self::shared::RedisLimiter;

/// What the [`enforce`] middleware needs: the buckets, and whose address a request counts
/// against.
pub(crate) struct Enforcement {
    pub limiter: RateLimiter,
    pub trusted: TrustedProxies,
}

/// Requests per minute of each bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP and, separately, per authenticated user.
    pub per_minute: NonZeroU32,
    /// Per client IP on `POST /api/auth/{login,register,refresh}`, on top of `per_minute`.
    /// Generous on purpose: the identity service locks out guessing per account; this only
    /// stops one address from hammering the credential endpoints.
    pub login_per_minute: NonZeroU32,
}

impl RateLimits {
    pub const DEFAULT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(600).expect("non-zero");
    pub const DEFAULT_LOGIN_PER_MINUTE: NonZeroU32 = NonZeroU32::new(300).expect("non-zero");

    /// The limit of the bucket `key` falls in.
    fn of(&self, key: &Key) -> NonZeroU32 {
        match key {
            Key::Client(_) | Key::User(_) => self.per_minute,
            Key::Login(_) => self.login_per_minute,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_minute: Self::DEFAULT_PER_MINUTE,
            login_per_minute: Self::DEFAULT_LOGIN_PER_MINUTE,
        }
    }
}

/// One bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// Every request from a client address (see [`Key::client`]).
    Client(IpAddr),
    /// Every request of an authenticated user, from wherever it comes.
    User(i64),
    /// Credential requests from a client address.
    Login(IpAddr),
}

impl Key {
    /// The client bucket of `ip`. IPv6 clients are counted per /64, the block one subscriber
    /// usually holds, so rotating through one's own addresses does not multiply the limit;
    /// IPv4-mapped IPv6 addresses count as the IPv4 address they are.
    pub fn client(ip: IpAddr) -> Self {
        Self::Client(client_block(ip))
    }

    /// The credential bucket of `ip`, blocked like [`Key::client`].
    pub fn login(ip: IpAddr) -> Self {
        Self::Login(client_block(ip))
    }

    /// The bucket's name in Redis keys (`{prefix}:{bucket}:{id}`).
    fn bucket(&self) -> &'static str {
        match self {
            Self::Client(_) => "ratelimit-ip",
            Self::User(_) => "ratelimit-user",
            Self::Login(_) => "ratelimit-login",
        }
    }

    fn id(&self) -> String {
        match self {
            Self::Client(ip) | Self::Login(ip) => ip.to_string(),
            Self::User(id) => id.to_string(),
        }
    }
}

fn client_block(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let block = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(block.into())
        }
        v4 => v4,
    }
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over a limit; the bucket admits the next request after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

/// The limiter of one gateway: in memory, or shared with other instances through Redis.
pub struct RateLimiter {
    backend: Backend,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one per gateway, built once and shared behind an Arc"
)]
enum Backend {
    Memory(MemoryLimiter),
    Redis(RedisLimiter),
}

impl RateLimiter {
    /// Limits kept in this process only.
    pub fn in_memory(limits: RateLimits) -> Self {
        Self {
            backend: Backend::Memory(MemoryLimiter::new(limits)),
        }
    }

    /// Limits shared by every gateway using the same Redis and prefix. The connection is made
    /// at the first request, so building the limiter never waits for Redis.
    pub fn shared(limits: RateLimits, redis: RedisSettings) -> Self {
        Self {
            backend: Backend::Redis(RedisLimiter::new(limits, redis)),
        }
    }

    /// Draws one request from every bucket in `keys`: allowed only if all of them have room.
    pub async fn check(&self, keys: &[Key]) -> Decision {
        if keys.is_empty() {
            return Decision::Allowed;
        }
        match &self.backend {
            Backend::Memory(memory) => memory.check(keys),
            Backend::Redis(redis) => redis.check(keys).await,
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("RateLimiter")
            .field("backend", &backend)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("an address");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("an address");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("an address");
        assert_eq!(Key::client(a), Key::client(b));
        assert_ne!(Key::client(a), Key::client(other));
        assert_eq!(Key::client(a).id(), "2001:db8:1:2::");
    }

    #[test]
    fn ipv4_clients_are_counted_per_address_even_when_mapped() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("an address");
        let plain: IpAddr = "192.0.2.7".parse().expect("an address");
        assert_eq!(Key::client(mapped), Key::client(plain));
        assert_ne!(Key::client(plain), Key::login(plain));
        assert_eq!(Key::login(plain).id(), "192.0.2.7");
    }

    #[test]
    fn each_bucket_has_its_own_limit_and_name() {
        let limits = RateLimits {
            per_minute: NonZeroU32::new(10).expect("non-zero"),
            login_per_minute: NonZeroU32::new(3).expect("non-zero"),
        };
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(limits.of(&Key::client(ip)).get(), 10);
        assert_eq!(limits.of(&Key::User(7)).get(), 10);
        assert_eq!(limits.of(&Key::login(ip)).get(), 3);
        assert_eq!(Key::User(7).bucket(), "ratelimit-user");
    }
}
