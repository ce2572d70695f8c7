//! The clinic console (ADMIN): the dashboard, doctors and patients (search, create, edit),
//! every appointment (filter, book on behalf of a patient, cancel), the audit log and webhooks.
//!
//! The pages hold no privilege: they call the API with the ADMIN's own token and the API
//! decides. Other roles are shown the "not allowed" page up front rather than a page of
//! refusals — [`Admin`] and [`AdminForm`] are how a handler gets the session, so a console
//! handler cannot forget the check.

mod dashboard;
mod doctors;
mod patients;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::AppState;
use crate::extract::{SessionForm, SignedIn};
use crate::pages::{layout, merge};
use crate::session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(dashboard::dashboard))
        .route("/console/doctors", get(doctors::list).post(doctors::create))
        .route("/console/doctors/new", get(doctors::new))
        .route(
            "/console/doctors/{id}",
            get(doctors::edit).post(doctors::update),
        )
        .route(
            "/console/patients",
            get(patients::list).post(patients::create),
        )
        .route("/console/patients/new", get(patients::new))
        .route(
            "/console/patients/{id}",
            get(patients::edit).post(patients::update),
        )
}

/// A signed-in ADMIN's session.
pub struct Admin(pub Session);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        if !is_admin(&session) {
            return Err(state.not_allowed());
        }
        Ok(Self(session))
    }
}

/// A signed-in ADMIN's form, its CSRF token checked.
pub struct AdminForm<T>(pub Session, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AdminForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let SessionForm(session, form) = SessionForm::from_request(req, state).await?;
        if !is_admin(&session) {
            return Err(state.not_allowed());
        }
        Ok(Self(session, form))
    }
}

fn is_admin(session: &Session) -> bool {
    session.role == "ADMIN"
}

/// The layout of a console page: the console's own navigation with `part` highlighted.
fn console_layout(session: &Session, part: &str, context: Value) -> Value {
    let mut base = layout(session, "console");
    base["console_section"] = Value::from(part);
    merge(base, context)
}

/// What a failed form needs to show: each field's message, and the message for the page when
/// no field was named.
fn failure_context(err: &crate::api::ApiError) -> Value {
    let errors = err.field_messages();
    let error = if errors.is_empty() {
        err.message()
    } else {
        "Please correct the fields marked below.".to_owned()
    };
    serde_json::json!({"errors": errors, "error": error})
}
