//! Console: every appointment, filtered by doctor, patient, status and dates; cancelling any
//! of them (with a reason).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use contracts::appointments::AppointmentStatus;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminForm, console_layout, picked_date, picked_id, start_of};
use crate::AppState;
use crate::api::ApiError;
use crate::change::CancelForm;
use crate::pages::{Page, query, status_label};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Appointment {
    id: i64,
    patient_id: i64,
    doctor_id: i64,
    appointment_date: Timestamp,
    status: String,
    #[serde(default)]
    description: String,
}

/// Someone to pick in a filter: a doctor or a patient.
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct Person {
    pub id: i64,
    pub name: String,
}

/// The doctors and the patients (the first hundred of each), for pickers and names.
pub(super) async fn people(
    state: &AppState,
    session: &Session,
) -> Result<(Vec<Person>, Vec<Person>), ApiError> {
    let doctors = state
        .api
        .get::<Page<Person>>(session, "/api/doctors?size=100");
    let patients = state
        .api
        .get::<Page<Person>>(session, "/api/patients?size=100");
    let (doctors, patients) = tokio::try_join!(doctors, patients)?;
    Ok((doctors.items, patients.items))
}

/// The filter as typed; its fields carry the API's names.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    doctor_id: String,
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing)]
    booked: Option<String>,
    #[serde(default, skip_serializing)]
    cancelled: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    when: String,
    patient_id: i64,
    patient: String,
    doctor: String,
    description: String,
    status: String,
    status_label: &'static str,
    cancellable: bool,
}

fn name_of(names: &HashMap<i64, &str>, id: i64, what: &str) -> String {
    names
        .get(&id)
        .map_or_else(|| format!("{what} #{id}"), |n| (*n).to_owned())
}

/// The API's query for `filter`, or the fields the reader must correct.
fn api_query(
    filter: &Filter,
    zone: &jiff::tz::TimeZone,
) -> Result<String, BTreeMap<&'static str, &'static str>> {
    let mut errors = BTreeMap::new();
    let from = picked_date(&filter.from).unwrap_or_else(|e| {
        errors.insert("from", e);
        None
    });
    let to = picked_date(&filter.to).unwrap_or_else(|e| {
        errors.insert("to", e);
        None
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    let from = from.and_then(|d| start_of(d, zone)).map(|t| t.to_string());
    // The whole of the last day.
    let to = to
        .and_then(|d| start_of(time::add_days(d, 1), zone))
        .map(|t| t.to_string());
    let doctor = picked_id(&filter.doctor_id).map(|id| id.to_string());
    let patient = picked_id(&filter.patient_id).map(|id| id.to_string());
    Ok(query(&[
        ("doctorId", doctor.as_deref().unwrap_or_default()),
        ("patientId", patient.as_deref().unwrap_or_default()),
        ("status", &filter.status),
        ("from", from.as_deref().unwrap_or_default()),
        ("to", to.as_deref().unwrap_or_default()),
        ("size", "100"),
    ]))
}

pub async fn list(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(filter): Query<Filter>,
) -> Response {
    let zone = time::zone(&session.time_zone);
    let (doctors, patients) = match people(&state, &session).await {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    let (found, errors, status) = match api_query(&filter, &zone) {
        Err(errors) => (None, json!(errors), StatusCode::BAD_REQUEST),
        Ok(path) => match state
            .api
            .get::<Page<Appointment>>(&session, format!("/api/appointments?{path}"))
            .await
        {
            Ok(found) => (Some(found), json!({}), StatusCode::OK),
            Err(err @ ApiError::Refused { .. }) if !err.field_messages().is_empty() => {
                (None, json!(err.field_messages()), err.status())
            }
            Err(err) => return state.problem_page(&err),
        },
    };
    let doctor_names: HashMap<i64, &str> =
        doctors.iter().map(|d| (d.id, d.name.as_str())).collect();
    let patient_names: HashMap<i64, &str> =
        patients.iter().map(|p| (p.id, p.name.as_str())).collect();
    let total = found.as_ref().map_or(0, |f| f.total);
    let mut items = found.map(|f| f.items).unwrap_or_default();
    items.sort_by_key(|a| a.appointment_date);
    let rows: Vec<Row> = items
        .into_iter()
        .map(|a| Row {
            id: a.id,
            when: format!(
                "{} ({})",
                time::when(a.appointment_date, &zone),
                session.time_zone
            ),
            patient_id: a.patient_id,
            patient: name_of(&patient_names, a.patient_id, "Patient"),
            doctor: name_of(&doctor_names, a.doctor_id, "Doctor"),
            description: a.description,
            cancellable: a.status == "REQUESTED" || a.status == "APPROVED",
            status_label: status_label(&a.status),
            status: a.status,
        })
        .collect();
    let statuses: Vec<Value> = AppointmentStatus::ALL
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_label(s.as_str())}))
        .collect();
    let notice = match (&filter.booked, &filter.cancelled) {
        (Some(_), _) => Some("The visit was booked."),
        (None, Some(_)) => Some("The appointment was cancelled."),
        (None, None) => None,
    };
    let context = json!({
        "filter": filter,
        "doctors": doctors,
        "patients": patients,
        "statuses": statuses,
        "appointments": rows,
        "total": total,
        "errors": errors,
        "zone": session.time_zone,
        "notice": notice,
    });
    state.templates.page(
        status,
        "console_appointments.html",
        console_layout(&session, "appointments", context),
    )
}

async fn cancel_view(
    state: &AppState,
    session: &Session,
    id: i64,
    failure: Option<&ApiError>,
) -> Response {
    let appointment: Appointment = match state
        .api
        .get(session, format!("/api/appointments/{id}"))
        .await
    {
        Ok(found) => found,
        Err(err) => return state.problem_page(&err),
    };
    let doctor = state
        .api
        .get::<Person>(session, format!("/api/doctors/{}", appointment.doctor_id));
    let patient = state
        .api
        .get::<Person>(session, format!("/api/patients/{}", appointment.patient_id));
    let (doctor, patient) = match tokio::try_join!(doctor, patient) {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let context = json!({
        "id": id,
        "when": format!("{} ({})", time::when(appointment.appointment_date, &zone), session.time_zone),
        "doctor": doctor.name,
        "patient": patient.name,
        "status_label": status_label(&appointment.status),
        "cancellable": appointment.status == "REQUESTED" || appointment.status == "APPROVED",
        "error": failure.map(ApiError::message),
    });
    state.templates.page(
        failure.map_or(StatusCode::OK, ApiError::status),
        "console_cancel.html",
        console_layout(session, "appointments", context),
    )
}

pub async fn cancel_page(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<i64>,
) -> Response {
    cancel_view(&state, &session, id, None).await
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm(session, form): AdminForm<CancelForm>,
) -> Response {
    let cancelled = state
        .api
        .cancel_appointment(&session, id, &form.reason)
        .await;
    match cancelled {
        Ok(_) => see_other(&format!("/console/appointments?cancelled={id}")),
        Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
            cancel_view(&state, &session, id, Some(&err)).await
        }
        Err(err) => state.problem_page(&err),
    }
}
