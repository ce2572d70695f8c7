use std::time::Duration;

use jiff::Timestamp;
use platform::time::{from_millis, to_millis};

use super::{IdentityStore, millis};
use crate::tokens::keys::SigningKeyRecord;

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    private_key: String,
    public_key: String,
    created_at: i64,
}

impl KeyRow {
    fn into_record(self) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: self.kid,
            private_key: self.private_key,
            public_key: self.public_key,
            created_at: from_millis(self.created_at),
        }
    }
}

impl IdentityStore {
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> platform::Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(to_millis(key.created_at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Every key not retired, newest first: what the JWKS publishes.
    pub async fn published_signing_keys(&self) -> platform::Result<Vec<SigningKeyRecord>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT kid, private_key, public_key, created_at FROM signing_keys \
             WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(KeyRow::into_record).collect())
    }

    /// Step one of a key rotation: `new` joins the published keys (and signs once it is
    /// [`crate::tokens::keys::ACTIVATION_DELAY`] old); keys whose successor is older than
    /// `retirement_age` are retired in the same transaction. Returns how many were retired.
    pub async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        now: Timestamp,
        retirement_age: Duration,
    ) -> platform::Result<u64> {
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&new.kid)
        .bind(&new.private_key)
        .bind(&new.public_key)
        .bind(to_millis(new.created_at))
        .execute(&mut *tx)
        .await?;
        let retired = retire(&mut tx, now, retirement_age).await?;
        tx.commit().await?;
        Ok(retired)
    }

    /// Step two of a key rotation (run periodically): retires every key that was superseded
    /// more than `retirement_age` ago. The newest key is never retired.
    pub async fn retire_superseded_signing_keys(
        &self,
        now: Timestamp,
        retirement_age: Duration,
    ) -> platform::Result<u64> {
        let mut tx = self.db.begin().await?;
        let retired = retire(&mut tx, now, retirement_age).await?;
        tx.commit().await?;
        Ok(retired)
    }
}

async fn retire(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    now: Timestamp,
    retirement_age: Duration,
) -> sqlx::Result<u64> {
    let now_ms = to_millis(now);
    let superseded_before = now_ms.saturating_sub(millis(retirement_age));
    let done = sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 \
         WHERE retired_at IS NULL AND EXISTS (\
             SELECT 1 FROM signing_keys successor \
             WHERE successor.created_at > signing_keys.created_at \
               AND successor.created_at <= $2)",
    )
    .bind(now_ms)
    .bind(superseded_before)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
