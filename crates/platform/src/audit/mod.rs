//! The audit trail of patient data: every read or change of a patient's data is one row of
//! who (actor id and role), whose (patient id), what (action, resource, endpoint), with what
//! outcome and when. Rows hold ids and names of things, never the data itself, and the
//! database refuses to change or delete them.

pub mod api;
mod context;
mod query;
#[cfg(test)]
mod tests;
mod writer;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

pub use context::AuditContext;
pub use query::{AuditFilter, AuditQuery};

use crate::db::Db;
use crate::time::{from_millis, to_millis};
use writer::{NewRow, Writer};

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
    writer: Writer,
}

impl AuditLog {
    pub fn new(db: Db, service: &'static str) -> Self {
        Self {
            writer: Writer::new(db.clone()),
            db,
            service,
        }
    }

    /// Records one access, committed together with the rows of concurrent requests (group
    /// commit) and durable when this returns. A failure to write is answered 500 (503 when
    /// the database is unreachable): an access that cannot be audited must not silently
    /// succeed. A change's row belongs in the change's transaction instead
    /// ([`Self::record_in`]).
    pub async fn record(
        &self,
        ctx: &AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: &str,
        outcome: Outcome,
    ) -> crate::Result<()> {
        let row = self.row(ctx, patient_id, action, resource.to_owned(), outcome);
        self.writer.write(vec![row]).await
    }

    /// Records that the caller was given every item of a page — `(patient id, resource)` each —
    /// as one submission: the page's rows are written by one statement and commit together.
    pub async fn record_page(
        &self,
        ctx: &AuditContext,
        items: impl IntoIterator<Item = (Option<i64>, String)>,
    ) -> crate::Result<()> {
        let rows = items
            .into_iter()
            .map(|(patient_id, resource)| {
                self.row(ctx, patient_id, Action::List, resource, Outcome::Success)
            })
            .collect();
        self.writer.write(rows).await
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
        let row = self.row(
            ctx,
            patient_id,
            action,
            resource.to_owned(),
            Outcome::Success,
        );
        writer::insert(conn, &[&row]).await?;
        Ok(())
    }

    fn row(
        &self,
        ctx: &AuditContext,
        patient_id: Option<i64>,
        action: Action,
        resource: String,
        outcome: Outcome,
    ) -> NewRow {
        NewRow {
            at: to_millis(Timestamp::now()),
            service: self.service,
            actor_id: ctx.principal.user_id,
            actor_role: ctx.principal.role.as_str(),
            patient_id,
            action,
            resource,
            outcome,
            endpoint: ctx.endpoint.clone(),
            request_id: ctx.request_id.clone(),
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
