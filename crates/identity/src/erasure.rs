//! The patient's data rights in the identity service: an erased patient's account is disabled
//! and scrubbed and its sessions end (`PatientErased`, through the service's inbox); the
//! account is the identity part of the patient's export.

use axum::extract::{Path, State};
use contracts::events::{PatientErased, types};
use contracts::identity::Account;
use contracts::privacy::ExportPart;
use futures::future::BoxFuture;
use platform::auth::{Principal, Role};
use platform::events::Handler;
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::AppState;

/// The `platform::events::Handler` of the identity service's queue.
#[derive(Debug, Clone, Default)]
pub struct ErasureHandler;

impl ErasureHandler {
    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type != types::PATIENT_ERASED {
            return Ok(());
        }
        let erased: PatientErased = serde_json::from_value(event.data.clone())?;
        let users: Vec<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE patient_id = $1")
            .bind(erased.patient_id)
            .fetch_all(&mut *conn)
            .await?;
        for (user_id,) in users {
            // Refresh tokens end every session; the account can never sign in again: it is
            // inactive, its e-mail is a pseudonym and its password hash verifies nothing.
            sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE users SET email = $1, password_hash = '!erased', active = 0, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(format!("erased-account-{user_id}@erased.invalid"))
            .bind(jiff::Timestamp::now().as_millisecond())
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            tracing::info!(user_id, "account of an erased patient disabled");
        }
        Ok(())
    }
}

impl Handler for ErasureHandler {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }

    fn erases(&self, event: &Envelope) -> bool {
        event.event_type == types::PATIENT_ERASED
    }
}

/// The patient's account, for the patient service assembling an export (`SERVICE` only).
pub async fn export_part(
    State(state): State<AppState>,
    principal: Principal,
    Path(patient_id): Path<i64>,
) -> platform::Result<axum::Json<ExportPart<Account>>> {
    principal.require(&[Role::Service])?;
    let items = state
        .store
        .users_of_patient(patient_id)
        .await?
        .iter()
        .filter(|user| user.active)
        .map(|user| user.account())
        .collect();
    Ok(axum::Json(ExportPart {
        items,
        audit: Vec::new(),
    }))
}
