//! Fresh, migrated databases for the store tests, removed afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use platform::db::Db;

use crate::MIGRATIONS;

/// A migrated database that no other test uses.
pub struct TestDb {
    pub db: Db,
    /// `(admin URL, database name)` of a PostgreSQL database to drop afterwards.
    postgres: Option<(String, String)>,
    sqlite_file: Option<std::path::PathBuf>,
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("carebook_doctors_store_{}_{n}", std::process::id())
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let file = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let _ = std::fs::remove_file(&file);
        let db = Db::open(&format!("sqlite://{}", file.display()), &MIGRATIONS)
            .await
            .unwrap();
        Self {
            db,
            postgres: None,
            sqlite_file: Some(file),
        }
    }

    pub async fn postgres() -> Self {
        let admin_url = std::env::var("CAREBOOK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = unique_name();
        let admin = Db::connect(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("PostgreSQL is required ({admin_url}): {err:#}"));
        execute(&admin, format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
        execute(&admin, format!("CREATE DATABASE \"{name}\"")).await;
        admin.close().await;
        let (server, _) = admin_url.rsplit_once('/').unwrap();
        let db = Db::open(&format!("{server}/{name}"), &MIGRATIONS)
            .await
            .unwrap();
        Self {
            db,
            postgres: Some((admin_url, name)),
            sqlite_file: None,
        }
    }

    pub async fn discard(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = Db::connect(&admin_url).await.unwrap();
            execute(&admin, format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
            admin.close().await;
        }
        if let Some(file) = self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// DDL on a name made only of our own fixed prefix and numbers.
async fn execute(db: &Db, sql: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(db.pool())
        .await
        .unwrap();
}
