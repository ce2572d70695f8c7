//! Server-side sessions. The browser holds only a random id in an HTTP-only, `SameSite=Strict`
//! cookie; the table keys the session by the id's SHA-256, so a copy of the database names no
//! live cookie. A session holds the user's own tokens and ends after the idle timeout, at
//! sign-out, or when its refresh token stops working.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::db::Db;
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The answer of `POST /api/auth/login` and `/api/auth/refresh`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub role: String,
    pub user_id: i64,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Session {
    id_hash: String,
    pub csrf_token: String,
    pub role: String,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub access_token: String,
    /// Epoch milliseconds.
    pub access_expires_at: i64,
    pub refresh_token: String,
    /// The browser's IANA zone, for showing times.
    pub time_zone: String,
}

type Row = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    String,
    String,
);

const COLUMNS: &str = "id_hash, csrf_token, role, patient_id, doctor_id, access_token, \
                       access_expires_at, refresh_token, time_zone";

#[derive(Debug, Clone)]
pub struct SessionStore {
    db: Db,
    idle: Duration,
}

impl SessionStore {
    pub fn new(db: Db, idle: Duration) -> Self {
        Self { db, idle }
    }

    /// Starts a session for `tokens`; the cookie value to set.
    pub async fn create(&self, tokens: &Tokens, time_zone: &str) -> anyhow::Result<String> {
        let id = random_token();
        let now = now_ms();
        self.purge_idle(now).await?;
        let write = sqlx::query(
            "INSERT INTO web_sessions (id_hash, csrf_token, user_id, role, patient_id, doctor_id, \
             access_token, access_expires_at, refresh_token, time_zone, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(hash(&id))
        .bind(random_token())
        .bind(tokens.user_id)
        .bind(&tokens.role)
        .bind(tokens.patient_id)
        .bind(tokens.doctor_id)
        .bind(&tokens.access_token)
        .bind(expires_at(now, tokens.expires_in))
        .bind(&tokens.refresh_token)
        .bind(time_zone)
        .bind(now)
        .bind(now);
        self.db.execute_write(write).await?;
        Ok(id)
    }

    /// The live session the cookie names, marked as used now; `None` when there is none or it
    /// was idle too long (it is then removed).
    pub async fn find(&self, cookie: &str) -> anyhow::Result<Option<Session>> {
        let now = now_ms();
        let id_hash = hash(cookie);
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at > $3 \
             RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(&id_hash)
        .bind(now - self.idle_ms())
        .fetch_optional(self.db.pool())
        .await?;
        if row.is_none() {
            self.delete_hash(&id_hash).await?;
        }
        Ok(row.map(session))
    }

    /// Keeps the refreshed tokens (the old refresh token no longer works).
    pub async fn store_tokens(&self, session: &mut Session, tokens: &Tokens) -> anyhow::Result<()> {
        let expires = expires_at(now_ms(), tokens.expires_in);
        let write = sqlx::query(
            "UPDATE web_sessions SET access_token = $1, access_expires_at = $2, \
             refresh_token = $3 WHERE id_hash = $4",
        )
        .bind(&tokens.access_token)
        .bind(expires)
        .bind(&tokens.refresh_token)
        .bind(&session.id_hash);
        self.db.execute_write(write).await?;
        session.access_token.clone_from(&tokens.access_token);
        session.access_expires_at = expires;
        session.refresh_token.clone_from(&tokens.refresh_token);
        Ok(())
    }

    pub async fn delete(&self, session: &Session) -> anyhow::Result<()> {
        self.delete_hash(&session.id_hash).await
    }

    async fn delete_hash(&self, id_hash: &str) -> anyhow::Result<()> {
        let write = sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1").bind(id_hash);
        self.db.execute_write(write).await?;
        Ok(())
    }

    async fn purge_idle(&self, now: i64) -> anyhow::Result<()> {
        let write = sqlx::query("DELETE FROM web_sessions WHERE last_seen_at <= $1")
            .bind(now - self.idle_ms());
        self.db.execute_write(write).await?;
        Ok(())
    }

    fn idle_ms(&self) -> i64 {
        i64::try_from(self.idle.as_millis()).unwrap_or(i64::MAX)
    }
}

fn session(row: Row) -> Session {
    let (
        id_hash,
        csrf_token,
        role,
        patient_id,
        doctor_id,
        access_token,
        access_expires_at,
        refresh_token,
        time_zone,
    ) = row;
    Session {
        id_hash,
        csrf_token,
        role,
        patient_id,
        doctor_id,
        access_token,
        access_expires_at,
        refresh_token,
        time_zone,
    }
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(id.as_bytes()))
}

fn expires_at(now: i64, expires_in_secs: i64) -> i64 {
    now.saturating_add(expires_in_secs.saturating_mul(1000))
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use platform::testing::TestDatabase;

    use super::*;
    use crate::MIGRATIONS;

    fn tokens(n: i64) -> Tokens {
        Tokens {
            access_token: format!("access-{n}"),
            expires_in: 900,
            refresh_token: format!("refresh-{n}"),
            role: "PATIENT".to_owned(),
            user_id: n,
            patient_id: Some(n + 100),
            doctor_id: None,
        }
    }

    async fn lives_until_idle_or_ended(database: TestDatabase) {
        let store = SessionStore::new(database.db.clone(), Duration::from_secs(1800));
        let cookie = store.create(&tokens(1), "Europe/Paris").await.unwrap();
        let mut session = store.find(&cookie).await.unwrap().expect("a live session");
        assert_eq!(
            (session.role.as_str(), session.patient_id),
            ("PATIENT", Some(101))
        );
        assert_eq!(session.time_zone, "Europe/Paris");
        assert_ne!(
            session.csrf_token, cookie,
            "the CSRF token is not the session id"
        );
        assert!(store.find("someone-elses-guess").await.unwrap().is_none());

        let stored: (String,) = sqlx::query_as("SELECT id_hash FROM web_sessions")
            .fetch_one(database.db.pool())
            .await
            .unwrap();
        assert_ne!(stored.0, cookie, "only the id's hash is stored");

        store.store_tokens(&mut session, &tokens(2)).await.unwrap();
        let refreshed = store.find(&cookie).await.unwrap().unwrap();
        assert_eq!(refreshed.refresh_token, "refresh-2");
        assert_eq!(refreshed.csrf_token, session.csrf_token);

        // Unused for longer than the idle timeout: over, and gone.
        sqlx::query("UPDATE web_sessions SET last_seen_at = $1")
            .bind(now_ms() - 1_800_001)
            .execute(database.db.pool())
            .await
            .unwrap();
        assert!(store.find(&cookie).await.unwrap().is_none());
        let left: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM web_sessions")
            .fetch_one(database.db.pool())
            .await
            .unwrap();
        assert_eq!(left.0, 0);

        let cookie = store.create(&tokens(3), "UTC").await.unwrap();
        let session = store.find(&cookie).await.unwrap().unwrap();
        store.delete(&session).await.unwrap();
        assert!(store.find(&cookie).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn lives_until_idle_or_ended_on_sqlite() {
        lives_until_idle_or_ended(TestDatabase::sqlite(&MIGRATIONS).await).await;
    }

    #[tokio::test]
    async fn lives_until_idle_or_ended_on_postgres() {
        lives_until_idle_or_ended(TestDatabase::postgres(&MIGRATIONS).await).await;
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
