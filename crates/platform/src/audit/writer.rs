//! Group commit of audit rows. Every read writes a row before it is answered; written one
//! statement each, concurrent reads queue for one flush each (a WAL sync on PostgreSQL, the
//! single write lock on SQLite). Instead, requests hand their rows to one writer task per
//! database, which takes whatever is queued, writes it as one multi-row `INSERT` (one
//! transaction), and only after the commit tells each request its rows are durable. A batch
//! that fails fails every request in it: none is answered as a success without its row.

use std::sync::{Arc, OnceLock};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Arguments, AssertSqlSafe, Executor};
use tokio::sync::{mpsc, oneshot};

use super::{Action, Outcome};
use crate::ApiError;
use crate::db::{Db, ROWS_PER_STATEMENT, values_rows};

/// Submissions waiting for the writer; beyond this, requests wait to submit (backpressure).
const QUEUE: usize = 1024;
/// Submissions one commit takes at most (a page of a list is one submission).
const MAX_BATCH: usize = 256;

/// One audit row, owned so it can wait in the writer's queue.
#[derive(Debug)]
pub(super) struct NewRow {
    pub at: i64,
    pub service: &'static str,
    pub actor_id: i64,
    pub actor_role: &'static str,
    pub patient_id: Option<i64>,
    pub action: Action,
    pub resource: String,
    pub outcome: Outcome,
    pub endpoint: String,
    pub request_id: String,
}

/// One request's rows and where to tell it they are durable (or why not).
struct Submission {
    rows: Vec<NewRow>,
    done: oneshot::Sender<Result<(), Arc<sqlx::Error>>>,
}

/// The handle requests submit through. The writer task starts with the first submission (on
/// the runtime serving requests) and stops when the last handle is dropped, after writing what
/// was queued.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    db: Db,
    queue: Arc<OnceLock<mpsc::Sender<Submission>>>,
}

impl Writer {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            queue: Arc::new(OnceLock::new()),
        }
    }

    /// Returns once `rows` are committed; an error when they are not.
    pub async fn write(&self, rows: Vec<NewRow>) -> crate::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let (done, committed) = oneshot::channel();
        self.queue()
            .send(Submission { rows, done })
            .await
            .map_err(|_| stopped())?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(failure(&err)),
            Err(_) => Err(stopped()),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Submission> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.db.clone(), receiver));
            sender
        })
    }
}

/// Commits batch after batch until every handle is gone and the queue is empty.
async fn run(db: Db, mut queue: mpsc::Receiver<Submission>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<&NewRow> = batch.iter().flat_map(|s| &s.rows).collect();
        let result = write_batch(&db, &rows).await.map_err(Arc::new);
        if let Err(err) = &result {
            tracing::error!(rows = rows.len(), error = %err,
                "audit rows not written; their requests fail");
        }
        drop(rows);
        for submission in batch.drain(..) {
            // A request that went away no longer waits; its rows were written all the same.
            let _ = submission.done.send(result.clone());
        }
    }
}

/// One statement commits on its own; a larger batch is one transaction of several.
async fn write_batch(db: &Db, rows: &[&NewRow]) -> sqlx::Result<()> {
    if rows.len() <= ROWS_PER_STATEMENT {
        return db.execute_write(insert_query(rows)?).await.map(drop);
    }
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        insert(&mut *tx, chunk).await?;
    }
    tx.commit().await
}

/// Writes `rows` with one statement on `conn`.
pub(super) async fn insert<'c>(
    conn: impl Executor<'c, Database = Any>,
    rows: &[&NewRow],
) -> sqlx::Result<()> {
    insert_query(rows)?.execute(conn).await.map(drop)
}

/// `INSERT INTO audit_log … VALUES (…), (…), …`: one statement for all of `rows`.
fn insert_query(rows: &[&NewRow]) -> sqlx::Result<Query<'static, Any, AnyArguments>> {
    let mut args = AnyArguments::default();
    let values =
        values_rows(&mut args, rows, |args, row| bind(args, row)).map_err(sqlx::Error::Encode)?;
    let sql = format!(
        "INSERT INTO audit_log (at, service, actor_id, actor_role, patient_id, action, \
         resource, outcome, endpoint, request_id) VALUES {values}"
    );
    Ok(sqlx::query_with(AssertSqlSafe(sql), args))
}

fn bind(args: &mut AnyArguments, row: &NewRow) -> Result<(), sqlx::error::BoxDynError> {
    args.add(row.at)?;
    args.add(row.service)?;
    args.add(row.actor_id)?;
    args.add(row.actor_role)?;
    args.add(row.patient_id)?;
    args.add(row.action.as_str())?;
    args.add(row.resource.clone())?;
    args.add(row.outcome.as_str())?;
    args.add(row.endpoint.clone())?;
    args.add(row.request_id.clone())?;
    Ok(())
}

/// The error each request of a failed batch answers with (the database error itself is
/// logged once, by the writer).
fn failure(err: &Arc<sqlx::Error>) -> ApiError {
    match err.as_ref() {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            ApiError::Unavailable("The database is not reachable.".to_owned())
        }
        _ => ApiError::Internal(anyhow::Error::new(err.clone()).context("audit rows not written")),
    }
}

fn stopped() -> ApiError {
    ApiError::Internal(anyhow::anyhow!("the audit writer has stopped"))
}
