//! SQLite's writer: the one connection on which a process's writes take turns.
//!
//! SQLite lets one transaction write at a time. Writers that meet on its lock poll for it with
//! sleeps of up to 100 ms, so every write instead waits for this connection, first come, first
//! served. It is held behind a fair lock rather than in a pool of one: a pool checks each
//! connection it gets back with a round trip to SQLite's thread, on a task of its own, and the
//! next writer waits for both, on a runtime busy with requests. Here the next writer starts as
//! soon as the last one committed. The transactions under load (a booking's) also run on a
//! thread of the writer's own ([`Writer::run`]), so that between their statements they do not
//! wait for the runtime's busy threads while every other writer waits for them.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyQueryResult};
use sqlx::{Any, AnyConnection, ConnectOptions, Connection, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::Instrument;

/// How long a write waits for its turn before it fails, as a pool's acquire would.
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// The writer connection of a SQLite database file, and the thread its transactions may run
/// on ([`Writer::run`]).
#[derive(Clone)]
pub(super) struct Writer {
    conn: Arc<Mutex<Slot>>,
    options: AnyConnectOptions,
    thread: Arc<Thread>,
}

/// A thread with a runtime of its own that runs nothing but write transactions. A transaction
/// makes a round trip to SQLite's thread for each statement, and after each one its task must
/// get a thread of the runtime again; on the service's runtime those are busy with requests,
/// and every other writer waits meanwhile. Here one is free. It stops when the last handle to
/// the writer is dropped.
struct Thread {
    runtime: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Thread {
    /// The runtime is built on the thread itself, so that it is also dropped there, never on
    /// the caller's runtime, where dropping a runtime panics.
    async fn start() -> std::io::Result<Self> {
        let (ready, started) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready.send(Err(err));
                        return;
                    }
                };
                if ready.send(Ok(runtime.handle().clone())).is_ok() {
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                }
            })?;
        let runtime = started.await.map_err(|_| {
            std::io::Error::other("the writer's thread stopped before it started")
        })??;
        Ok(Self {
            runtime,
            _stop: stop,
        })
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer(..)")
    }
}

/// The connection (`None` after it failed, until the next write reconnects), whether a
/// transaction on it is still open (one dropped where it could not be rolled back), and
/// whether the database was closed, after which every write fails as on a closed pool.
struct Slot {
    conn: Option<AnyConnection>,
    open: bool,
    closed: bool,
}

impl Writer {
    pub(super) async fn connect(options: AnyConnectOptions) -> sqlx::Result<Self> {
        let conn = open(&options).await?;
        Ok(Self {
            conn: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                open: false,
                closed: false,
            })),
            options,
            thread: Arc::new(Thread::start().await.map_err(sqlx::Error::Io)?),
        })
    }

    /// Runs `work` on the writer's thread and waits for it. It runs to its end even if the
    /// caller goes away first: a transaction is not cut off between its statements.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> T {
        match self.thread.runtime.spawn(work.in_current_span()).await {
            Ok(done) => done,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => unreachable!("the writer's thread runs while a writer is held: {err}"),
        }
    }

    /// `BEGIN IMMEDIATE` on the writer, once it is this caller's turn.
    pub(super) async fn begin(&self) -> sqlx::Result<Tx> {
        let mut turn = self.turn().await?;
        // Open from here on: a caller that goes away before `BEGIN` answers leaves the next
        // turn to roll back.
        turn.open = true;
        if let Err(err) = turn.conn()?.execute("BEGIN IMMEDIATE").await {
            turn.open = false;
            return Err(err);
        }
        Ok(Tx(Kind::Writer(Some(turn))))
    }

    /// One statement that commits on its own, in turn with the transactions.
    pub(super) async fn execute(
        &self,
        query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    ) -> sqlx::Result<AnyQueryResult> {
        let mut turn = self.turn().await?;
        query.execute(turn.conn()?).await
    }

    pub(super) async fn close(&self) {
        if let Ok(mut turn) = self.turn().await {
            turn.closed = true;
            if let Some(conn) = turn.conn.take() {
                let _ = conn.close().await;
            }
        }
    }

    /// Waits for the connection, reconnects if it failed, and ends a transaction left open.
    async fn turn(&self) -> sqlx::Result<Turn> {
        let mut turn = tokio::time::timeout(TURN_TIMEOUT, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if turn.closed {
            return Err(sqlx::Error::PoolClosed);
        }
        if turn.open {
            rollback(&mut turn).await;
        }
        if turn.conn.is_none() {
            turn.conn = Some(open(&self.options).await?);
        }
        Ok(Turn(turn))
    }
}

struct Turn(OwnedMutexGuard<Slot>);

impl Turn {
    fn conn(&mut self) -> sqlx::Result<&mut AnyConnection> {
        self.0.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }
}

impl Deref for Turn {
    type Target = Slot;

    fn deref(&self) -> &Slot {
        &self.0
    }
}

impl DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut Slot {
        &mut self.0
    }
}

/// Rolls back. `ROLLBACK` fails harmlessly when the transaction already ended (its `COMMIT`
/// went through just before its caller went away); a connection that then does not answer
/// either is dropped, and the next write opens a new one.
async fn rollback(slot: &mut Slot) {
    if let Some(conn) = slot.conn.as_mut()
        && conn.execute("ROLLBACK").await.is_err()
        && conn.ping().await.is_err()
    {
        slot.conn = None;
    }
    slot.open = false;
}

/// A connection prepared like every connection of a SQLite pool.
async fn open(options: &AnyConnectOptions) -> sqlx::Result<AnyConnection> {
    let mut conn = options.connect().await?;
    super::prepare_sqlite(&mut conn).await?;
    Ok(conn)
}

/// A write transaction: on SQLite's writer for a database file, otherwise from the pool. Use
/// it as the connection (`&mut *tx`); it rolls back unless committed.
pub struct Tx(Kind);

enum Kind {
    Pooled(Transaction<'static, Any>),
    /// `None` once ended.
    Writer(Option<Turn>),
}

impl Tx {
    pub(super) fn pooled(tx: Transaction<'static, Any>) -> Self {
        Self(Kind::Pooled(tx))
    }

    pub async fn commit(mut self) -> sqlx::Result<()> {
        match std::mem::replace(&mut self.0, Kind::Writer(None)) {
            Kind::Pooled(tx) => tx.commit().await,
            Kind::Writer(Some(mut turn)) => match turn.conn()?.execute("COMMIT").await {
                Ok(_) => {
                    turn.open = false;
                    Ok(())
                }
                Err(err) => {
                    rollback(&mut turn).await;
                    Err(err)
                }
            },
            Kind::Writer(None) => Err(sqlx::Error::PoolClosed),
        }
    }

    pub async fn rollback(mut self) -> sqlx::Result<()> {
        match std::mem::replace(&mut self.0, Kind::Writer(None)) {
            Kind::Pooled(tx) => tx.rollback().await,
            Kind::Writer(Some(mut turn)) => {
                rollback(&mut turn).await;
                Ok(())
            }
            Kind::Writer(None) => Ok(()),
        }
    }
}

impl Drop for Tx {
    /// An open transaction on the writer is rolled back before the next write's turn: on a
    /// task that keeps the turn until then, or, outside a runtime, by the next write itself.
    fn drop(&mut self) {
        if let Kind::Writer(turn) = &mut self.0
            && let Some(mut turn) = turn.take()
            && turn.open
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move { rollback(&mut turn).await });
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Kind::Pooled(tx) => tx,
            Kind::Writer(turn) => turn
                .as_ref()
                .and_then(|turn| turn.conn.as_ref())
                .expect("a transaction on the writer holds its connection until it ends"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Kind::Pooled(tx) => tx,
            Kind::Writer(turn) => turn
                .as_mut()
                .and_then(|turn| turn.0.conn.as_mut())
                .expect("a transaction on the writer holds its connection until it ends"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Db;

    async fn database() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("w.db").display()))
            .await
            .expect("a database");
        sqlx::raw_sql(
            "CREATE TABLE parent (id BIGINT PRIMARY KEY); \
             CREATE TABLE child (parent_id BIGINT NOT NULL \
                 REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(db.pool())
        .await
        .expect("the tables");
        (dir, db)
    }

    /// A database and a transaction on it that inserted parent 1 and has not committed.
    async fn an_open_transaction() -> (tempfile::TempDir, Db, super::Tx) {
        let (dir, db) = database().await;
        let mut tx = db.begin().await.expect("a transaction");
        insert_parent(&mut tx, 1).await;
        (dir, db, tx)
    }

    async fn count(db: &Db, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await
            .expect("a count");
        n
    }

    async fn insert_parent(tx: &mut super::Tx, id: i64) {
        sqlx::query("INSERT INTO parent (id) VALUES ($1)")
            .bind(id)
            .execute(&mut **tx)
            .await
            .expect("an insert");
    }

    async fn the_next_transaction_commits(db: &Db, parent: i64) {
        let mut tx = db.begin().await.expect("the next transaction");
        insert_parent(&mut tx, parent).await;
        tx.commit().await.expect("a commit");
    }

    #[tokio::test]
    async fn a_transaction_dropped_uncommitted_is_rolled_back_before_the_next_one() {
        let (_dir, db, tx) = an_open_transaction().await;
        drop(tx);
        the_next_transaction_commits(&db, 2).await;
        assert_eq!(count(&db, "parent").await, 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_transaction_dropped_outside_the_runtime_is_rolled_back_by_the_next_write() {
        let (_dir, db, tx) = an_open_transaction().await;
        std::thread::spawn(move || drop(tx))
            .join()
            .expect("dropped on a thread without a runtime");
        let insert = sqlx::query("INSERT INTO parent (id) VALUES (2)");
        db.execute_write(insert).await.expect("the next write");
        assert_eq!(count(&db, "parent").await, 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_commit_that_fails_leaves_nothing_and_the_writer_usable() {
        let (_dir, db) = database().await;
        let mut tx = db.begin().await.expect("a transaction");
        sqlx::query("INSERT INTO child (parent_id) VALUES (7)")
            .execute(&mut *tx)
            .await
            .expect("a deferred check passes until the commit");
        let failed = tx.commit().await.expect_err("no parent 7");
        assert!(failed.as_database_error().is_some(), "{failed}");
        assert_eq!(count(&db, "child").await, 0);
        the_next_transaction_commits(&db, 7).await;
        assert_eq!(count(&db, "parent").await, 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_write_runs_on_the_writers_thread_to_its_end_when_its_caller_goes_away() {
        let (_dir, db) = database().await;
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let (finished, done) = tokio::sync::oneshot::channel();
        let work = {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.expect("a transaction");
                insert_parent(&mut tx, 1).await;
                wait.await.expect("the test's go");
                tx.commit().await.expect("a commit");
                let thread = std::thread::current().name().map(str::to_owned);
                finished.send(thread).expect("the test waits");
            }
        };
        tokio::select! {
            biased;
            () = db.write(work) => panic!("the work waits for the test's go"),
            () = tokio::task::yield_now() => {}
        }
        go.send(()).expect("the work waits");
        let thread = done.await.expect("the work ran to its end");
        assert_eq!(thread.as_deref(), Some("sqlite-writer"));
        assert_eq!(count(&db, "parent").await, 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_panic_in_a_write_reaches_its_caller() {
        let (_dir, db) = database().await;
        let writes = db.clone();
        let caller = async move { writes.write(async { panic!("the work's own panic") }).await };
        let failed = tokio::spawn(caller).await.expect_err("the caller panics");
        assert!(failed.is_panic());
        the_next_transaction_commits(&db, 1).await;
        db.close().await;
    }

    #[tokio::test]
    async fn a_closed_database_takes_no_more_writes() {
        let (_dir, db) = database().await;
        db.close().await;
        let failed = db.begin().await.err();
        assert!(
            matches!(failed, Some(sqlx::Error::PoolClosed)),
            "{failed:?}"
        );
    }
}
