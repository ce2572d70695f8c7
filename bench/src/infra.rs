//! The distributed mode's infrastructure, fresh for each run and removed after it, also when
//! the run fails or is interrupted (on drop): one PostgreSQL database per service, a RabbitMQ
//! vhost of its own, and a Redis key prefix of its own. Everything is on this machine.

use std::collections::HashMap;

use anyhow::Context;
use platform::config::Service;
use sqlx::Connection;

/// Where the shared servers are; `CAREBOOK_BENCH_*` variables override the defaults.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// A database the bench may connect to in order to create and drop its own.
    pub postgres_admin: String,
    /// The broker without a vhost; the run's vhost is appended.
    pub amqp: String,
    pub redis: String,
}

impl Endpoints {
    pub fn from_env() -> Self {
        let var = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.into());
        Self {
            postgres_admin: var(
                "CAREBOOK_BENCH_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            amqp: var(
                "CAREBOOK_BENCH_AMQP_URL",
                "amqp://guest:guest@127.0.0.1:5672",
            ),
            redis: var("CAREBOOK_BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
        }
    }

    /// The admin URL with its database replaced (any `?options` kept, e.g. `sslmode`).
    fn postgres_url(&self, database: &str) -> String {
        let (base, last) = self
            .postgres_admin
            .rsplit_once('/')
            .unwrap_or((self.postgres_admin.as_str(), ""));
        let options = last.find('?').map_or("", |i| &last[i..]);
        format!("{base}/{database}{options}")
    }
}

/// What one distributed run created; dropping it removes all of it.
#[derive(Debug)]
pub struct Infra {
    endpoints: Endpoints,
    databases: Vec<String>,
    vhost: Option<String>,
    pub redis_prefix: String,
    pub database_urls: HashMap<Service, String>,
    pub amqp_url: String,
}

impl Infra {
    /// Creates a database for each backend service, the vhost (with permissions for the
    /// broker's user) and picks the Redis prefix. `run` makes the names unique.
    pub async fn create(run: &str) -> anyhow::Result<Self> {
        let endpoints = Endpoints::from_env();
        let vhost = format!("carebook-bench-{run}");
        let mut infra = Self {
            amqp_url: format!("{}/{vhost}", endpoints.amqp),
            redis_prefix: format!("carebook-bench-{run}"),
            endpoints,
            databases: Vec::new(),
            vhost: None,
            database_urls: HashMap::new(),
        };
        let mut admin = sqlx::AnyConnection::connect(&infra.endpoints.postgres_admin)
            .await
            .context("PostgreSQL is needed for the distributed mode")?;
        for service in Service::BACKENDS {
            // Our own prefix, a random run id and a service name: nothing a user controls.
            let name = format!("carebook_bench_{run}_{}", service.name());
            let sql = format!("CREATE DATABASE \"{name}\"");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await?;
            infra.databases.push(name.clone());
            let url = infra.endpoints.postgres_url(&name);
            infra.database_urls.insert(service, url);
        }
        admin.close().await?;
        rabbitmqctl(&["add_vhost", &vhost]).await?;
        infra.vhost = Some(vhost.clone());
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]).await?;
        Ok(infra)
    }

    pub fn redis_url(&self) -> &str {
        &self.endpoints.redis
    }
}

async fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let output = tokio::process::Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .output()
        .await
        .context("rabbitmqctl is needed for the distributed mode")?;
    anyhow::ensure!(
        output.status.success(),
        "rabbitmqctl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

impl Drop for Infra {
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        let vhost = self.vhost.take();
        let endpoints = self.endpoints.clone();
        let prefix = self.redis_prefix.clone();
        // Its own thread and runtime: drop may run inside (or after) the main runtime.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(remove(&endpoints, databases, vhost, &prefix))
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("cleanup of the distributed run failed: {err:#}"),
            Err(_) => eprintln!("cleanup of the distributed run panicked"),
        }
    }
}

async fn remove(
    endpoints: &Endpoints,
    databases: Vec<String>,
    vhost: Option<String>,
    prefix: &str,
) -> anyhow::Result<()> {
    if let Some(vhost) = vhost {
        rabbitmqctl(&["delete_vhost", &vhost]).await?;
    }
    if !databases.is_empty() {
        let mut admin = sqlx::AnyConnection::connect(&endpoints.postgres_admin).await?;
        for name in databases {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await?;
        }
    }
    delete_redis_keys(&endpoints.redis, prefix).await
}

/// Deletes every key under `prefix:` (SCAN, so Redis is never blocked by a big KEYS).
async fn delete_redis_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
