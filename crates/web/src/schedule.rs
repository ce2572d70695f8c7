//! A doctor's weekly working hours and time off, on one page. The hours are a form of one or
//! more blocks a day, in the doctor's own zone (as the doctors service keeps them); time off is
//! a period typed in the reader's zone. An ADMIN edits any doctor's (`?doctor=`).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::ApiError;
use crate::doctor::{elsewhere, whose};
use crate::extract::{SessionForm, SignedIn};
use crate::hours::HoursForm;
use crate::pages::{layout, merge};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doctor {
    name: String,
    timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TimeOff {
    from: Timestamp,
    to: Timestamp,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Whose {
    doctor: Option<i64>,
    saved: Option<String>,
}

/// What the page shows besides what is stored: a form as typed, with its complaints.
#[derive(Default)]
struct Draft {
    hours: Option<HoursForm>,
    time_off: TimeOffForm,
    time_off_errors: BTreeMap<String, String>,
    /// The words above the hours form.
    hours_error: Option<String>,
    /// The words above the time off form.
    time_off_error: Option<String>,
    notice: Option<&'static str>,
    status: Option<StatusCode>,
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(asked): Query<Whose>,
) -> Response {
    let Some(doctor_id) = whose(&session, asked.doctor) else {
        return elsewhere(&session);
    };
    let notice = match asked.saved.as_deref() {
        Some("hours") => Some("The weekly hours are saved."),
        Some("time-off") => Some("The time off is saved: no visits can be booked during it."),
        _ => None,
    };
    let draft = Draft {
        notice,
        ..Draft::default()
    };
    render(&state, &session, doctor_id, draft).await
}

async fn render(state: &AppState, session: &Session, doctor_id: i64, draft: Draft) -> Response {
    let doctor = state
        .api
        .get::<Doctor>(session, format!("/api/doctors/{doctor_id}"));
    let schedule = state
        .api
        .get::<Value>(session, format!("/api/doctors/{doctor_id}/schedule"));
    let time_off = state
        .api
        .get::<Vec<TimeOff>>(session, format!("/api/doctors/{doctor_id}/time-off"));
    let (doctor, schedule, time_off) = match tokio::try_join!(doctor, schedule, time_off) {
        Ok(all) => all,
        Err(err) => return state.problem_page(&err),
    };
    let hours = match draft.hours {
        Some(typed) => typed,
        None => match HoursForm::stored(&schedule) {
            Some(stored) => stored,
            None => return state.problem_page(&ApiError::Unavailable),
        },
    };
    let zone = time::zone(&session.time_zone);
    let now = Timestamp::now();
    let upcoming: Vec<Value> = time_off
        .iter()
        .filter(|off| off.to > now)
        .map(|off| {
            json!({
                "from": time::when(off.from, &zone),
                "to": time::when(off.to, &zone),
                "reason": off.reason,
            })
        })
        .collect();
    let doctor_zone = doctor
        .timezone
        .clone()
        .unwrap_or_else(|| time::zone_name("", &state.clinic.timezone));
    let heading = if session.role == "DOCTOR" {
        "Your hours and time off".to_owned()
    } else {
        format!("{}: hours and time off", doctor.name)
    };
    let context = json!({
        "heading": heading,
        "doctor_id": doctor_id,
        "admin": session.role == "ADMIN",
        "doctor_zone": doctor_zone,
        "zone": session.time_zone,
        "hours": hours,
        "time_off": draft.time_off,
        "errors": draft.time_off_errors,
        "upcoming": upcoming,
        "hours_error": draft.hours_error,
        "time_off_error": draft.time_off_error,
        "notice": draft.notice,
    });
    state.templates.page(
        draft.status.unwrap_or(StatusCode::OK),
        "schedule.html",
        merge(layout(session, "schedule"), context),
    )
}

fn saved(session: &Session, doctor_id: i64, what: &str) -> Response {
    if session.role == "ADMIN" {
        see_other(&format!("/schedule?saved={what}&doctor={doctor_id}"))
    } else {
        see_other(&format!("/schedule?saved={what}"))
    }
}

/// The hours form's fields are named per day and block (`start-MONDAY-0`), so it is read as
/// pairs.
pub async fn save_hours(
    State(state): State<AppState>,
    SessionForm(session, pairs): SessionForm<Vec<(String, String)>>,
) -> Response {
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "doctor")
        .and_then(|(_, v)| v.parse().ok());
    let Some(doctor_id) = whose(&session, asked) else {
        return elsewhere(&session);
    };
    let mut hours = HoursForm::typed(&pairs);
    let invalid = StatusCode::BAD_REQUEST;
    let Some((body, rows)) = hours.request_body() else {
        let draft = Draft {
            hours: Some(hours),
            hours_error: Some("Please correct the hours marked below.".to_owned()),
            status: Some(invalid),
            ..Draft::default()
        };
        return render(&state, &session, doctor_id, draft).await;
    };
    let path = format!("/api/doctors/{doctor_id}/schedule");
    let stored: Result<Value, _> = state
        .api
        .send(&session, Method::PUT, &path, Some(&body))
        .await;
    match stored {
        Ok(_) => saved(&session, doctor_id, "hours"),
        Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
            let error = hours.mark(&err, &rows);
            let draft = Draft {
                hours: Some(hours),
                hours_error: Some(error),
                status: Some(err.status()),
                ..Draft::default()
            };
            render(&state, &session, doctor_id, draft).await
        }
        Err(err) => state.problem_page(&err),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct TimeOffForm {
    #[serde(default, skip_serializing)]
    doctor: Option<i64>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

/// A `datetime-local` value (`2026-12-01T09:00`) in the reader's zone, as an instant.
fn instant(local: &str, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
    let civil: DateTime = local.trim().parse().ok()?;
    civil.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
}

pub async fn add_time_off(
    State(state): State<AppState>,
    SessionForm(session, form): SessionForm<TimeOffForm>,
) -> Response {
    let Some(doctor_id) = whose(&session, form.doctor) else {
        return elsewhere(&session);
    };
    let zone = time::zone(&session.time_zone);
    let (from, to) = (instant(&form.from, &zone), instant(&form.to, &zone));
    let mut errors = BTreeMap::new();
    for (field, value) in [("from", from), ("to", to)] {
        if value.is_none() {
            errors.insert(field.to_owned(), "Enter a date and a time.".to_owned());
        }
    }
    let (status, error) = match from.zip(to) {
        Some((from, to)) => {
            let reason = form.reason.trim();
            let mut body = json!({"from": from.to_string(), "to": to.to_string()});
            if !reason.is_empty() {
                body["reason"] = json!(reason);
            }
            let path = format!("/api/doctors/{doctor_id}/time-off");
            let stored: Result<Value, _> = state
                .api
                .send(&session, Method::POST, &path, Some(&body))
                .await;
            match stored {
                Ok(_) => return saved(&session, doctor_id, "time-off"),
                Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
                    for (field, message) in err.field_messages() {
                        // The API names the other field; the form calls it the start.
                        let message = message.replace("after from", "after the start");
                        errors.insert(field.to_owned(), capitalized(&message));
                    }
                    (err.status(), err.message())
                }
                Err(err) => return state.problem_page(&err),
            }
        }
        None => (StatusCode::BAD_REQUEST, String::new()),
    };
    let error = if errors.is_empty() {
        error
    } else {
        "Please correct the time off marked below.".to_owned()
    };
    let draft = Draft {
        time_off: form,
        time_off_errors: errors,
        time_off_error: Some(error),
        status: Some(status),
        ..Draft::default()
    };
    render(&state, &session, doctor_id, draft).await
}

/// "must be after from" → "Must be after from." (the API's words, as a sentence).
pub(crate) fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}
