//! Changing a booked visit from the appointments list: moving it to another free time of the
//! same doctor (the booking's week of free times, then a review) or cancelling it (with the
//! late-cancellation warning first). Only a visit still to come and not called off can change.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::ApiError;
use crate::extract::{SessionForm, SignedIn};
use crate::pages::{layout, merge, refusal_text};
use crate::patient::{Appointment, doctor_names, free_week, view};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

/// The appointment and every doctor's name, fetched together.
async fn appointment_and_names(
    state: &AppState,
    session: &Session,
    id: i64,
) -> Result<(Appointment, std::collections::HashMap<i64, String>), ApiError> {
    let found = state
        .api
        .get::<Appointment>(session, format!("/api/appointments/{id}"));
    tokio::try_join!(found, doctor_names(state, session))
}

fn unchangeable(state: &AppState) -> Response {
    state.message_page(
        StatusCode::CONFLICT,
        "This visit cannot be changed",
        "Only a visit still to come, requested or approved, can be moved or cancelled.",
    )
}

#[derive(Debug, Deserialize)]
pub struct MoveWeek {
    week: Option<Date>,
}

/// The doctor's free times, from the week of the visit (or the week asked for).
pub async fn move_page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<i64>,
    Query(asked): Query<MoveWeek>,
) -> Response {
    let (appointment, names) = match appointment_and_names(&state, &session, id).await {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    if !appointment.changeable() {
        return unchangeable(&state);
    }
    let zone = time::zone(&session.time_zone);
    let week = asked
        .week
        .unwrap_or_else(|| time::local_date(appointment.appointment_date, &zone));
    let free = match free_week(&state, &session, appointment.doctor_id, Some(week)).await {
        Ok(free) => free,
        Err(err) => return state.problem_page(&err),
    };
    let current = view(&appointment, &names, &zone, &session.time_zone);
    let context = merge(free, json!({"moving": current}));
    state.templates.page(
        StatusCode::OK,
        "week.html",
        merge(layout(&session, "appointments"), context),
    )
}

#[derive(Debug, Deserialize)]
pub struct NewTime {
    start: Timestamp,
}

/// Review: from when to when, and what happens to an approved visit.
pub async fn move_review(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<i64>,
    Query(choice): Query<NewTime>,
) -> Response {
    move_review_page(&state, &session, id, choice.start, None).await
}

async fn move_review_page(
    state: &AppState,
    session: &Session,
    id: i64,
    start: Timestamp,
    failure: Option<&ApiError>,
) -> Response {
    let (appointment, names) = match appointment_and_names(state, session, id).await {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    if !appointment.changeable() {
        return unchangeable(state);
    }
    let zone = time::zone(&session.time_zone);
    let error = failure.map(|err| refusal_text(err, &[("appointmentDate", "The new time")]));
    let context = json!({
        "appointment": view(&appointment, &names, &zone, &session.time_zone),
        "approved": appointment.status == "APPROVED",
        "start": start.to_string(),
        "when": format!("{} ({})", time::when(start, &zone), session.time_zone),
        "error": error,
    });
    let status = failure.map_or(StatusCode::OK, ApiError::status);
    state.templates.page(
        status,
        "reschedule.html",
        merge(layout(session, "appointments"), context),
    )
}

/// `PUT /api/appointments/{id}` with the new start; the API checks it as it checks a booking.
pub async fn move_visit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<NewTime>,
) -> Response {
    let body = json!({"appointmentDate": form.start.to_string()});
    let path = format!("/api/appointments/{id}");
    let moved: Result<Appointment, _> = state
        .api
        .send(&session, Method::PUT, &path, Some(&body))
        .await;
    match moved {
        Ok(_) => see_other(&format!("/appointments?moved={id}")),
        Err(err @ ApiError::Refused { .. }) => {
            move_review_page(&state, &session, id, form.start, Some(&err)).await
        }
        Err(err) => state.problem_page(&err),
    }
}

async fn cancel_view(
    state: &AppState,
    session: &Session,
    id: i64,
    failure: Option<&ApiError>,
) -> Response {
    let (appointment, names) = match appointment_and_names(state, session, id).await {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let window = state.clinic.cancellation_window;
    let starts_in = appointment
        .appointment_date
        .duration_since(Timestamp::now());
    let late = starts_in.unsigned_abs() < window || starts_in.is_negative();
    let context = json!({
        "appointment": view(&appointment, &names, &zone, &session.time_zone),
        "late": late,
        "window_hours": window.as_secs() / 3600,
        "error": failure.map(ApiError::message),
    });
    let status = failure.map_or(StatusCode::OK, ApiError::status);
    state.templates.page(
        status,
        "cancel.html",
        merge(layout(session, "appointments"), context),
    )
}

pub async fn cancel_page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<i64>,
) -> Response {
    cancel_view(&state, &session, id, None).await
}

/// A cancellation's form: the reason is optional.
#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    pub reason: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, form): SessionForm<CancelForm>,
) -> Response {
    let cancelled = state
        .api
        .cancel_appointment(&session, id, &form.reason)
        .await;
    match cancelled {
        Ok(_) => see_other(&format!("/appointments?cancelled={id}")),
        Err(err @ ApiError::Refused { .. }) => cancel_view(&state, &session, id, Some(&err)).await,
        Err(err) => state.problem_page(&err),
    }
}
