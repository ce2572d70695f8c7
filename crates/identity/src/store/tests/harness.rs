//! Fresh, migrated databases for the store tests, removed afterwards.

use platform::db::Db;

use crate::MIGRATIONS;

/// A migrated database that no other test uses.
pub struct TestDb {
    pub db: Db,
    /// `(admin URL, database name)` of a PostgreSQL database to drop afterwards.
    postgres: Option<(String, String)>,
    sqlite_dir: Option<tempfile::TempDir>,
}

fn unique_name() -> String {
    format!("carebook_test_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("identity.db");
        let db = Db::open(&format!("sqlite://{}", file.display()), &MIGRATIONS)
            .await
            .unwrap();
        Self {
            db,
            postgres: None,
            sqlite_dir: Some(dir),
        }
    }

    pub async fn postgres() -> Self {
        let admin_url = std::env::var("CAREBOOK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = unique_name();
        let admin = Db::connect(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("PostgreSQL is required ({admin_url}): {err:#}"));
        execute(&admin, format!("CREATE DATABASE \"{name}\"")).await;
        admin.close().await;
        let (server, _) = admin_url.rsplit_once('/').unwrap();
        let db = Db::open(&format!("{server}/{name}"), &MIGRATIONS)
            .await
            .unwrap();
        Self {
            db,
            postgres: Some((admin_url, name)),
            sqlite_dir: None,
        }
    }

    pub async fn discard(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = Db::connect(&admin_url).await.unwrap();
            execute(
                &admin,
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
            admin.close().await;
        }
        drop(self.sqlite_dir);
    }
}

/// DDL on a name made only of our own fixed prefix and a UUID.
async fn execute(db: &Db, sql: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(db.pool())
        .await
        .unwrap();
}
