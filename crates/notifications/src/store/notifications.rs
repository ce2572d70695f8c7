use contracts::notifications::{NotificationStatus, RecipientType};
use jiff::Timestamp;
use platform::audit::{Action, AuditContext};
use platform::db::{fetch_page, insert_values, where_all};
use platform::page::PageRequest;
use platform::time::to_millis;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{AnyConnection, Arguments, AssertSqlSafe};

use super::{COLUMNS, NotificationRow, NotificationStore, decode};
use crate::domain::{NewNotificationRow, StoredNotification};
#[cfg(test)]
use crate::policy::MayDeliver;
use crate::policy::{MayList, MaySend};

/// Which notifications a list asks for; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub recipient_type: Option<RecipientType>,
    pub recipient_id: Option<i64>,
    pub status: Option<NotificationStatus>,
}

impl ListFilter {
    /// `WHERE ...` built from fixed fragments only; the values go into `args` as placeholders.
    fn where_clause(&self, args: &mut AnyArguments) -> Result<String, BoxDynError> {
        let mut conditions = Vec::new();
        if let Some(kind) = self.recipient_type {
            args.add(kind.as_str())?;
            conditions.push(format!("recipient_type = ${}", args.len()));
        }
        if let Some(id) = self.recipient_id {
            args.add(id)?;
            conditions.push(format!("recipient_id = ${}", args.len()));
        }
        if let Some(status) = self.status {
            args.add(status.as_str())?;
            conditions.push(format!("status = ${}", args.len()));
        }
        Ok(where_all(&conditions))
    }
}

/// Stores a notification, due at once, unless one with its dedupe key exists: then `None`.
/// Database errors stay `sqlx::Error`, so the event consumer can tell a lost connection from a bug.
pub async fn insert_notification(
    conn: &mut AnyConnection,
    new: &NewNotificationRow,
    now: Timestamp,
) -> sqlx::Result<Option<StoredNotification>> {
    let facts = serde_json::to_string(&new.facts).map_err(|err| sqlx::Error::Encode(err.into()))?;
    let sql = format!(
        "INSERT INTO notifications (recipient_type, recipient_id, channel, kind, appointment_id, \
         facts, subject, message, status, attempts, created_at, next_attempt_at, dedupe_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', 0, $9, $9, $10) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING {COLUMNS}"
    );
    let row: Option<NotificationRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(new.recipient.kind.as_str())
        .bind(new.recipient.id)
        .bind(new.channel.as_str())
        .bind(new.kind.as_str())
        .bind(new.appointment_id)
        .bind(facts)
        .bind(new.subject.as_deref())
        .bind(new.message.as_deref())
        .bind(to_millis(now))
        .bind(&new.dedupe_key)
        .fetch_optional(conn)
        .await?;
    row.map(decode).transpose()
}

/// Stores `rows`, due at once, in as few statements as it takes; a row whose dedupe key exists
/// already is skipped.
pub async fn insert_notifications(
    conn: &mut AnyConnection,
    rows: &[NewNotificationRow],
    now: Timestamp,
) -> sqlx::Result<()> {
    let now = to_millis(now);
    insert_values(
        conn,
        (
            "INSERT INTO notifications (recipient_type, recipient_id, channel, kind, \
             appointment_id, facts, subject, message, status, attempts, created_at, \
             next_attempt_at, dedupe_key)",
            "ON CONFLICT (dedupe_key) DO NOTHING",
        ),
        rows,
        |args, new| {
            args.add(new.recipient.kind.as_str())?;
            args.add(new.recipient.id)?;
            args.add(new.channel.as_str())?;
            args.add(new.kind.as_str())?;
            args.add(new.appointment_id)?;
            args.add(serde_json::to_string(&new.facts)?)?;
            args.add(new.subject.as_deref())?;
            args.add(new.message.as_deref())?;
            args.add(NotificationStatus::Pending.as_str())?;
            args.add(0_i64)?;
            args.add(now)?;
            args.add(now)?;
            args.add(new.dedupe_key.as_str())
        },
    )
    .await?;
    Ok(())
}

impl NotificationStore {
    /// Stores an administrator's message outside any event; a patient's is audited in the same
    /// transaction.
    pub async fn insert(
        &self,
        _: MaySend,
        new: &NewNotificationRow,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> platform::Result<Option<StoredNotification>> {
        let mut tx = self.db.begin().await?;
        let stored = insert_notification(&mut tx, new, now).await?;
        if let Some(n) = &stored
            && n.recipient.kind == RecipientType::Patient
        {
            let resource = format!("notification/{}", n.id);
            let patient = Some(n.recipient.id);
            self.audit
                .record_in(&mut tx, ctx, patient, Action::Create, &resource)
                .await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    #[cfg(test)]
    pub async fn find(
        &self,
        _: MayDeliver,
        id: i64,
    ) -> platform::Result<Option<StoredNotification>> {
        let sql = format!("SELECT {COLUMNS} FROM notifications WHERE id = $1");
        let row: Option<NotificationRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(decode).transpose()?)
    }

    /// A page of the notifications `access` selects, newest first, with their total count.
    pub async fn list(
        &self,
        access: &MayList,
        page: PageRequest,
    ) -> platform::Result<(Vec<StoredNotification>, i64)> {
        let (rows, total): (Vec<NotificationRow>, i64) = fetch_page(
            &self.db,
            ("notifications", COLUMNS, "id DESC"),
            &|args| access.filter().where_clause(args),
            page,
        )
        .await?;
        let items = rows.into_iter().map(decode).collect::<sqlx::Result<_>>()?;
        Ok((items, total))
    }
}
