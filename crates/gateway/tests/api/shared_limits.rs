//! Rate limits shared through the real Redis (`CAREBOOK_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`): each test uses a fresh key prefix and deletes its keys.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gateway::limit::{Decision, Key};
use gateway::{GatewayConfig, RateLimiter, RateLimits, RedisSettings};
use platform::config::Service;
use redis::AsyncCommands;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::support::{closed_port, openapi, spawn, stand_in};

fn redis_url() -> String {
    std::env::var("CAREBOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix no other test or run uses. Tests delete its keys at their end; a failed test's keys
/// expire on their own within a minute (every bucket key has a TTL).
struct FreshPrefix(String);

impl FreshPrefix {
    fn new() -> Self {
        Self(format!("carebook-test-{}", uuid::Uuid::new_v4().simple()))
    }

    fn settings(&self) -> RedisSettings {
        RedisSettings::new(&redis_url(), &self.0).unwrap()
    }

    async fn keys(&self) -> Vec<String> {
        let mut redis = connect().await;
        let mut keys: Vec<String> = redis.keys(format!("{}:*", self.0)).await.unwrap();
        keys.sort();
        keys
    }

    async fn delete_keys(&self) {
        let keys = self.keys().await;
        if !keys.is_empty() {
            let _: () = connect().await.del(keys).await.unwrap();
        }
    }
}

async fn connect() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("these tests need Redis at {}: {e}", redis_url()))
}

fn limits(per_minute: u32, login_per_minute: u32) -> RateLimits {
    RateLimits {
        per_minute: NonZeroU32::new(per_minute).unwrap(),
        login_per_minute: NonZeroU32::new(login_per_minute).unwrap(),
    }
}

async fn allowed(limiter: &RateLimiter, keys: &[Key], times: usize) -> usize {
    let mut count = 0;
    for _ in 0..times {
        if limiter.check(keys).await == Decision::Allowed {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn users_and_addresses_are_counted_in_redis() {
    let prefix = FreshPrefix::new();
    let limiter = RateLimiter::shared(limits(3, 3), prefix.settings());
    let ip = IpAddr::from([192, 0, 2, 10]);

    assert_eq!(
        allowed(&limiter, &[Key::client(ip), Key::User(7)], 3).await,
        3
    );
    let Decision::Limited { retry_after } = limiter.check(&[Key::User(7)]).await else {
        panic!("the user's fourth request in a minute must be refused");
    };
    assert!(retry_after > Duration::from_secs(15), "{retry_after:?}");
    assert!(retry_after <= Duration::from_secs(20), "{retry_after:?}");
    assert_eq!(
        prefix.keys().await,
        [
            format!("{}:ratelimit-ip:192.0.2.10", prefix.0),
            format!("{}:ratelimit-user:7", prefix.0),
        ]
    );
    // A bucket's key lives no longer than it takes to fill up again.
    let ttl: i64 = connect()
        .await
        .pttl(format!("{}:ratelimit-user:7", prefix.0))
        .await
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "{ttl}");

    prefix.delete_keys().await;
}

#[tokio::test]
async fn two_limiters_on_one_redis_hold_one_limit() {
    let prefix = FreshPrefix::new();
    let first = RateLimiter::shared(limits(4, 4), prefix.settings());
    let second = RateLimiter::shared(limits(4, 4), prefix.settings());
    let user = [Key::User(11)];

    let mut allowed_total = 0;
    for _ in 0..3 {
        allowed_total += allowed(&first, &user, 1).await;
        allowed_total += allowed(&second, &user, 1).await;
    }

    assert_eq!(allowed_total, 4);
    prefix.delete_keys().await;
}

#[tokio::test]
async fn a_refused_request_takes_nothing_from_its_other_buckets() {
    let prefix = FreshPrefix::new();
    let limiter = RateLimiter::shared(limits(3, 1), prefix.settings());
    let ip = IpAddr::from([192, 0, 2, 11]);
    let login = [Key::login(ip), Key::client(ip)];

    assert_eq!(allowed(&limiter, &login, 3).await, 1);
    // Only the one allowed login came out of the address's general bucket.
    assert_eq!(allowed(&limiter, &[Key::client(ip)], 3).await, 2);

    prefix.delete_keys().await;
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_this_instances_limits() {
    let closed = closed_port().replace("http://", "redis://");
    let settings = RedisSettings::new(&closed, "unused").unwrap();
    let limiter = RateLimiter::shared(limits(2, 2), settings);
    let user = [Key::User(5)];

    let started = Instant::now();
    assert_eq!(allowed(&limiter, &user, 3).await, 2);
    // Refused connections are noticed at once, and Redis is then left alone for a while.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// Set in the environment of the gateway processes the next test starts.
const CHILD: &str = "CAREBOOK_GATEWAY_TEST_CHILD";
const LISTENING: &str = "gateway listening on ";

/// Not a test: the gateway process `two_gateway_processes_enforce_one_limit` starts by running
/// this test binary again with only this function selected. Configured like `carebook serve
/// gateway`, from the environment; serves until its stdin closes.
#[tokio::test]
#[ignore = "run as a child process by two_gateway_processes_enforce_one_limit"]
async fn gateway_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let config = GatewayConfig::from_env(openapi()).unwrap();
    let tls = config.tls.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{LISTENING}{}", listener.local_addr().unwrap());
    let stdin_closed = async {
        let _ = tokio::io::stdin().read_to_end(&mut Vec::new()).await;
    };
    let plan = platform::server::ShutdownPlan::IMMEDIATE;
    gateway::serve(listener, gateway::router(config), tls, stdin_closed, plan)
        .await
        .unwrap();
}

/// Starts a gateway process; returns it and its base URL.
async fn start_gateway_process(env: &[(String, String)]) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "shared_limits::gateway_process", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("CAREBOOK_TLS_CERT")
        .env_remove("CAREBOOK_TLS_KEY")
        .env_remove("CAREBOOK_CORS_ORIGINS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // The test harness may have started the line with the test's name.
            if let Some((_, address)) = line.split_once(LISTENING) {
                return address.trim().to_owned();
            }
        }
        panic!("the gateway process ended before listening");
    })
    .await
    .unwrap();
    // Keep reading, so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{address}"))
}

#[tokio::test]
async fn two_gateway_processes_enforce_one_limit() {
    let prefix = FreshPrefix::new();
    let upstream = spawn(stand_in()).await;
    let mut env: Vec<(String, String)> = Service::BACKENDS
        .iter()
        .map(|s| {
            (
                format!("CAREBOOK_{}_URL", s.name().to_uppercase()),
                upstream.clone(),
            )
        })
        .collect();
    env.extend([
        ("CAREBOOK_REDIS_URL".to_owned(), redis_url()),
        ("CAREBOOK_REDIS_PREFIX".to_owned(), prefix.0.clone()),
        ("CAREBOOK_RATE_LIMIT_PER_MINUTE".to_owned(), "4".to_owned()),
    ]);
    let (mut first, first_url) = start_gateway_process(&env).await;
    let (mut second, second_url) = start_gateway_process(&env).await;
    let http = reqwest::Client::new();

    let mut statuses = Vec::new();
    for _ in 0..3 {
        for url in [&first_url, &second_url] {
            let response = http
                .get(format!("{url}/api/openapi.json"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status());
        }
    }

    // Four allowed in all, not four per process.
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (4, 2), "{statuses:?}");
    assert_eq!(
        prefix.keys().await,
        [format!("{}:ratelimit-ip:127.0.0.1", prefix.0)]
    );

    for child in [&mut first, &mut second] {
        drop(child.stdin.take());
        let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exit.success(), "{exit:?}");
    }
    prefix.delete_keys().await;
}
