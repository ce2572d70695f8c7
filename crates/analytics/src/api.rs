//! Routes of the analytics service (API.md "Analytics"). Figures are aggregates without any
//! patient's data, so reading them leaves no audit row (the audit trail is of patient data).

use axum::extract::{Query, State};
use contracts::analytics::{AppointmentGroup, GroupKey, GroupParams, Summary, SummaryParams};
use platform::auth::Principal;
use platform::docs::BadQuery;
use platform::schema::Date;
use platform::{FieldError, Problem, Result};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::policy;
use crate::query::{DayRange, parse_grouping};

#[derive(OpenApi)]
#[openapi(
    components(schemas(Problem, FieldError, GroupKey, Date)),
    tags((name = "analytics", description = "Clinic figures built from events (ADMIN)"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(summary))
        .routes(routes!(appointments))
}

/// The clinic's figures over a range of days (ADMIN).
///
/// Days are in the clinic's time zone, both ends included, at most 5 years; appointments
/// count on the day they start, invoices on the day they were created (and paid), patients on
/// the day they registered. Figures follow the services by the event delivery delay.
#[utoipa::path(get, path = "/api/analytics/summary", tag = "analytics",
    params(SummaryParams),
    responses((status = 200, body = Summary), BadQuery))]
pub async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SummaryParams>,
) -> Result<axum::Json<Summary>> {
    let proof = policy::may_read_figures(&principal)?;
    let range = DayRange::parse(params.from.as_deref(), params.to.as_deref())?;
    Ok(axum::Json(state.store.summary(proof, range).await?))
}

/// Appointments of a range of days by day, doctor or speciality (ADMIN).
///
/// One entry per bucket with appointments, in key order: days ascending, doctors by id,
/// specialities alphabetically (`(unknown)` for doctors whose speciality is not known yet).
#[utoipa::path(get, path = "/api/analytics/appointments", tag = "analytics",
    params(GroupParams),
    responses((status = 200, body = Vec<AppointmentGroup>), BadQuery))]
pub async fn appointments(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<GroupParams>,
) -> Result<axum::Json<Vec<AppointmentGroup>>> {
    let proof = policy::may_read_figures(&principal)?;
    let (group_by, range) = parse_grouping(
        params.group_by.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    Ok(axum::Json(
        state.store.groups(proof, group_by, range).await?,
    ))
}
