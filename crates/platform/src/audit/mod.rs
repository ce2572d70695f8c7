//! The audit trail of patient data: every read or change of a patient's data is one row of
//! who (actor id and role), whose (patient id), what (action, resource, endpoint), with what
//! outcome and when. Rows hold ids and names of things, never the data itself, and the
//! database refuses to change or delete them.

pub mod api;
mod context;
mod query;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{Any, AnyConnection, Executor};
use utoipa::ToSchema;

pub use context::AuditContext;
pub use query::{AuditFilter, AuditQuery};

use crate::db::Db;
use crate::time::{from_millis, to_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    List,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Read => "READ",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::List => "LIST",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The caller got or changed the data.
    Success,
    /// The caller was refused (403, or 404 for a resource hidden from them).
    Denied,
    /// The request was allowed but failed (validation, conflict, dependency down).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Denied => "DENIED",
            Self::Failed => "FAILED",
        }
    }

    /// The outcome a handler's result stands for.
    pub fn of<T>(result: &crate::Result<T>) -> Self {
        match result {
            Ok(_) => Self::Success,
            Err(crate::ApiError::Forbidden | crate::ApiError::NotFound(_)) => Self::Denied,
            Err(_) => Self::Failed,
        }
    }
}

/// One row of the trail, as `GET /api/audit` returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub service: String,
    pub actor_id: i64,
    pub actor_role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
    pub action: String,
    /// The resource touched, e.g. `appointment/12`.
    pub resource: String,
    pub outcome: String,
    /// Method and route template, e.g. `GET /api/patients/{id}`.
    pub endpoint: String,
    pub request_id: String,
}

/// Writes a service's audit rows into its own database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Db,
    service: &'static str,
}

impl AuditLog {
    pub fn new(db: Db, service: &'static str) -> Self {
        Self { db, service }
    }

    /// Records one access in its own statement. A failure to write is logged and answered 500
    /// by the caller: an access that cannot be audited must not silently succeed. A change's
    /// row belongs in the change's transaction instead ([`Self::record_in`]).
    pub async fn record(
        &self,
        ctx: &AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: &str,
        outcome: Outcome,
    ) -> crate::Result<()> {
        let row = self.row(ctx, patient_id, action, resource, outcome);
        insert(self.db.pool(), &row).await
    }

    /// Records a successful change inside the change's own transaction: the change and its
    /// audit row commit together or not at all.
    pub async fn record_in(
        &self,
        conn: &mut AnyConnection,
        ctx: &AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: &str,
    ) -> crate::Result<()> {
        let row = self.row(ctx, patient_id, action, resource, Outcome::Success);
        insert(conn, &row).await
    }

    fn row<'a>(
        &self,
        ctx: &'a AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: &'a str,
        outcome: Outcome,
    ) -> NewRow<'a> {
        NewRow {
            service: self.service,
            ctx,
            patient_id,
            action,
            resource,
            outcome,
        }
    }

    /// Records the outcome of `result` and passes it on.
    pub async fn outcome<T>(
        &self,
        ctx: &AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: &str,
        result: crate::Result<T>,
    ) -> crate::Result<T> {
        self.record(ctx, patient_id, action, resource, Outcome::of(&result))
            .await?;
        result
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

struct NewRow<'a> {
    service: &'static str,
    ctx: &'a AuditContext,
    patient_id: Option<i64>,
    action: Action,
    resource: &'a str,
    outcome: Outcome,
}

async fn insert<'c>(
    conn: impl Executor<'c, Database = Any>,
    row: &NewRow<'_>,
) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, service, actor_id, actor_role, patient_id, action, \
         resource, outcome, endpoint, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(to_millis(Timestamp::now()))
    .bind(row.service)
    .bind(row.ctx.principal.user_id)
    .bind(row.ctx.principal.role.as_str())
    .bind(row.patient_id)
    .bind(row.action.as_str())
    .bind(row.resource)
    .bind(row.outcome.as_str())
    .bind(&row.ctx.endpoint)
    .bind(&row.ctx.request_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    service: String,
    actor_id: i64,
    actor_role: String,
    patient_id: Option<i64>,
    action: String,
    resource: String,
    outcome: String,
    endpoint: String,
    request_id: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        Self {
            id: row.id,
            at: from_millis(row.at),
            service: row.service,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            patient_id: row.patient_id,
            action: row.action,
            resource: row.resource,
            outcome: row.outcome,
            endpoint: row.endpoint,
            request_id: row.request_id,
        }
    }
}
