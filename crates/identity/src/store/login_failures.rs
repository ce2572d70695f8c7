use std::time::Duration;

use jiff::Timestamp;
use platform::time::to_millis;

use super::{IdentityStore, millis};
use crate::domain::lockout::{LockoutPolicy, Scope};

impl IdentityStore {
    /// How much longer the longer-locked of `scopes` stays locked; `None` when neither is.
    pub async fn login_lock(
        &self,
        scopes: [&Scope; 2],
        now: Timestamp,
    ) -> platform::Result<Option<Duration>> {
        let (until,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(locked_until) FROM login_failures WHERE scope = $1 OR scope = $2",
        )
        .bind(&scopes[0].key)
        .bind(&scopes[1].key)
        .fetch_one(self.db.pool())
        .await?;
        let remaining = until.unwrap_or(0).saturating_sub(to_millis(now));
        Ok(u64::try_from(remaining)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis))
    }

    /// Counts a failed login against `scope`; failures are forgotten after a quiet `window`.
    /// Returns the lock this failure started, if it reached the scope's limit.
    pub async fn record_login_failure(
        &self,
        scope: &Scope,
        now: Timestamp,
        window: Duration,
    ) -> platform::Result<Option<Duration>> {
        let now_ms = to_millis(now);
        let mut tx = self.db.begin().await?;
        // One statement, so concurrent failures never lose a count.
        let (failures,): (i64,) = sqlx::query_as(
            "INSERT INTO login_failures (scope, failures, last_failure_at, locked_until) \
             VALUES ($1, 1, $2, 0) \
             ON CONFLICT (scope) DO UPDATE SET \
                 failures = CASE WHEN login_failures.last_failure_at <= $3 THEN 1 \
                                 ELSE login_failures.failures + 1 END, \
                 last_failure_at = $2 \
             RETURNING failures",
        )
        .bind(&scope.key)
        .bind(now_ms)
        .bind(now_ms.saturating_sub(millis(window)))
        .fetch_one(&mut *tx)
        .await?;
        let lock = LockoutPolicy::lock_after(failures, scope.limit);
        let until = lock.map_or(0, |lock| now_ms.saturating_add(millis(lock)));
        sqlx::query("UPDATE login_failures SET locked_until = $1 WHERE scope = $2")
            .bind(until)
            .bind(&scope.key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(lock)
    }

    /// Forgets the failures of `scope` (after a successful login).
    pub async fn clear_login_failures(&self, scope: &Scope) -> platform::Result<()> {
        let write = sqlx::query("DELETE FROM login_failures WHERE scope = $1").bind(&scope.key);
        self.db.execute_write(write).await?;
        Ok(())
    }

    /// Deletes counters that are neither recent nor locked.
    pub async fn prune_login_failures(
        &self,
        now: Timestamp,
        window: Duration,
    ) -> platform::Result<u64> {
        let now_ms = to_millis(now);
        let write = sqlx::query(
            "DELETE FROM login_failures WHERE last_failure_at < $1 AND locked_until < $2",
        )
        .bind(now_ms.saturating_sub(millis(window)))
        .bind(now_ms);
        let done = self.db.execute_write(write).await?;
        Ok(done.rows_affected())
    }
}
