//! The doctor's day: the requests waiting for a decision (oldest first) beside the day's agenda,
//! with approve / decline (with a reason), completed and no-show. An ADMIN sees any doctor's
//! day (`?doctor=`). The same days as a week: [`crate::week_grid`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::ApiError;
use crate::extract::{SessionForm, SignedIn};
use crate::pages::{Page, layout, merge, status_label};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Appointment {
    id: i64,
    patient_id: i64,
    appointment_date: Timestamp,
    status: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Patient {
    id: i64,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Doctor {
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    pub(crate) date: Option<Date>,
    pub(crate) doctor: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    patient_id: i64,
    when: String,
    time: String,
    patient: String,
    description: String,
    status: String,
    status_label: &'static str,
}

/// Whose day, week or hours: the doctor's own, or (ADMIN) the one asked for.
pub(crate) fn whose(session: &Session, asked: Option<i64>) -> Option<i64> {
    match session.role.as_str() {
        "DOCTOR" => session.doctor_id,
        "ADMIN" => asked,
        _ => None,
    }
}

/// Where someone goes who has no doctor's page to see (or an ADMIN who named no doctor).
pub(crate) fn elsewhere(session: &Session) -> Response {
    if session.role == "ADMIN" {
        see_other("/console")
    } else {
        see_other("/")
    }
}

pub async fn day(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<DayQuery>,
) -> Response {
    let Some(doctor_id) = whose(&session, query.doctor) else {
        return elsewhere(&session);
    };
    let zone = time::zone(&session.time_zone);
    let date = query.date.unwrap_or_else(|| time::today(&zone));
    let (Ok(start), Ok(end)) = (
        date.to_zoned(zone.clone()).map(|z| z.timestamp()),
        time::add_days(date, 1)
            .to_zoned(zone.clone())
            .map(|z| z.timestamp()),
    ) else {
        return state.message_page(
            StatusCode::BAD_REQUEST,
            "No such day",
            "Please pick another date.",
        );
    };
    let requests_path = format!("/api/appointments?doctorId={doctor_id}&status=REQUESTED&size=100");
    let day_path = format!(
        "/api/appointments?doctorId={doctor_id}&from={}&to={}&size=100",
        start, end
    );
    let requests = state.api.get::<Page<Appointment>>(&session, &requests_path);
    let agenda = state.api.get::<Page<Appointment>>(&session, &day_path);
    let patients = state
        .api
        .get::<Page<Patient>>(&session, "/api/patients?size=100");
    let doctor = state
        .api
        .get::<Doctor>(&session, format!("/api/doctors/{doctor_id}"));
    let (requests, agenda, patients, doctor) =
        match tokio::try_join!(requests, agenda, patients, doctor) {
            Ok(all) => all,
            Err(err) => return state.problem_page(&err),
        };
    let names: HashMap<i64, String> = patients.items.into_iter().map(|p| (p.id, p.name)).collect();
    let row = |a: &Appointment| Row {
        id: a.id,
        patient_id: a.patient_id,
        when: time::when(a.appointment_date, &zone),
        time: time::clock(a.appointment_date, &zone),
        // A doctor sees a patient's profile once they care for them (an approved visit).
        patient: names
            .get(&a.patient_id)
            .cloned()
            .unwrap_or_else(|| format!("New patient (#{})", a.patient_id)),
        description: a.description.clone().unwrap_or_default(),
        status: a.status.clone(),
        status_label: status_label(&a.status),
    };
    let now = Timestamp::now();
    let mut waiting: Vec<&Appointment> = requests
        .items
        .iter()
        .filter(|a| a.appointment_date > now)
        .collect();
    waiting.sort_by_key(|a| a.appointment_date);
    let mut booked: Vec<&Appointment> = agenda.items.iter().collect();
    booked.sort_by_key(|a| a.appointment_date);
    let doctor_param = if session.role == "ADMIN" {
        format!("&doctor={doctor_id}")
    } else {
        String::new()
    };
    let previous = time::add_days(date, -1);
    let next = time::add_days(date, 1);
    let heading = if session.role == "DOCTOR" {
        format!("Your day: {}", time::day_label(date))
    } else {
        format!("{}: {}", doctor.name, time::day_label(date))
    };
    let context = json!({
        "heading": heading,
        "zone": session.time_zone,
        "requests": waiting.into_iter().map(row).collect::<Vec<_>>(),
        "agenda": booked.into_iter().map(row).collect::<Vec<_>>(),
        "previous": previous.to_string(),
        "previous_label": time::day_label(previous),
        "next": next.to_string(),
        "next_label": time::day_label(next),
        "date": date.to_string(),
        "admin_doctor": (session.role == "ADMIN").then_some(doctor_id),
        "doctor_param": doctor_param,
        "back": format!("/day?date={date}{doctor_param}"),
    });
    state.templates.page(
        StatusCode::OK,
        "day.html",
        merge(layout(&session, "day"), context),
    )
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// Where to go after a decision: back to the day it was taken on (only pages of this app).
fn back_to(back: &str) -> &str {
    if back.starts_with("/day?") {
        back
    } else {
        "/day"
    }
}

async fn act(state: &AppState, session: &Session, path: &str, body: Value, back: &str) -> Response {
    let done: Result<Value, ApiError> = state
        .api
        .send(session, Method::POST, path, Some(&body))
        .await;
    match done {
        Ok(_) => see_other(back_to(back)),
        Err(err) => state.problem_page(&err),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<Decision>,
) -> Response {
    let body = json!({"appointmentId": id});
    act(
        &state,
        &session,
        "/api/doctors/appointments/approve",
        body,
        &form.back,
    )
    .await
}

pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<Decision>,
) -> Response {
    let reason = form.reason.trim();
    let body = if reason.is_empty() {
        json!({"appointmentId": id})
    } else {
        json!({"appointmentId": id, "reason": reason})
    };
    act(
        &state,
        &session,
        "/api/doctors/appointments/reject",
        body,
        &form.back,
    )
    .await
}

pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<Decision>,
) -> Response {
    let path = format!("/api/appointments/{id}/complete");
    act(&state, &session, &path, json!({}), &form.back).await
}

pub async fn no_show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<Decision>,
) -> Response {
    let path = format!("/api/appointments/{id}/no-show");
    act(&state, &session, &path, json!({}), &form.back).await
}
