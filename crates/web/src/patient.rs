//! The patient's pages: find a doctor, a week of free times, review and request a visit, and
//! the appointments list. Moving or cancelling a visit: [`crate::change`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
use crate::pages::{Page, layout, merge, query, status_label};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doctor {
    id: i64,
    name: String,
    speciality: String,
    timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Appointment {
    pub id: i64,
    pub doctor_id: i64,
    pub appointment_date: Timestamp,
    pub status: String,
}

impl Appointment {
    /// Still to come and not called off: it can be moved or cancelled.
    pub fn changeable(&self) -> bool {
        (self.status == "REQUESTED" || self.status == "APPROVED")
            && self.appointment_date > Timestamp::now()
    }
}

#[derive(Debug, Deserialize)]
struct Slot {
    start: Timestamp,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoctorSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    speciality: String,
}

pub async fn doctors(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(search): Query<DoctorSearch>,
) -> Response {
    let filter = query(&[
        ("q", search.q.trim()),
        ("speciality", &search.speciality),
        ("size", "100"),
    ]);
    let everyone = state
        .api
        .get::<Page<Doctor>>(&session, "/api/doctors?size=100");
    let found = state
        .api
        .get::<Page<Doctor>>(&session, format!("/api/doctors?{filter}"));
    let (everyone, found) = match tokio::try_join!(everyone, found) {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    let specialities: BTreeSet<String> = everyone.items.into_iter().map(|d| d.speciality).collect();
    let context = json!({
        "q": search.q,
        "speciality": search.speciality,
        "specialities": specialities,
        "doctors": found.items,
    });
    state.templates.page(
        StatusCode::OK,
        "doctors.html",
        merge(layout(&session, "doctors"), context),
    )
}

#[derive(Debug, Deserialize)]
pub struct Week {
    week: Option<Date>,
}

#[derive(Debug, Serialize)]
struct SlotView {
    start: String,
    time: String,
}

pub async fn week(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<i64>,
    Query(week): Query<Week>,
) -> Response {
    match free_week(&state, &session, id, week.week).await {
        Ok(context) => state.templates.page(
            StatusCode::OK,
            "week.html",
            merge(layout(&session, "doctors"), context),
        ),
        Err(err) => state.problem_page(&err),
    }
}

/// `week.html`'s context: doctor `id`'s free times in the week of `asked` (this week at the
/// earliest), by day in the reader's zone.
pub(crate) async fn free_week(
    state: &AppState,
    session: &Session,
    id: i64,
    asked: Option<Date>,
) -> Result<Value, ApiError> {
    let zone = time::zone(&session.time_zone);
    let today = time::today(&zone);
    let this_week = time::week_start(today);
    let first = time::week_start(asked.unwrap_or(today)).max(this_week);
    let last = time::add_days(first, 6);
    // A day either side: the doctor's days and the reader's may not line up.
    let path = format!(
        "/api/doctors/{id}/slots?from={}&to={}",
        time::add_days(first, -1),
        time::add_days(last, 1)
    );
    let doctor = state
        .api
        .get::<Doctor>(session, format!("/api/doctors/{id}"));
    let slots = state.api.get::<Vec<Slot>>(session, &path);
    let (doctor, slots) = tokio::try_join!(doctor, slots)?;
    let now = Timestamp::now();
    let mut by_day: BTreeMap<Date, Vec<SlotView>> = BTreeMap::new();
    for slot in slots.into_iter().filter(|s| s.start > now) {
        let date = time::local_date(slot.start, &zone);
        if date >= first && date <= last {
            by_day.entry(date).or_default().push(SlotView {
                start: slot.start.to_string(),
                time: time::clock(slot.start, &zone),
            });
        }
    }
    let days: Vec<Value> = (0..7)
        .map(|n| {
            let date = time::add_days(first, n);
            json!({"label": time::day_label(date), "slots": by_day.remove(&date).unwrap_or_default()})
        })
        .collect();
    Ok(json!({
        "doctor": doctor,
        "doctor_zone": doctor.timezone,
        "zone": session.time_zone,
        "week_label": time::day_label(first),
        "previous": (first > this_week).then(|| time::add_days(first, -7).to_string()),
        "next": time::add_days(first, 7).to_string(),
        "days": days,
    }))
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    doctor: i64,
    start: Timestamp,
}

pub async fn review(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(choice): Query<Choice>,
) -> Response {
    review_page(
        &state,
        &session,
        choice.doctor,
        choice.start,
        "",
        None,
        StatusCode::OK,
    )
    .await
}

async fn review_page(
    state: &AppState,
    session: &Session,
    doctor: i64,
    start: Timestamp,
    description: &str,
    failure: Option<&ApiError>,
    status: StatusCode,
) -> Response {
    let doctor: Doctor = match state
        .api
        .get(session, &format!("/api/doctors/{doctor}"))
        .await
    {
        Ok(doctor) => doctor,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let errors = failure.map(ApiError::field_messages).unwrap_or_default();
    let context = json!({
        "doctor": doctor,
        "start": start.to_string(),
        "when": format!("{} ({})", time::when(start, &zone), session.time_zone),
        "description": description,
        "error": failure.map(ApiError::message),
        "errors": errors,
    });
    state.templates.page(
        status,
        "book.html",
        merge(layout(session, "doctors"), context),
    )
}

#[derive(Debug, Deserialize)]
pub struct BookForm {
    doctor: i64,
    start: Timestamp,
    #[serde(default)]
    description: String,
}

pub async fn book(
    State(state): State<AppState>,
    SessionForm(session, form): SessionForm<BookForm>,
) -> Response {
    let Some(patient_id) = session.patient_id else {
        return state.message_page(
            StatusCode::FORBIDDEN,
            "Not a patient account",
            "Visits are requested from a patient's account.",
        );
    };
    let body = json!({
        "patientId": patient_id,
        "doctorId": form.doctor,
        "appointmentDate": form.start.to_string(),
        "description": form.description.trim(),
    });
    let booked: Result<Appointment, _> = state
        .api
        .send(&session, Method::POST, "/api/appointments", Some(&body))
        .await;
    match booked {
        Ok(appointment) => see_other(&format!("/appointments?requested={}", appointment.id)),
        Err(err @ ApiError::Refused { .. }) => {
            let status = err.status();
            review_page(
                &state,
                &session,
                form.doctor,
                form.start,
                &form.description,
                Some(&err),
                status,
            )
            .await
        }
        Err(err) => state.problem_page(&err),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListNotice {
    requested: Option<i64>,
    cancelled: Option<i64>,
    moved: Option<i64>,
}

impl ListNotice {
    /// What the list says after a booking, a move or a cancellation.
    fn text(
        &self,
        items: &[Appointment],
        names: &HashMap<i64, String>,
        zone: &jiff::tz::TimeZone,
    ) -> Option<String> {
        if self.cancelled.is_some() {
            return Some("The visit is cancelled.".to_owned());
        }
        let id = self.requested.or(self.moved)?;
        let a = items.iter().find(|a| a.id == id)?;
        let doctor = names.get(&a.doctor_id).cloned().unwrap_or_default();
        let approved = a.status == "APPROVED";
        Some(match (self.moved.is_some(), approved) {
            (false, true) => format!("Booked: your visit with {doctor} is confirmed."),
            (false, false) => {
                format!("Requested — waiting for {doctor} to approve it. You will be notified.")
            }
            (true, true) => format!(
                "Moved: your visit with {doctor} is now on {}.",
                time::when(a.appointment_date, zone)
            ),
            (true, false) => format!(
                "Moved to {} — waiting for {doctor} to approve the new time. You will be notified.",
                time::when(a.appointment_date, zone)
            ),
        })
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct AppointmentView {
    id: i64,
    when: String,
    doctor: String,
    status: String,
    status_label: &'static str,
    /// May still be moved or cancelled.
    changeable: bool,
}

/// Every doctor's name by id (the appointment API names doctors by id only).
pub(crate) async fn doctor_names(
    state: &AppState,
    session: &Session,
) -> Result<HashMap<i64, String>, ApiError> {
    match state
        .api
        .get::<Page<Doctor>>(session, "/api/doctors?size=100")
        .await
    {
        Ok(page) => Ok(page.items.into_iter().map(|d| (d.id, d.name)).collect()),
        // The names are a courtesy: without the doctor service the lists still show, with
        // "Doctor #id" in their place.
        Err(ApiError::Unavailable) => Ok(HashMap::new()),
        Err(err) => Err(err),
    }
}

pub(crate) fn view(
    a: &Appointment,
    names: &HashMap<i64, String>,
    zone: &jiff::tz::TimeZone,
    zone_name: &str,
) -> AppointmentView {
    AppointmentView {
        id: a.id,
        when: format!("{} ({zone_name})", time::when(a.appointment_date, zone)),
        doctor: names
            .get(&a.doctor_id)
            .cloned()
            .unwrap_or_else(|| format!("Doctor #{}", a.doctor_id)),
        status: a.status.clone(),
        status_label: status_label(&a.status),
        changeable: a.changeable(),
    }
}

pub async fn appointments(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(notice): Query<ListNotice>,
) -> Response {
    let Some(patient_id) = session.patient_id else {
        return see_other("/");
    };
    let path = format!("/api/appointments?patientId={patient_id}&size=100");
    let listed = state.api.get::<Page<Appointment>>(&session, &path);
    let (listed, names) = match tokio::try_join!(listed, doctor_names(&state, &session)) {
        Ok(both) => both,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let mut items = listed.items;
    items.sort_by_key(|a| a.appointment_date);
    let (upcoming, past): (Vec<_>, Vec<_>) = items.iter().partition(|a| a.changeable());
    let upcoming: Vec<_> = upcoming
        .into_iter()
        .map(|a| view(a, &names, &zone, &session.time_zone))
        .collect();
    let past: Vec<_> = past
        .into_iter()
        .rev()
        .map(|a| view(a, &names, &zone, &session.time_zone))
        .collect();
    let notice = notice.text(&items, &names, &zone);
    let context = json!({"upcoming": upcoming, "past": past, "notice": notice});
    state.templates.page(
        StatusCode::OK,
        "appointments.html",
        merge(layout(&session, "appointments"), context),
    )
}
