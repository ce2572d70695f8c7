//! Buckets in Redis, so every gateway instance draws from the same ones.
//!
//! One Lua script per request checks and updates all of the request's buckets atomically
//! (GCRA, with the Redis server's clock, so the instances' clocks need not agree). A bucket is
//! one key, `{prefix}:{bucket}:{id}`, holding its "theoretical arrival time" in microseconds and
//! expiring when the bucket is full again; idle clients cost nothing.
//!
//! **When Redis cannot be reached the gateway keeps serving** and falls back to its own
//! in-memory buckets (a warning is logged once per outage, and Redis is retried after a short
//! pause). Limits then hold per instance rather than across instances: with N instances a
//! client may get up to N times the limit until Redis is back. Refusing everything (503) would
//! turn a cache outage into a full outage of the API, and these limits are a guard against
//! abuse, not a correctness property: password guessing is stopped per account by the identity
//! service, whose lockout lives in its own database.

use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::memory::MemoryLimiter;
use super::{Decision, Key, RateLimits};

/// A limiter answer must not hold a request up for long: past this Redis counts as unreachable.
const DEADLINE: Duration = Duration::from_millis(500);

/// After a failure, Redis is left alone for this long (requests use the local buckets), so an
/// outage does not add a timeout to every request.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// All-or-nothing GCRA over the KEYS; ARGV holds, per key, its emission interval and its window
/// (interval × limit) in microseconds. Returns 0 when the request is allowed (and recorded in
/// every bucket), else the microseconds until every bucket has room.
const GCRA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local wait = 0
local arrivals = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local next_tat = tat + interval
  local over = next_tat - now - window
  if over > wait then wait = over end
  arrivals[i] = next_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local ttl_ms = math.ceil((arrivals[i] - now) / 1000)
  redis.call('SET', key, string.format('%.0f', arrivals[i]), 'PX', ttl_ms)
end
return 0
";

/// Where the shared buckets live.
#[derive(Clone)]
pub struct RedisSettings {
    client: Client,
    prefix: String,
}

impl RedisSettings {
    pub const DEFAULT_PREFIX: &str = "carebook";

    /// Checks the URL (`redis://[user:password@]host:port[/db]`) without connecting.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = Client::open(url)
            .map_err(|_| anyhow::anyhow!("CAREBOOK_REDIS_URL is not a Redis URL"))?;
        anyhow::ensure!(
            !prefix.is_empty() && !prefix.contains(char::is_whitespace),
            "CAREBOOK_REDIS_PREFIX must be a non-empty word"
        );
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &Key) -> String {
        format!("{}:{}:{}", self.prefix, key.bucket(), key.id())
    }
}

// The URL may hold a password: only the server's address is shown.
impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("prefix", &self.prefix)
            .finish()
    }
}

pub(super) struct RedisLimiter {
    settings: RedisSettings,
    limits: RateLimits,
    script: Script,
    /// Made at the first request: it needs the runtime, and the router is built without one.
    connection: OnceLock<Option<ConnectionManager>>,
    fallback: MemoryLimiter,
    /// Set while Redis is considered down: until when to leave it alone.
    down_until: Mutex<Option<Instant>>,
}

impl RedisLimiter {
    pub(super) fn new(limits: RateLimits, settings: RedisSettings) -> Self {
        Self {
            settings,
            limits,
            script: Script::new(GCRA),
            connection: OnceLock::new(),
            fallback: MemoryLimiter::new(limits),
            down_until: Mutex::new(None),
        }
    }

    pub(super) async fn check(&self, keys: &[Key]) -> Decision {
        let now = Instant::now();
        if self.lock().is_some_and(|until| now < until) {
            return self.fallback.check(keys);
        }
        let outcome = match self.connection() {
            Some(connection) => tokio::time::timeout(DEADLINE, self.eval(connection, keys))
                .await
                .unwrap_or_else(|_| Err("timed out".to_owned())),
            None => Err("no connection could be set up".to_owned()),
        };
        match outcome {
            Ok(decision) => {
                if self.lock().take().is_some() {
                    tracing::info!("Redis is reachable again; rate limits are shared again");
                }
                decision
            }
            Err(error) => {
                if self.lock().replace(now + RETRY_AFTER_FAILURE).is_none() {
                    tracing::warn!(
                        %error,
                        "Redis unreachable; rate limits fall back to this instance's memory"
                    );
                }
                self.fallback.check(keys)
            }
        }
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.connection
            .get_or_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(DEADLINE))
                    .set_response_timeout(Some(DEADLINE))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.settings.client.clone(), config)
                    .inspect_err(|error| tracing::error!(%error, "cannot set up Redis"))
                    .ok()
            })
            .clone()
    }

    async fn eval(
        &self,
        mut connection: ConnectionManager,
        keys: &[Key],
    ) -> Result<Decision, String> {
        let mut invocation = self.script.prepare_invoke();
        for key in keys {
            let limit = u64::from(self.limits.of(key).get());
            // Rounded up, so a bucket never admits more than its limit per minute.
            let interval = 60_000_000u64.div_ceil(limit);
            invocation
                .key(self.settings.key(key))
                .arg(interval)
                .arg(interval * limit);
        }
        let wait_micros: u64 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|error| error.to_string())?;
        Ok(if wait_micros == 0 {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: Duration::from_micros(wait_micros),
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // A plain instant: a panic elsewhere cannot leave it half-written.
        self.down_until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_by_bucket() {
        let settings = RedisSettings::new("redis://127.0.0.1:6379", "test-run").expect("valid");
        assert_eq!(settings.key(&Key::User(42)), "test-run:ratelimit-user:42");
        assert_eq!(
            settings.key(&Key::login([10, 1, 2, 3].into())),
            "test-run:ratelimit-login:10.1.2.3"
        );
    }

    #[test]
    fn refuses_what_is_not_a_redis_url_or_a_usable_prefix() {
        assert!(RedisSettings::new("http://cache:6379", "carebook").is_err());
        assert!(RedisSettings::new("redis://cache:6379", "").is_err());
        assert!(RedisSettings::new("redis://cache:6379", "two words").is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let settings =
            RedisSettings::new("redis://user:s3cret@cache:6379/2", "carebook").expect("valid");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("cache"), "{shown}");
    }
}
