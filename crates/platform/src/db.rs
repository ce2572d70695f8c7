//! One pool type for SQLite and PostgreSQL: the URL picks the backend, queries are portable.
//!
//! Portable means: `$1..$n` placeholders, instants as BIGINT epoch milliseconds, booleans as
//! BIGINT 0/1, ids as BIGINT, JSON as TEXT. Where a backend needs its own DDL (the overlap
//! constraint of appointments) each service keeps one migration folder per backend.

use std::future::Future;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Arguments, AssertSqlSafe, Executor};

use crate::page::PageRequest;

mod writer;

pub use writer::Tx;
use writer::Writer;

static PLATFORM_SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static PLATFORM_POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A service's migrations, one folder per backend (`sqlx::migrate!`).
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// SQLite: the one connection writes queue for ([`Db::begin`], [`Db::execute_write`]).
    writer: Option<Writer>,
    backend: Backend,
    url: DatabaseUrl,
}

/// The URL a [`Db`] was opened with, for connections outside its pool (the outbox relay's
/// `LISTEN`). It may carry a password, so it never shows in `Debug` output.
#[derive(Clone)]
struct DatabaseUrl(std::sync::Arc<str>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(..)")
    }
}

impl Db {
    /// Connects to `sqlite://…` (creating the file) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with_pool_size(url, None).await
    }

    /// Like [`Db::connect`], with a pool of at most `size` connections instead of the default
    /// (`CAREBOOK_DB_MAX_CONNECTIONS` on PostgreSQL): for a background task that should not
    /// compete with requests for the service's pool.
    pub async fn connect_with_pool_size(url: &str, size: Option<u32>) -> anyhow::Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (expected sqlite: or postgres:)");
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        if let Some(file) = sqlite_file(&url) {
            // Created private before SQLite opens it: its -wal and -shm files take its mode.
            crate::files::touch_private_file(&file)
                .with_context(|| format!("cannot create {}", file.display()))?;
        }
        let options = AnyConnectOptions::from_str(&url).context("invalid database URL")?;
        let database_url = DatabaseUrl(url.as_str().into());
        let pool = match (backend, size) {
            (Backend::Sqlite, size) => sqlite_pool(size.unwrap_or(8).max(1)),
            (Backend::Postgres, Some(size)) => pool_options(size.max(1)),
            (Backend::Postgres, None) => pool_options(postgres_pool_size()?),
        }
        .connect_with(options.clone())
        .await
        .context("cannot connect to the database")?;
        // Writes take turns on one connection of their own (`writer`). A second in-memory
        // database would be another database: there the pool's connection writes.
        let writer = match backend {
            Backend::Sqlite if sqlite_file(&url).is_some() => Some(
                Writer::connect(options)
                    .await
                    .context("cannot connect to the database")?,
            ),
            _ => None,
        };
        Ok(Self {
            pool,
            writer,
            backend,
            url: database_url,
        })
    }

    /// The same database with a pool of `size` connections of its own, for a background task
    /// that should not queue for connections behind the requests. On SQLite it shares this
    /// handle's writer, so its writes ([`Db::execute_write`]) still take their turn with every
    /// other write to the file; an in-memory database is only this handle's.
    pub async fn with_own_pool(&self, size: u32) -> anyhow::Result<Self> {
        let options = AnyConnectOptions::from_str(self.url()).context("invalid database URL")?;
        let pool = match (self.backend, &self.writer) {
            (Backend::Sqlite, None) => return Ok(self.clone()),
            (Backend::Sqlite, Some(_)) => sqlite_pool(size.max(1)),
            (Backend::Postgres, _) => pool_options(size.max(1)),
        }
        .connect_with(options)
        .await
        .context("cannot connect to the database")?;
        Ok(Self {
            pool,
            ..self.clone()
        })
    }

    /// Runs the platform's tables (outbox) and then the service's own migrations.
    pub async fn migrate(&self, service: &Migrations) -> anyhow::Result<()> {
        let (platform, own) = match self.backend {
            Backend::Sqlite => (&PLATFORM_SQLITE, service.sqlite),
            Backend::Postgres => (&PLATFORM_POSTGRES, service.postgres),
        };
        let mut platform = Migrator {
            migrations: platform.migrations.clone(),
            ..Migrator::DEFAULT
        };
        platform.dangerous_set_table_name("_platform_migrations");
        platform
            .run(&self.pool)
            .await
            .context("platform migrations failed")?;
        own.run(&self.pool).await.context("migrations failed")?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn url(&self) -> &str {
        &self.url.0
    }

    /// A write transaction. On SQLite it waits its turn for the writer connection (first come,
    /// first served) and takes the write lock up front (`BEGIN IMMEDIATE`), so concurrent
    /// writers neither fail when upgrading a read lock nor sleep in SQLite's busy handler.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match (&self.writer, self.backend) {
            (Some(writer), _) => writer.begin().await,
            (None, Backend::Sqlite) => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map(Tx::pooled),
            (None, Backend::Postgres) => self.pool.begin().await.map(Tx::pooled),
        }
    }

    /// One write statement that commits on its own; on SQLite in turn with the write
    /// transactions, like [`Db::begin`].
    pub async fn execute_write(
        &self,
        query: sqlx::query::Query<'_, Any, AnyArguments>,
    ) -> sqlx::Result<AnyQueryResult> {
        match &self.writer {
            Some(writer) => writer.execute(query).await,
            None => query.execute(&self.pool).await,
        }
    }

    /// Runs `work`, a whole write transaction from [`Db::begin`] to its commit, where its
    /// statements are answered soonest: for a SQLite file on the writer's own thread, which
    /// runs nothing else, and to its end once started, even if the caller goes away; otherwise
    /// right here, as any future (dropped, its transaction rolls back).
    pub async fn write<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> T {
        match &self.writer {
            Some(writer) => writer.run(work).await,
            None => work.await,
        }
    }

    /// A write transaction serialised with every other one under `key` (e.g. a patient id):
    /// on PostgreSQL a transaction-scoped advisory lock taken in the same round trip as
    /// `BEGIN`; SQLite's write transactions take turns anyway ([`Self::begin`]).
    pub async fn begin_serialised(&self, key: i64) -> sqlx::Result<Tx> {
        match self.backend {
            Backend::Sqlite => self.begin().await,
            Backend::Postgres => {
                // An integer formatted in: nothing a caller can inject.
                let sql = format!("BEGIN; SELECT pg_advisory_xact_lock({key})");
                self.pool
                    .begin_with(AssertSqlSafe(sql))
                    .await
                    .map(Tx::pooled)
            }
        }
    }

    /// After an erasure: SQLite copies the write-ahead log into the database and truncates it,
    /// so earlier page images holding erased values leave the `-wal` file too (the database's
    /// own pages were overwritten under `secure_delete`). Readers in the middle of a
    /// transaction can hold the checkpoint back; it is retried briefly, then left to the next
    /// erasure. PostgreSQL needs nothing here: updated rows are invisible to every reader and
    /// vacuumed in the background.
    pub async fn scrub_erased(&self) {
        if self.backend != Backend::Sqlite {
            return;
        }
        for attempt in 0..50u64 {
            let done: sqlx::Result<(i64, i64, i64)> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&self.pool)
                    .await;
            match done {
                Ok((0, _, _)) => return,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "write-ahead log checkpoint failed");
                    return;
                }
            }
            // Waiting for readers to finish, bounded: 50 tries, a few ms apart.
            tokio::time::sleep(Duration::from_millis(2 + attempt)).await;
        }
        tracing::warn!("write-ahead log still in use; it is truncated at the next erasure");
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str, migrations: &Migrations) -> anyhow::Result<Self> {
        let db = Self::connect(url).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

fn pool_options(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(max_connections)
}

fn sqlite_pool(max_connections: u32) -> AnyPoolOptions {
    // A connection to a file does not go away while idle: no round trip to SQLite's thread to
    // check it before each use (the pool still checks it when it gets it back).
    pool_options(max_connections)
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(prepare_sqlite(conn)))
}

/// Every SQLite connection's settings. WAL lets readers run beside the single writer; the busy
/// timeout makes concurrent writers queue instead of failing. `secure_delete` overwrites deleted
/// and replaced content with zeros, so an erased patient's data does not linger in free pages.
async fn prepare_sqlite(conn: &mut AnyConnection) -> sqlx::Result<()> {
    for pragma in [
        "PRAGMA secure_delete = ON",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA busy_timeout = 15000",
        "PRAGMA foreign_keys = ON",
    ] {
        conn.execute(pragma).await?;
    }
    Ok(())
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty()
        || path == ":memory:"
        || query.split('&').any(|param| param == "mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

/// Builds a `WHERE …` clause from fixed fragments, pushing its values into the arguments.
pub type FilterBuilder<'a> =
    dyn Fn(&mut AnyArguments) -> Result<String, BoxDynError> + Send + Sync + 'a;

/// One page of `SELECT {columns} FROM {table} {filter} ORDER BY {order}` and the number of rows
/// the filter matches. The SQL is assembled from the caller's fixed fragments; every value goes
/// through a placeholder.
pub async fn fetch_page<R>(
    db: &Db,
    (table, columns, order): (&'static str, &'static str, &'static str),
    filter: &FilterBuilder<'_>,
    page: PageRequest,
) -> crate::Result<(Vec<R>, i64)>
where
    R: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
{
    let mut args = AnyArguments::default();
    let clause = filter(&mut args).map_err(anyhow::Error::from_boxed)?;
    let count = format!("SELECT COUNT(*) FROM {table} {clause}");
    let (total,): (i64,) = sqlx::query_as_with(AssertSqlSafe(count), args)
        .fetch_one(db.pool())
        .await?;

    let mut args = AnyArguments::default();
    let clause = filter(&mut args).map_err(anyhow::Error::from_boxed)?;
    args.add(page.limit()).map_err(anyhow::Error::from_boxed)?;
    args.add(page.offset()).map_err(anyhow::Error::from_boxed)?;
    let rows = format!(
        "SELECT {columns} FROM {table} {clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
        args.len() - 1,
        args.len()
    );
    let rows = sqlx::query_as_with(AssertSqlSafe(rows), args)
        .fetch_all(db.pool())
        .await?;
    Ok((rows, total))
}

/// `WHERE a AND b …`, or nothing when there are no conditions.
pub fn where_all(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// Rows one multi-row statement carries at most. With up to 13 values a row that stays far
/// below either backend's limit on parameters (SQLite 32,766, PostgreSQL 65,535); a larger set
/// is written in several statements, inside one transaction.
pub const ROWS_PER_STATEMENT: usize = 500;

/// The `(…), (…), …` of a multi-row `INSERT`: one row per item, one `$n` for each value `bind`
/// adds to `args` for it. Only placeholders are assembled; every value is bound.
pub fn values_rows<T>(
    args: &mut AnyArguments,
    items: impl IntoIterator<Item = T>,
    mut bind: impl FnMut(&mut AnyArguments, T) -> Result<(), BoxDynError>,
) -> Result<String, BoxDynError> {
    let mut rows = Vec::new();
    for item in items {
        let first = args.len() + 1;
        bind(args, item)?;
        let placeholders: Vec<String> = (first..=args.len()).map(|n| format!("${n}")).collect();
        rows.push(format!("({})", placeholders.join(", ")));
    }
    Ok(rows.join(", "))
}

/// Runs `{head} VALUES (…), (…) {tail}` over `items`, [`ROWS_PER_STATEMENT`] rows a
/// statement, binding each item's values with `bind` (see [`values_rows`]), and returns what
/// the statements return (the rows of a `RETURNING` tail). `head` and `tail` are the caller's
/// fixed SQL, e.g. `INSERT INTO t (a, b)` and `ON CONFLICT (a) DO NOTHING`.
pub async fn insert_values<T>(
    conn: &mut AnyConnection,
    (head, tail): (&str, &str),
    items: &[T],
    mut bind: impl FnMut(&mut AnyArguments, &T) -> Result<(), BoxDynError>,
) -> sqlx::Result<Vec<AnyRow>> {
    let mut returned = Vec::new();
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        let mut args = AnyArguments::default();
        let values = values_rows(&mut args, chunk, &mut bind).map_err(sqlx::Error::Encode)?;
        let sql = format!("{head} VALUES {values} {tail}");
        let rows = sqlx::query_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut *conn)
            .await?;
        returned.extend(rows);
    }
    Ok(returned)
}

/// The name of the constraint a failed statement violated, on either backend.
///
/// PostgreSQL reports it directly. SQLite reports UNIQUE violations as `table.column` and our
/// trigger-enforced constraints through `RAISE(ABORT, '<constraint name>')`, so the message is
/// matched against the names the caller knows.
pub fn violated_constraint<'a>(err: &sqlx::Error, known: &[&'a str]) -> Option<&'a str> {
    let db_err = err.as_database_error()?;
    let reported = db_err.constraint().unwrap_or_default();
    let message = db_err.message();
    known
        .iter()
        .copied()
        .find(|name| reported == *name || message.contains(name))
}

/// `%term%` for a case-insensitive `LIKE $n ESCAPE '\\'` against `lower(column)`, with the
/// term's own wildcards escaped.
pub fn contains_pattern(term: &str) -> String {
    let escaped = term
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Connections per service instance to PostgreSQL (`CAREBOOK_DB_MAX_CONNECTIONS`, default 10):
/// PostgreSQL's default 100 connections then serve a deployment with a few instances of each
/// service, and a test run with several systems at once sets fewer.
fn postgres_pool_size() -> anyhow::Result<u32> {
    match crate::config::parse_var::<u32>("CAREBOOK_DB_MAX_CONNECTIONS")? {
        Some(0) => anyhow::bail!("CAREBOOK_DB_MAX_CONNECTIONS must be at least 1"),
        Some(size) => Ok(size),
        None => Ok(10),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn finds_the_file_of_a_sqlite_url() {
        let file = |url| sqlite_file(url);
        assert_eq!(
            file("sqlite:///tmp/a.db?mode=rwc"),
            Some(PathBuf::from("/tmp/a.db"))
        );
        assert_eq!(file("sqlite://data/b.db"), Some(PathBuf::from("data/b.db")));
        assert_eq!(file("sqlite:c.db"), Some(PathBuf::from("c.db")));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory&cache=shared"), None);
        assert_eq!(file("postgres://localhost/db"), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_and_its_journal_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("service.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("a database");
        sqlx::query("CREATE TABLE t (x BIGINT)")
            .execute(db.pool())
            .await
            .expect("a table");
        for name in ["service.db", "service.db-wal", "service.db-shm"] {
            let meta = std::fs::metadata(dir.path().join(name)).expect(name);
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
        db.close().await;
    }

    /// Write transactions that read and then write take turns: none fails on the lock, none
    /// loses another's update.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_write_transactions_queue_for_the_writer() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("service.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("a database");
        sqlx::raw_sql("CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (0)")
            .execute(db.pool())
            .await
            .expect("a counter");
        let writers = (0..24).map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                let (n,): (i64,) = sqlx::query_as("SELECT n FROM counter")
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query("UPDATE counter SET n = $1")
                    .bind(n + 1)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })
        });
        for writer in futures::future::join_all(writers).await {
            writer.expect("a writer task").expect("a committed write");
        }
        let (n,): (i64,) = sqlx::query_as("SELECT n FROM counter")
            .fetch_one(db.pool())
            .await
            .expect("the count");
        assert_eq!(n, 24);
        db.close().await;
    }

    /// The lock is held from `BEGIN` to the end of the transaction, and only for its key.
    #[tokio::test]
    async fn a_serialised_postgres_transaction_holds_its_key_until_it_ends() {
        let url = crate::testing::postgres_admin_url();
        let db = Db::connect(&url).await.expect("PostgreSQL for this test");
        let key = i64::from(rand::random::<u32>()) + 1_000_000_000;
        let free = |key: i64| {
            let db = db.clone();
            async move {
                let mut other = db.begin().await.expect("a transaction");
                let (free,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *other)
                    .await
                    .expect("a try");
                free
            }
        };
        let mut tx = db
            .begin_serialised(key)
            .await
            .expect("a locked transaction");
        let (one,): (i64,) = sqlx::query_as("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&mut *tx)
            .await
            .expect("usable after the lock");
        assert_eq!(one, 1);
        assert!(!free(key).await, "held by the open transaction");
        assert!(free(key + 1).await, "other keys are free");
        tx.commit().await.expect("a commit");
        assert!(free(key).await, "released at commit");
        db.close().await;
    }
}
