//! Searching every database of the system for the patient's personal data: on SQLite every
//! byte of each database file and its write-ahead log (free pages and old page images
//! included), on PostgreSQL every row of every table as text.

use platform::config::Service;
use sqlx::Connection;

use super::needles;
use crate::helpers::TestApp;

/// Where each needle was found, as `service: needle (where)`.
pub async fn findings(app: &TestApp, skip: &[Service]) -> Vec<String> {
    try_findings(app, skip).await.unwrap()
}

/// As [`findings`]; a database that cannot be read right now (the shared server busy) is an
/// error to retry.
async fn try_findings(app: &TestApp, skip: &[Service]) -> Result<Vec<String>, sqlx::Error> {
    let mut found = Vec::new();
    for service in Service::BACKENDS {
        if skip.contains(&service) {
            continue;
        }
        let url = &app.database_urls[&service];
        let places = match url.strip_prefix("sqlite://") {
            Some(path) => sqlite_bytes(path),
            None => postgres_text(url).await?,
        };
        for (place, haystack) in places {
            for needle in needles() {
                if contains(&haystack, needle.as_bytes()) {
                    found.push(format!("{service}: {needle} ({place})"));
                }
            }
        }
    }
    Ok(found)
}

/// Waits until no database but those in `skip` holds the patient's data.
pub async fn wait_until_clean(app: &TestApp, skip: &[Service]) {
    let deadline = std::time::Instant::now() + crate::events::PATIENCE;
    loop {
        let found = match try_findings(app, skip).await {
            Ok(found) if found.is_empty() => return,
            Ok(found) => found,
            Err(err) => vec![format!("(not read: {err})")],
        };
        assert!(
            std::time::Instant::now() < deadline,
            "the patient's data is still in: {found:?}"
        );
        // Polling interval, not a wait for something to happen: the deadline bounds it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn sqlite_bytes(path: &str) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-journal"]
        .into_iter()
        .filter_map(|suffix| {
            let file = format!("{path}{suffix}");
            std::fs::read(&file).ok().map(|bytes| (file, bytes))
        })
        .collect()
}

async fn postgres_text(url: &str) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut dumps = Vec::new();
    for (table,) in tables {
        let sql = format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await?;
        let text = rows
            .into_iter()
            .map(|(r,)| r)
            .collect::<Vec<_>>()
            .join("\n");
        dumps.push((table, text.into_bytes()));
    }
    conn.close().await?;
    Ok(dumps)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
