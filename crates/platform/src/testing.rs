//! Fresh databases for tests (feature `testing`): a SQLite file in a temporary directory, or a
//! PostgreSQL database of its own on the server at `CAREBOOK_TEST_POSTGRES_URL`, dropped after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Connection;

use crate::db::{Db, Migrations};

/// The server PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CAREBOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database name no other test uses; CI drops leftovers by the `carebook_test_` prefix.
pub fn unique_database_name(label: &str) -> String {
    format!("carebook_test_{}_{label}", uuid::Uuid::new_v4().simple())
}

/// The URL of database `name` on the test server.
pub fn postgres_url(name: &str) -> String {
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

/// Creates an empty database `name` on the test server; a missing server fails loudly.
pub async fn create_postgres_database(name: &str) {
    sqlx::any::install_default_drivers();
    let admin_url = postgres_admin_url();
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| {
            panic!("PostgreSQL is required for these tests ({admin_url}): {err}")
        });
    // The name is our own prefix and a UUID: nothing a caller controls.
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// Drops test databases. Safe to call from `Drop` inside a runtime: it uses its own thread.
pub fn drop_postgres_databases(names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut admin = sqlx::AnyConnection::connect(&postgres_admin_url())
                .await
                .unwrap();
            for name in names {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await;
            }
        });
    })
    .join();
}

/// A migrated database that no other test uses, removed when dropped.
pub struct TestDatabase {
    pub db: Db,
    postgres: Option<String>,
    _sqlite_dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn sqlite(migrations: &Migrations) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            db: Db::open(&url, migrations).await.unwrap(),
            postgres: None,
            _sqlite_dir: Some(dir),
        }
    }

    pub async fn postgres(migrations: &Migrations) -> Self {
        let name = unique_database_name("store");
        create_postgres_database(&name).await;
        Self {
            db: Db::open(&postgres_url(&name), migrations).await.unwrap(),
            postgres: Some(name),
            _sqlite_dir: None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.postgres.take() {
            drop_postgres_databases(vec![name]);
        }
    }
}
