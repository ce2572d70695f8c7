//! Console: the doctors — search by name or speciality, add one, edit one. The form's fields
//! carry the API's field names, so each of the API's complaints lands beside its field.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminForm, console_layout, failure_context};
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{Page, query};
use crate::render::see_other;
use crate::session::Session;

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doctor {
    id: i64,
    name: String,
    email: String,
    phone: String,
    speciality: String,
    gender: Option<String>,
    available: bool,
    slot_minutes: u32,
    timezone: Option<String>,
    auto_approve: bool,
}

const GENDERS: [(&str, &str); 4] = [
    ("FEMALE", "Female"),
    ("MALE", "Male"),
    ("OTHER", "Other"),
    ("UNDISCLOSED", "Prefers not to say"),
];

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    speciality: String,
    added: Option<String>,
    saved: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(search): Query<Search>,
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
    let notice = match (&search.added, &search.saved) {
        (Some(_), _) => Some("The doctor was added."),
        (None, Some(_)) => Some("The changes were saved."),
        (None, None) => None,
    };
    let context = json!({
        "q": search.q,
        "speciality": search.speciality,
        "specialities": specialities,
        "doctors": found.items,
        "total": found.total,
        "notice": notice,
    });
    state.templates.page(
        StatusCode::OK,
        "console_doctors.html",
        console_layout(&session, "doctors", context),
    )
}

/// The form as typed; the check boxes are present when ticked.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    speciality: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    available: Option<String>,
    #[serde(default)]
    auto_approve: Option<String>,
}

fn ticked(on: bool) -> Option<String> {
    on.then(|| "on".to_owned())
}

impl DoctorForm {
    fn of(doctor: Doctor) -> Self {
        Self {
            name: doctor.name,
            email: doctor.email,
            phone: doctor.phone,
            speciality: doctor.speciality,
            gender: doctor.gender.unwrap_or_default(),
            slot_minutes: doctor.slot_minutes.to_string(),
            timezone: doctor.timezone.unwrap_or_default(),
            available: ticked(doctor.available),
            auto_approve: ticked(doctor.auto_approve),
        }
    }

    /// The API's body. The form has every editable field, so a full update loses nothing;
    /// a field left empty is left out and takes the API's default.
    fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name.trim(),
            "email": self.email.trim(),
            "phone": self.phone.trim(),
            "speciality": self.speciality.trim(),
            "available": self.available.is_some(),
            "autoApprove": self.auto_approve.is_some(),
        });
        if !self.gender.is_empty() {
            body["gender"] = json!(self.gender);
        }
        let minutes = self.slot_minutes.trim();
        if !minutes.is_empty() {
            // Not a number: sent as typed, and the API names the field.
            body["slotMinutes"] = minutes
                .parse::<u32>()
                .map_or_else(|_| json!(minutes), |m| json!(m));
        }
        if !self.timezone.trim().is_empty() {
            body["timezone"] = json!(self.timezone.trim());
        }
        body
    }
}

fn form_page(
    state: &AppState,
    session: &Session,
    id: Option<i64>,
    form: &DoctorForm,
    failure: Option<&ApiError>,
) -> Response {
    let genders: Vec<Value> = GENDERS
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect();
    let mut context = json!({"id": id, "form": form, "genders": genders, "errors": {}});
    if let Some(err) = failure {
        context = crate::pages::merge(context, failure_context(err));
    }
    state.templates.page(
        failure.map_or(StatusCode::OK, ApiError::status),
        "console_doctor_form.html",
        console_layout(session, "doctors", context),
    )
}

pub async fn new(State(state): State<AppState>, Admin(session): Admin) -> Response {
    let form = DoctorForm {
        available: ticked(true),
        ..DoctorForm::default()
    };
    form_page(&state, &session, None, &form, None)
}

pub async fn create(
    State(state): State<AppState>,
    AdminForm(session, form): AdminForm<DoctorForm>,
) -> Response {
    let created: Result<Doctor, _> = state
        .api
        .send(&session, Method::POST, "/api/doctors", Some(&form.body()))
        .await;
    match created {
        Ok(doctor) => see_other(&format!("/console/doctors?added={}", doctor.id)),
        Err(err @ ApiError::Refused { .. }) => form_page(&state, &session, None, &form, Some(&err)),
        Err(err) => state.problem_page(&err),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<i64>,
) -> Response {
    match state
        .api
        .get::<Doctor>(&session, format!("/api/doctors/{id}"))
        .await
    {
        Ok(doctor) => form_page(&state, &session, Some(id), &DoctorForm::of(doctor), None),
        Err(err) => state.problem_page(&err),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm(session, form): AdminForm<DoctorForm>,
) -> Response {
    let path = format!("/api/doctors/{id}");
    let saved: Result<Doctor, _> = state
        .api
        .send(&session, Method::PUT, &path, Some(&form.body()))
        .await;
    match saved {
        Ok(doctor) => see_other(&format!("/console/doctors?saved={}", doctor.id)),
        Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
            form_page(&state, &session, Some(id), &form, Some(&err))
        }
        Err(err) => state.problem_page(&err),
    }
}
