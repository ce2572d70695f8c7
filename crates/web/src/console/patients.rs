//! Console: the patients — search by name or e-mail, add one, edit one (with the medical
//! history, which only ADMIN and a caring doctor write).

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminForm, console_layout, failure_context};
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{Page, merge, query};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Patient {
    id: i64,
    name: String,
    email: String,
    phone: String,
    dob: String,
    address: String,
    registration_date: Timestamp,
    medical_history: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    name: String,
    email: String,
    phone: String,
    dob: String,
    registered: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    added: Option<String>,
    saved: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(search): Query<Search>,
) -> Response {
    let filter = query(&[("q", search.q.trim()), ("size", "100")]);
    let found = match state
        .api
        .get::<Page<Patient>>(&session, format!("/api/patients?{filter}"))
        .await
    {
        Ok(found) => found,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let rows: Vec<Row> = found
        .items
        .into_iter()
        .map(|p| Row {
            registered: time::local_date(p.registration_date, &zone).to_string(),
            id: p.id,
            name: p.name,
            email: p.email,
            phone: p.phone,
            dob: p.dob,
        })
        .collect();
    let notice = match (&search.added, &search.saved) {
        (Some(_), _) => Some("The patient was added."),
        (None, Some(_)) => Some("The changes were saved."),
        (None, None) => None,
    };
    let context = json!({
        "q": search.q,
        "patients": rows,
        "total": found.total,
        "notice": notice,
    });
    state.templates.page(
        StatusCode::OK,
        "console_patients.html",
        console_layout(&session, "patients", context),
    )
}

/// The form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    dob: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    medical_history: String,
}

impl PatientForm {
    fn of(patient: Patient) -> Self {
        Self {
            name: patient.name,
            email: patient.email,
            phone: patient.phone,
            dob: patient.dob,
            address: patient.address,
            medical_history: patient.medical_history.unwrap_or_default(),
        }
    }

    /// The API's body: a full update, so the history is sent as it stands (left out when
    /// emptied, which clears it).
    fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name.trim(),
            "email": self.email.trim(),
            "phone": self.phone.trim(),
            "dob": self.dob.trim(),
            "address": self.address.trim(),
        });
        if !self.medical_history.trim().is_empty() {
            body["medicalHistory"] = json!(self.medical_history.trim());
        }
        body
    }
}

fn form_page(
    state: &AppState,
    session: &Session,
    id: Option<i64>,
    form: &PatientForm,
    failure: Option<&ApiError>,
) -> Response {
    let mut context = json!({"id": id, "form": form, "errors": {}});
    if let Some(err) = failure {
        context = merge(context, failure_context(err));
    }
    state.templates.page(
        failure.map_or(StatusCode::OK, ApiError::status),
        "console_patient_form.html",
        console_layout(session, "patients", context),
    )
}

pub async fn new(State(state): State<AppState>, Admin(session): Admin) -> Response {
    form_page(&state, &session, None, &PatientForm::default(), None)
}

pub async fn create(
    State(state): State<AppState>,
    AdminForm(session, form): AdminForm<PatientForm>,
) -> Response {
    let created: Result<Value, _> = state
        .api
        .send(&session, Method::POST, "/api/patients", Some(&form.body()))
        .await;
    match created {
        Ok(patient) => see_other(&format!("/console/patients?added={}", patient["id"])),
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
        .get::<Patient>(&session, format!("/api/patients/{id}"))
        .await
    {
        Ok(patient) => form_page(&state, &session, Some(id), &PatientForm::of(patient), None),
        Err(err) => state.problem_page(&err),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm(session, form): AdminForm<PatientForm>,
) -> Response {
    let path = format!("/api/patients/{id}");
    let saved: Result<Value, _> = state
        .api
        .send(&session, Method::PUT, &path, Some(&form.body()))
        .await;
    match saved {
        Ok(_) => see_other(&format!("/console/patients?saved={id}")),
        Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
            form_page(&state, &session, Some(id), &form, Some(&err))
        }
        Err(err) => state.problem_page(&err),
    }
}
