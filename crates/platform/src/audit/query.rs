use jiff::Timestamp;
use serde::Deserialize;
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use utoipa::IntoParams;

use super::{AuditEntry, AuditLog, AuditRow};
use crate::db::{fetch_page, where_all};
use crate::error::ApiError;
use crate::page::PageRequest;
use crate::time::{parse_instant, to_millis};
use crate::validation::Violations;

/// `GET /api/audit` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    pub patient_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// Entries at or after this instant (without an offset: UTC).
    #[param(value_type = Option<crate::schema::Instant>)]
    pub from: Option<String>,
    /// Entries before this instant.
    #[param(value_type = Option<crate::schema::Instant>)]
    pub to: Option<String>,
}

/// A validated [`AuditQuery`].
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub patient_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AuditQuery {
    pub fn validate(self) -> Result<AuditFilter, ApiError> {
        let utc = jiff::tz::TimeZone::UTC;
        let mut v = Violations::default();
        let from = v.check_optional("from", self.from, |raw| parse_instant(&raw, &utc));
        let to = v.check_optional("to", self.to, |raw| parse_instant(&raw, &utc));
        v.finish(Some(AuditFilter {
            patient_id: self.patient_id,
            actor_id: self.actor_id,
            from,
            to,
        }))
    }
}

impl AuditFilter {
    fn where_clause(&self, args: &mut AnyArguments) -> Result<String, sqlx::error::BoxDynError> {
        let mut conditions = Vec::new();
        if let Some(id) = self.patient_id {
            args.add(id)?;
            conditions.push(format!("patient_id = ${}", args.len()));
        }
        if let Some(id) = self.actor_id {
            args.add(id)?;
            conditions.push(format!("actor_id = ${}", args.len()));
        }
        if let Some(from) = self.from {
            args.add(to_millis(from))?;
            conditions.push(format!("at >= ${}", args.len()));
        }
        if let Some(to) = self.to {
            args.add(to_millis(to))?;
            conditions.push(format!("at < ${}", args.len()));
        }
        Ok(where_all(&conditions))
    }
}

impl AuditLog {
    /// Newest first, with the filter's total.
    pub async fn search(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> crate::Result<(Vec<AuditEntry>, i64)> {
        let (rows, total): (Vec<AuditRow>, i64) = fetch_page(
            &self.db,
            (
                "audit_log",
                "id, at, service, actor_id, actor_role, patient_id, action, resource, outcome, \
                 endpoint, request_id",
                "at DESC, id DESC",
            ),
            &|args| filter.where_clause(args),
            page,
        )
        .await?;
        Ok((rows.into_iter().map(AuditEntry::from).collect(), total))
    }
}

impl AuditLog {
    /// Every entry of this service's trail about one patient, oldest first: the trail's part of
    /// the patient's copy of their data.
    pub async fn about_patient(&self, patient_id: i64) -> crate::Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, service, actor_id, actor_role, patient_id, action, resource, \
             outcome, endpoint, request_id FROM audit_log WHERE patient_id = $1 ORDER BY at, id",
        )
        .bind(patient_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
