use axum::extract::{Path, Query, State};
use contracts::appointments::{Appointment, AppointmentFilter, BusyQuery, PatientIdsQuery};
use contracts::doctors::Slot;
use platform::audit::{Action, AuditContext};
use platform::auth::Principal;
use platform::docs::{BadQuery, NotFound};
use platform::page::{Page, PageParams};
use platform::time::parse_instant;
use platform::validation::Violations;
use platform::{ApiError, Result};

use crate::AppState;
use crate::policy;
use crate::store::ListFilter;

/// One appointment.
#[utoipa::path(get, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    let sealed = state.find(id).await?;
    let patient_id = sealed.patient_id();
    let result = policy::view(&ctx.principal, sealed);
    let resource = format!("appointment/{id}");
    // Awaited before answering: the read's audit row is committed before the data leaves.
    let appointment = state
        .store
        .audit()
        .outcome(&ctx, Some(patient_id), Action::Read, &resource, result)
        .await?;
    Ok(axum::Json(appointment))
}

/// Appointments in start order, filtered by patient, doctor, status and start time.
#[utoipa::path(get, path = "/api/appointments", tag = "appointments",
    params(AppointmentFilter, PageParams),
    responses((status = 200, body = Page<Appointment>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    ctx: AuditContext,
    Query(filter): Query<AppointmentFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Appointment>>> {
    let page = page.validate()?;
    let zone = &state.clinic.timezone;
    let mut v = Violations::default();
    let from = v.check_optional("from", filter.from, |raw| parse_instant(&raw, zone));
    let to = v.check_optional("to", filter.to, |raw| parse_instant(&raw, zone));
    let filter = v.finish(Some(ListFilter {
        patient_id: filter.patient_id,
        doctor_id: filter.doctor_id,
        status: filter.status,
        from,
        to,
    }))?;
    let scoped = policy::scope_list(&ctx.principal, filter)?;
    let (items, total) = state.store.list(&scoped, page).await?;
    // Every appointment that leaves the service is on the trail: one submission per page.
    let listed = items
        .iter()
        .map(|a| (Some(a.patient_id), format!("appointment/{}", a.id)));
    state.store.audit().record_page(&ctx, listed).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

/// Intervals during which a doctor's active appointments hold the time (for slot search).
#[utoipa::path(get, path = "/api/appointments/busy", tag = "appointments",
    params(BusyQuery),
    responses((status = 200, body = Vec<Slot>), BadQuery))]
pub async fn busy(
    State(state): State<AppState>,
    _caller: Principal,
    Query(query): Query<BusyQuery>,
) -> Result<axum::Json<Vec<Slot>>> {
    let zone = &state.clinic.timezone;
    let mut v = Violations::default();
    let from = v.check("from", parse_instant(&query.from, zone));
    let to = v.check("to", parse_instant(&query.to, zone));
    let (from, to) = v.finish(from.zip(to))?;
    if to <= from || to.as_second() - from.as_second() > 400 * 24 * 3600 {
        return Err(ApiError::invalid(
            "to",
            "must be after `from`, at most 400 days later",
        ));
    }
    Ok(axum::Json(
        state.store.busy(query.doctor_id, from, to).await?,
    ))
}

/// Ids of the patients a doctor has a care relationship with: an `APPROVED` or `COMPLETED`
/// appointment together (the doctor; ADMIN names one). `patientId` asks about one patient.
#[utoipa::path(get, path = "/api/appointments/patient-ids", tag = "appointments",
    params(PatientIdsQuery),
    responses((status = 200, body = Vec<i64>), BadQuery))]
pub async fn patient_ids(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PatientIdsQuery>,
) -> Result<axum::Json<Vec<i64>>> {
    let doctor = policy::doctor_for_patient_ids(&principal, query.doctor_id)?;
    let ids = state
        .store
        .patient_ids_of_doctor(doctor, query.patient_id)
        .await?;
    Ok(axum::Json(ids))
}
