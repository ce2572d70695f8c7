//! Console: booking a visit on behalf of a patient. First the patient, the doctor and the week
//! (a plain GET form, so it works without JavaScript), then one of the doctor's free times that
//! week and the reason; the API books it as the ADMIN asked.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::appointments::people;
use super::{Admin, AdminForm, console_layout, failure_context, picked_date, picked_id};
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{merge, query};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
struct Slot {
    start: Timestamp,
}

#[derive(Debug, Deserialize)]
struct Booked {
    id: i64,
}

/// The choices so far; the fields carry the API's names.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    doctor_id: String,
    #[serde(default)]
    week: String,
    #[serde(default)]
    appointment_date: String,
    #[serde(default)]
    description: String,
}

pub async fn pick(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(choice): Query<Choice>,
) -> Response {
    picker(&state, &session, &choice, None).await
}

async fn picker(
    state: &AppState,
    session: &Session,
    choice: &Choice,
    failure: Option<&ApiError>,
) -> Response {
    let zone = time::zone(&session.time_zone);
    let this_week = time::week_start(time::today(&zone));
    let asked = picked_date(&choice.week).ok().flatten();
    let first = time::week_start(asked.unwrap_or(this_week)).max(this_week);
    let doctor = picked_id(&choice.doctor_id);
    let chosen = picked_id(&choice.patient_id).zip(doctor);
    let slots = async {
        match chosen {
            Some((_, doctor)) => week_of_slots(state, session, doctor, first).await,
            None => Ok(Vec::new()),
        }
    };
    let ((doctors, patients), days) = match tokio::try_join!(people(state, session), slots) {
        Ok(all) => all,
        Err(err) => return state.problem_page(&err),
    };
    let week_link = |week: Date| {
        let week = week.to_string();
        let pairs = [
            ("patientId", choice.patient_id.as_str()),
            ("doctorId", choice.doctor_id.as_str()),
            ("week", week.as_str()),
        ];
        format!("/console/book?{}", query(&pairs))
    };
    let mut context = json!({
        "choice": choice,
        "doctors": doctors,
        "patients": patients,
        "chosen": chosen.is_some(),
        "days": days,
        "week": first.to_string(),
        "week_label": time::day_label(first),
        "previous": (first > this_week).then(|| week_link(time::add_days(first, -7))),
        "next": week_link(time::add_days(first, 7)),
        "zone": session.time_zone,
        "errors": {},
    });
    if let Some(err) = failure {
        context = merge(context, failure_context(err));
    }
    state.templates.page(
        failure.map_or(StatusCode::OK, ApiError::status),
        "console_book.html",
        console_layout(session, "book", context),
    )
}

/// The doctor's free times in the week from `first`, by day in the reader's zone.
async fn week_of_slots(
    state: &AppState,
    session: &Session,
    doctor: i64,
    first: Date,
) -> Result<Vec<Value>, ApiError> {
    let zone = time::zone(&session.time_zone);
    let last = time::add_days(first, 6);
    // A day either side: the doctor's days and the reader's may not line up.
    let path = format!(
        "/api/doctors/{doctor}/slots?from={}&to={}",
        time::add_days(first, -1),
        time::add_days(last, 1)
    );
    let slots: Vec<Slot> = state.api.get(session, path).await?;
    let now = Timestamp::now();
    let mut by_day: BTreeMap<Date, Vec<Value>> = BTreeMap::new();
    for slot in slots.into_iter().filter(|s| s.start > now) {
        let date = time::local_date(slot.start, &zone);
        if date >= first && date <= last {
            by_day.entry(date).or_default().push(json!({
                "start": slot.start.to_string(),
                "time": time::clock(slot.start, &zone),
            }));
        }
    }
    Ok((0..7)
        .map(|n| {
            let date = time::add_days(first, n);
            json!({"date": date.to_string(), "label": time::day_label(date), "slots": by_day.remove(&date).unwrap_or_default()})
        })
        .collect())
}

pub async fn book(
    State(state): State<AppState>,
    AdminForm(session, choice): AdminForm<Choice>,
) -> Response {
    if choice.appointment_date.trim().is_empty() {
        let missing = ApiError::Refused {
            status: StatusCode::BAD_REQUEST,
            message: String::new(),
            fields: vec![crate::api::FieldError {
                field: "appointmentDate".to_owned(),
                message: "Choose one of the free times.".to_owned(),
            }],
        };
        return picker(&state, &session, &choice, Some(&missing)).await;
    }
    let mut body = json!({
        "patientId": picked_id(&choice.patient_id),
        "doctorId": picked_id(&choice.doctor_id),
        "appointmentDate": choice.appointment_date.trim(),
    });
    if !choice.description.trim().is_empty() {
        body["description"] = json!(choice.description.trim());
    }
    let booked: Result<Booked, _> = state
        .api
        .send(&session, Method::POST, "/api/appointments", Some(&body))
        .await;
    match booked {
        Ok(booked) => see_other(&format!(
            "/console/appointments?{}",
            query(&[
                ("patientId", choice.patient_id.trim()),
                ("booked", &booked.id.to_string())
            ])
        )),
        Err(err @ ApiError::Refused { .. }) => picker(&state, &session, &choice, Some(&err)).await,
        Err(err) => state.problem_page(&err),
    }
}
