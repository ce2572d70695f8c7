//! Each service keeps one migration folder per backend; both must build the same tables.

use std::collections::BTreeSet;

use platform::db::{Db, Migrations};

use crate::helpers::{create_postgres_database, drop_postgres_databases, postgres_url};

/// (table, column, nullable) of every table the migrations create.
type Columns = BTreeSet<(String, String, bool)>;

async fn sqlite_columns(db: &Db) -> Columns {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\", p.pk FROM sqlite_master m \
         JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '\\_%' ESCAPE '\\'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(table, column, not_null, pk)| (table, column, not_null == 0 && pk == 0))
        .collect()
}

async fn postgres_columns(db: &Db) -> Columns {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_%' ESCAPE '\\'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(table, column, nullable)| (table, column, nullable == "YES"))
        .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_build_the_same_tables() {
    crate::helpers::init();
    let dir = tempfile::tempdir().unwrap();
    let services: [(&str, &Migrations); 6] = [
        ("patients", &patients::MIGRATIONS),
        ("doctors", &doctors::MIGRATIONS),
        ("appointments", &appointments::MIGRATIONS),
        ("notifications", &notifications::MIGRATIONS),
        ("billing", &billing::MIGRATIONS),
        ("records", &records::MIGRATIONS),
    ];
    let mut databases = Vec::new();
    for (name, migrations) in services {
        let file = dir.path().join(format!("{name}.db"));
        let sqlite = Db::open(&format!("sqlite://{}", file.display()), migrations)
            .await
            .unwrap();
        let database = platform::testing::unique_database_name(name);
        create_postgres_database(&database).await;
        databases.push(database.clone());
        let postgres = Db::open(&postgres_url(&database), migrations)
            .await
            .unwrap();

        let (lite, pg) = (
            sqlite_columns(&sqlite).await,
            postgres_columns(&postgres).await,
        );
        assert!(
            lite.iter().any(|(table, _, _)| table == "outbox"),
            "{name}: {lite:?}"
        );
        assert_eq!(lite, pg, "{name}: SQLite and PostgreSQL schemas differ");
        sqlite.close().await;
        postgres.close().await;
    }
    drop_postgres_databases(databases);
}
