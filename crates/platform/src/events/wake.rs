//! What wakes an idle outbox relay as soon as a commit wrote to its outbox, so that an event does
//! not wait for the next poll (which stays, less often, as a safety net).
//!
//! A transaction that appended events commits through [`crate::outbox::commit`], which then
//! calls [`committed`]: a signal in this process, per source. It wakes this process's relay.
//! On PostgreSQL the relay publishing may be another instance's (one leader per database): a
//! notifier of each process sends that one a `NOTIFY` on its behalf, outside the business
//! transaction and coalesced, but only while this process's relay is not the leader. The
//! `NOTIFY` is never part of the transaction that wrote the event: PostgreSQL serialises the
//! commits of every transaction that notified, cluster-wide, until each one's commit record is
//! flushed, which halved the rate of event-writing commits when a trigger notified in them.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::backoff;
use crate::db::{Backend, Db};

/// The `NOTIFY` channel between the instances of a service.
pub(crate) const CHANNEL: &str = "carebook_outbox";

/// One source's commits in this process, and whether this process's relay is its leader.
#[derive(Debug)]
struct Source {
    commits: watch::Sender<u64>,
    relaying_here: AtomicBool,
}

/// The sources of this process by name (service name).
static SOURCES: LazyLock<Mutex<HashMap<String, Arc<Source>>>> = LazyLock::new(Mutex::default);

fn source(name: &str) -> Arc<Source> {
    let mut sources = SOURCES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = sources.get(name) {
        return found.clone();
    }
    let created = Arc::new(Source {
        commits: watch::channel(0).0,
        relaying_here: AtomicBool::new(false),
    });
    sources.insert(name.to_owned(), created.clone());
    created
}

fn bump(n: &mut u64) {
    *n = n.wrapping_add(1);
}

/// Tells `source`'s relay that a transaction which wrote to its outbox has committed.
pub(crate) fn committed(source_name: &str) {
    source(source_name).commits.send_modify(bump);
}

/// A relay's wake-ups: commits to its outbox since it last looked.
pub(crate) struct Wakeups {
    source: Arc<Source>,
    /// Commits in this process.
    commits: watch::Receiver<u64>,
    /// PostgreSQL: commits of other instances, as `NOTIFY`s the listener passes on.
    notified: watch::Receiver<u64>,
    /// PostgreSQL: where to listen, until the listener is started (by the first wait, so that a
    /// standby relay, which never waits for commits, holds no extra connection).
    listen: Option<(Arc<str>, watch::Sender<u64>, CancellationToken)>,
}

impl Wakeups {
    /// Subscribes to `source`'s commits in this process. On PostgreSQL also prepares to listen
    /// for other instances' commits on a connection of its own, and starts this process's
    /// notifier, until `shutdown`.
    pub(crate) fn new(db: &Db, source_name: &str, shutdown: &CancellationToken) -> Self {
        let source = source(source_name);
        let commits = source.commits.subscribe();
        let (notifier, notified) = watch::channel(0);
        let listen = match db.backend() {
            Backend::Sqlite => None,
            Backend::Postgres => {
                tokio::spawn(notify(db.clone(), source.clone(), shutdown.clone()));
                Some((db.url().into(), notifier, shutdown.clone()))
            }
        };
        Self {
            source,
            commits,
            notified,
            listen,
        }
    }

    /// Whether this relay is the one publishing (PostgreSQL's leader; on SQLite always): while
    /// it is, commits in this process need no `NOTIFY`.
    pub(crate) fn leading(&self, leader: bool) {
        self.source.relaying_here.store(leader, Ordering::Release);
    }

    /// Called before each pass: every wake-up so far is then seen by that pass.
    pub(crate) fn settle(&mut self) {
        self.commits.mark_unchanged();
        self.notified.mark_unchanged();
    }

    /// Until a commit wrote to the outbox since the last [`Wakeups::settle`], or `poll`.
    pub(crate) async fn wait(&mut self, poll: Duration) {
        if let Some((url, notified, shutdown)) = self.listen.take() {
            tokio::spawn(listen(url, notified, shutdown));
        }
        let (commits, notified) = (&mut self.commits, &mut self.notified);
        let _ = tokio::time::timeout(poll, async {
            tokio::select! {
                Ok(()) = commits.changed() => {}
                Ok(()) = notified.changed() => {}
                // Both senders gone (shutting down): only the poll is left.
                else => std::future::pending::<()>().await,
            }
        })
        .await;
    }
}

/// `NOTIFY`s the other instances after commits here, while this process's relay is not the
/// leader: one `NOTIFY` for all the commits made while the previous one was being sent.
async fn notify(db: Db, source: Arc<Source>, shutdown: CancellationToken) {
    let mut commits = source.commits.subscribe();
    let mut failures = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = commits.changed() => if changed.is_err() { return },
        }
        if source.relaying_here.load(Ordering::Acquire) {
            continue;
        }
        let sent = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(db.pool())
            .await;
        match sent {
            Ok(_) => failures = 0,
            Err(err) => {
                // The leader's poll picks the rows up meanwhile.
                failures += 1;
                tracing::warn!(failures, error = %err, "cannot notify the outbox relay");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff(failures + 2)) => {}
                }
            }
        }
    }
}

/// `LISTEN`s on `url` and bumps `notified` at every notification, and after every
/// (re)connection since notifications sent meanwhile are lost.
async fn listen(url: Arc<str>, notified: watch::Sender<u64>, shutdown: CancellationToken) {
    let mut failures = 0;
    loop {
        let err = tokio::select! {
            () = shutdown.cancelled() => return,
            result = listen_once(&url, &notified, &mut failures) => match result {
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
    notified: &watch::Sender<u64>,
    failures: &mut u32,
) -> anyhow::Result<Infallible> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    notified.send_modify(bump);
    *failures = 0;
    loop {
        // `None`: the connection was lost and made again; a wake-up covers the gap.
        let _ = listener.try_recv().await?;
        // Many commits, one pass.
        while listener.next_buffered().is_some() {}
        notified.send_modify(bump);
    }
}
