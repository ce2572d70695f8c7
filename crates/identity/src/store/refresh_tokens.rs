use jiff::Timestamp;
use platform::time::to_millis;

use super::IdentityStore;

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid; it is now used and its successor is stored in the same family.
    Rotated {
        user_id: i64,
        family_id: String,
    },
    /// The token had been used or revoked before: someone holds a copy, so the whole family
    /// is revoked now.
    Reused {
        user_id: i64,
    },
    Expired,
    Unknown,
}

impl IdentityStore {
    /// Stores the hash of a new refresh token; a new session starts a new `family_id`.
    pub async fn insert_refresh_token(
        &self,
        family_id: &str,
        user_id: i64,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> platform::Result<()> {
        let write = sqlx::query(
            "INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(family_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(to_millis(expires_at))
        .bind(to_millis(now));
        self.db.execute_write(write).await?;
        Ok(())
    }

    /// Uses the token with `presented_hash` and stores `next_hash` as its successor, in one
    /// transaction. Marking it used is a single conditional UPDATE, so of two concurrent
    /// presentations exactly one rotates and the other counts as reuse.
    pub async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: Timestamp,
        now: Timestamp,
    ) -> platform::Result<Rotation> {
        let now_ms = to_millis(now);
        let mut tx = self.db.begin().await?;
        let used: Option<(String, i64)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING family_id, user_id",
        )
        .bind(presented_hash)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((family_id, user_id)) = used {
            sqlx::query(
                "INSERT INTO refresh_tokens \
                 (family_id, user_id, token_hash, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&family_id)
            .bind(user_id)
            .bind(next_hash)
            .bind(to_millis(next_expires_at))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated { user_id, family_id });
        }
        let known: Option<(String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT family_id, user_id, used_at, revoked_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match known {
            None => Rotation::Unknown,
            Some((family_id, user_id, used_at, revoked_at)) => {
                if used_at.is_some() || revoked_at.is_some() {
                    revoke_family(&mut tx, &family_id, now_ms).await?;
                    Rotation::Reused { user_id }
                } else {
                    Rotation::Expired
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Revokes the family of the token with `token_hash` when it belongs to `user_id`;
    /// `false` when there is no such token of that user.
    pub async fn revoke_family_of(
        &self,
        token_hash: &str,
        user_id: i64,
        now: Timestamp,
    ) -> platform::Result<bool> {
        let mut tx = self.db.begin().await?;
        let family: Option<(String,)> = sqlx::query_as(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2",
        )
        .bind(token_hash)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((family_id,)) = &family {
            revoke_family(&mut tx, family_id, to_millis(now)).await?;
        }
        tx.commit().await?;
        Ok(family.is_some())
    }

    /// Revokes every token of a session (when its account cannot be used any more).
    pub async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: Timestamp,
    ) -> platform::Result<()> {
        let mut tx = self.db.begin().await?;
        revoke_family(&mut tx, family_id, to_millis(now)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes tokens that expired before `before` (a reuse of those answers 401 anyway).
    pub async fn prune_refresh_tokens(&self, before: Timestamp) -> platform::Result<u64> {
        let write =
            sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1").bind(to_millis(before));
        let done = self.db.execute_write(write).await?;
        Ok(done.rows_affected())
    }
}

async fn revoke_family(
    tx: &mut platform::db::Tx,
    family_id: &str,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms)
    .bind(family_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
