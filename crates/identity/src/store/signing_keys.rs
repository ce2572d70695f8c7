use std::time::Duration;

use jiff::Timestamp;
use platform::ApiError;
use platform::time::{from_millis, to_millis};

use super::{IdentityStore, millis};
use crate::tokens::keys::SigningKeyRecord;
use platform::master_key::Sealed;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    private_key: String,
    kek_id: Option<String>,
    nonce: Option<String>,
    public_key: String,
    created_at: i64,
}

impl TryFrom<KeyRow> for SigningKeyRecord {
    type Error = ApiError;

    fn try_from(row: KeyRow) -> Result<Self, Self::Error> {
        let (Some(kek_id), Some(nonce)) = (row.kek_id, row.nonce) else {
            // Clear keys are sealed at start (`KeyRing::ensure_key`) before any is read.
            return Err(ApiError::Internal(anyhow::anyhow!(
                "signing key {} is not sealed",
                row.kid
            )));
        };
        Ok(SigningKeyRecord {
            kid: row.kid,
            private_key: Sealed {
                kek_id,
                nonce,
                ciphertext: row.private_key,
            },
            public_key: row.public_key,
            created_at: from_millis(row.created_at),
        })
    }
}

const INSERT: &str = "INSERT INTO signing_keys \
     (kid, private_key, kek_id, nonce, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

impl IdentityStore {
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> platform::Result<()> {
        self.db
            .execute_write(bind_key(sqlx::query(INSERT), key))
            .await?;
        Ok(())
    }

    /// Keys stored in the clear by versions before sealing, retired or not: `(kid, base64 of
    /// the PKCS#8 DER private key)`.
    pub async fn clear_signing_keys(&self) -> platform::Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT kid, private_key FROM signing_keys WHERE kek_id IS NULL ORDER BY kid",
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Replaces the clear private key of `kid` by `sealed`; `false` when it was sealed already
    /// (by another instance starting at the same time).
    pub async fn seal_signing_key(&self, kid: &str, sealed: &Sealed) -> platform::Result<bool> {
        let write = sqlx::query(
            "UPDATE signing_keys SET private_key = $1, kek_id = $2, nonce = $3 \
             WHERE kid = $4 AND kek_id IS NULL",
        )
        .bind(&sealed.ciphertext)
        .bind(&sealed.kek_id)
        .bind(&sealed.nonce)
        .bind(kid);
        let done = self.db.execute_write(write).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every key not retired, newest first: what the JWKS publishes.
    pub async fn published_signing_keys(&self) -> platform::Result<Vec<SigningKeyRecord>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT kid, private_key, kek_id, nonce, public_key, created_at FROM signing_keys \
             WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(SigningKeyRecord::try_from).collect()
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
        bind_key(sqlx::query(INSERT), new).execute(&mut *tx).await?;
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

fn bind_key<'q>(query: AnyQuery<'q>, key: &'q SigningKeyRecord) -> AnyQuery<'q> {
    query
        .bind(&key.kid)
        .bind(&key.private_key.ciphertext)
        .bind(&key.private_key.kek_id)
        .bind(&key.private_key.nonce)
        .bind(&key.public_key)
        .bind(to_millis(key.created_at))
}

async fn retire(
    tx: &mut platform::db::Tx,
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
