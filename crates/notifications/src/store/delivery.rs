//! The delivery bookkeeping: claiming due notifications with a lease, and recording what came
//! of an attempt. Sending happens between the two, outside any transaction.

use jiff::Timestamp;
use platform::db::Backend;
use platform::time::to_millis;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{Arguments, AssertSqlSafe};

use super::{COLUMNS, NotificationRow, NotificationStore, decode};
use crate::domain::StoredNotification;
use crate::policy::MayDeliver;

/// A notification this worker holds until `lease_until`; nobody else sends it meanwhile.
#[derive(Debug, Clone)]
pub struct Claimed {
    notification: StoredNotification,
    lease_until: Timestamp,
}

impl Claimed {
    pub fn notification(&self) -> &StoredNotification {
        &self.notification
    }
}

/// What came of one attempt. Each counts as an attempt.
#[derive(Clone)]
pub enum Outcome {
    Sent {
        subject: Option<String>,
        message: Option<String>,
    },
    Retry {
        at: Timestamp,
        error: String,
        subject: Option<String>,
        message: Option<String>,
    },
    Failed {
        error: String,
        subject: Option<String>,
        message: Option<String>,
    },
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The rendered text names people; errors are short and PHI-free.
        match self {
            Self::Sent { .. } => f.write_str("Sent"),
            Self::Retry { at, error, .. } => write!(f, "Retry({at}, {error})"),
            Self::Failed { error, .. } => write!(f, "Failed({error})"),
        }
    }
}

impl NotificationStore {
    /// Leases up to `limit` pending notifications that are due and not leased by anyone else.
    /// A crashed worker's lease runs out, and the notification is claimed again.
    pub async fn claim_due(
        &self,
        _: MayDeliver,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> platform::Result<Vec<Claimed>> {
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT id FROM notifications WHERE status = 'PENDING' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT $2{lock}"
        );
        // The claim repeats the select's conditions, so a row taken meanwhile is not taken twice.
        let claim = format!(
            "UPDATE notifications SET lease_until = $1 WHERE id = $2 AND status = 'PENDING' \
             AND (lease_until IS NULL OR lease_until <= $3) RETURNING {COLUMNS}"
        );
        // A cheap read first: an idle pass takes no write lock (SQLite has only one).
        let any_due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM notifications WHERE status = 'PENDING' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) LIMIT 1",
        )
        .bind(to_millis(now))
        .fetch_optional(self.db.pool())
        .await?;
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.begin().await?;
        let ids: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(select))
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let row: Option<NotificationRow> = sqlx::query_as(AssertSqlSafe(claim.clone()))
                .bind(to_millis(lease_until))
                .bind(id)
                .bind(to_millis(now))
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                claimed.push(Claimed {
                    notification: decode(row)?,
                    lease_until,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records the outcome of each attempt in one statement (one commit for the whole pass),
    /// for the notifications whose lease is still this worker's; the number recorded. A lease
    /// that ran out (another worker took over) leaves its notification to that worker.
    pub async fn record_all(
        &self,
        outcomes: &[(&Claimed, &Outcome)],
        now: Timestamp,
    ) -> platform::Result<usize> {
        if outcomes.is_empty() {
            return Ok(0);
        }
        let (args, rows) = outcome_rows(outcomes, now).map_err(sqlx::Error::Encode)?;
        // A VALUES list names its columns column1, column2, … on both backends.
        let sql = format!(
            "UPDATE notifications SET status = v.column3, attempts = attempts + 1, \
               next_attempt_at = COALESCE(v.column4, notifications.next_attempt_at), \
               sent_at = v.column5, last_error = v.column6, \
               subject = COALESCE(v.column7, notifications.subject), \
               message = COALESCE(v.column8, notifications.message), lease_until = NULL \
             FROM (VALUES {}) AS v \
             WHERE notifications.id = v.column1 AND notifications.lease_until = v.column2",
            rows.join(", ")
        );
        let update = sqlx::query_with(AssertSqlSafe(sql), args);
        let updated = self.db.execute_write(update).await?.rows_affected();
        Ok(updated as usize)
    }
}

/// The arguments of [`NotificationStore::record_all`] and a `($1, …, $8)` row for each outcome:
/// id, lease, status, next attempt, sent at, error, subject, message.
fn outcome_rows(
    outcomes: &[(&Claimed, &Outcome)],
    now: Timestamp,
) -> Result<(AnyArguments, Vec<String>), BoxDynError> {
    let mut args = AnyArguments::default();
    let mut rows = Vec::with_capacity(outcomes.len());
    for (i, (claimed, outcome)) in outcomes.iter().enumerate() {
        let (status, next_attempt, sent_at, error, subject, message) = match outcome {
            Outcome::Sent { subject, message } => ("SENT", None, Some(now), None, subject, message),
            Outcome::Retry {
                at,
                error,
                subject,
                message,
            } => ("PENDING", Some(*at), None, Some(error), subject, message),
            Outcome::Failed {
                error,
                subject,
                message,
            } => ("FAILED", None, None, Some(error), subject, message),
        };
        args.add(claimed.notification.id)?;
        args.add(to_millis(claimed.lease_until))?;
        args.add(status)?;
        args.add(next_attempt.map(to_millis))?;
        args.add(sent_at.map(to_millis))?;
        args.add(error.map(String::as_str))?;
        args.add(subject.as_deref())?;
        args.add(message.as_deref())?;
        let first = i * 8 + 1;
        let placeholders: Vec<String> = (first..first + 8).map(|n| format!("${n}")).collect();
        rows.push(format!("({})", placeholders.join(", ")));
    }
    Ok((args, rows))
}
