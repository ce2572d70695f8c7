//! What wakes an idle outbox relay as soon as a commit wrote to its outbox, so that an event does
//! not wait for the next poll (which stays, less often, as a safety net).
//!
//! On PostgreSQL a trigger on the outbox `NOTIFY`s at commit (migration `0004_outbox_notify`);
//! the relay `LISTEN`s on a connection of its own, since the instance that committed need not be
//! the one relaying. On SQLite every writer is in this process: [`appended`] raises an
//! in-process signal when `outbox::append` has written its row, and the relay, once signalled,
//! takes and releases the write lock before it looks. SQLite has one writer at a time and the
//! appending transaction holds the lock from its first write until it ends, so that wait is
//! exactly "until the appending transaction has committed (or rolled back)".

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::backoff;
use crate::db::{Backend, Db};

/// The `NOTIFY` channel of the outbox trigger.
pub(crate) const CHANNEL: &str = "carebook_outbox";

/// In-process signals by source (service name): bumped on every outbox append.
static APPENDED: LazyLock<Mutex<HashMap<String, watch::Sender<u64>>>> =
    LazyLock::new(Mutex::default);

/// Tells `source`'s relay in this process that a transaction wrote to its outbox.
pub(crate) fn appended(source: &str) {
    let mut signals = APPENDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match signals.get(source) {
        Some(signal) => signal.send_modify(|n| *n = n.wrapping_add(1)),
        None => {
            signals.insert(source.to_owned(), watch::channel(1).0);
        }
    }
}

fn subscribe(source: &str) -> watch::Receiver<u64> {
    let mut signals = APPENDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    signals
        .entry(source.to_owned())
        .or_insert_with(|| watch::channel(0).0)
        .subscribe()
}

/// A relay's wake-ups: commits to its outbox since it last looked.
pub(crate) struct Wakeups {
    commits: watch::Receiver<u64>,
    /// PostgreSQL: where to listen, until the listener is started (by the first wait, so that a
    /// standby relay, which never waits for commits, holds no extra connection).
    listen: Option<(Arc<str>, watch::Sender<u64>, CancellationToken)>,
    /// A wait ended by a signal (which `changed` marks seen): the next settle owes it its wait.
    woken: bool,
}

impl Wakeups {
    /// Subscribes to `source`'s appends on SQLite; on PostgreSQL prepares to listen on a
    /// connection of its own (reconnecting after failures) until `shutdown`.
    pub(crate) fn new(db: &Db, source: &str, shutdown: &CancellationToken) -> Self {
        match db.backend() {
            Backend::Sqlite => Self {
                commits: subscribe(source),
                listen: None,
                woken: false,
            },
            Backend::Postgres => {
                let (notified, commits) = watch::channel(0);
                Self {
                    commits,
                    listen: Some((db.url().into(), notified, shutdown.clone())),
                    woken: false,
                }
            }
        }
    }

    /// Called before each pass: every wake-up so far is then seen by that pass. On SQLite, a
    /// transaction that signalled may still be open; its commit is waited for here.
    pub(crate) async fn settle(&mut self, db: &Db) -> anyhow::Result<()> {
        let signalled =
            std::mem::take(&mut self.woken) | self.commits.borrow_and_update().has_changed();
        if signalled && db.backend() == Backend::Sqlite {
            db.begin().await?.rollback().await?;
        }
        Ok(())
    }

    /// Until a commit wrote to the outbox since the last [`Wakeups::settle`], or `poll`.
    pub(crate) async fn wait(&mut self, poll: Duration) {
        if let Some((url, woken, shutdown)) = self.listen.take() {
            tokio::spawn(listen(url, woken, shutdown));
        }
        let commits = &mut self.commits;
        let woken = tokio::time::timeout(poll, async {
            if commits.changed().await.is_err() {
                // The listener stopped (shutting down): only the poll is left.
                std::future::pending::<()>().await;
            }
        })
        .await;
        self.woken = woken.is_ok();
    }
}

/// `LISTEN`s on `url` and bumps `woken` at every notification, and after every (re)connection
/// since notifications sent meanwhile are lost.
async fn listen(url: Arc<str>, woken: watch::Sender<u64>, shutdown: CancellationToken) {
    let mut failures = 0;
    loop {
        let err = tokio::select! {
            () = shutdown.cancelled() => return,
            result = listen_once(&url, &woken, &mut failures) => match result {
                Ok(never) => match never {},
                Err(err) => err,
            },
        };
        failures += 1;
        tracing::warn!(failures, error = %format!("{err:#}"), "outbox listener failed; polling meanwhile");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff(failures + 2)) => {}
        }
    }
}

async fn listen_once(
    url: &str,
    woken: &watch::Sender<u64>,
    failures: &mut u32,
) -> anyhow::Result<Infallible> {
    let bump = |n: &mut u64| *n = n.wrapping_add(1);
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    woken.send_modify(bump);
    *failures = 0;
    loop {
        // `None`: the connection was lost and made again; a wake-up covers the gap.
        let _ = listener.try_recv().await?;
        // Many commits, one pass.
        while listener.next_buffered().is_some() {}
        woken.send_modify(bump);
    }
}
