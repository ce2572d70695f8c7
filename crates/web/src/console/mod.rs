//! The clinic console (ADMIN): the dashboard, doctors and patients (search, create, edit),
//! every appointment (filter, book on behalf of a patient, cancel), the audit log and webhooks.
//!
//! The pages hold no privilege: they call the API with the ADMIN's own token and the API
//! decides. Other roles are shown the "not allowed" page up front rather than a page of
//! refusals — [`Admin`] and [`AdminForm`] are how a handler gets the session, so a console
//! handler cannot forget the check.

mod appointments;
mod audit;
mod booking;
mod dashboard;
mod doctors;
mod patients;
mod webhooks;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
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
        .route("/console/appointments", get(appointments::list))
        .route(
            "/console/appointments/{id}/cancel",
            get(appointments::cancel_page).post(appointments::cancel),
        )
        .route("/console/book", get(booking::pick).post(booking::book))
        .route("/console/audit", get(audit::search))
        .route(
            "/console/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/console/webhooks/{id}/delete", post(webhooks::delete))
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

/// An id picked in a filter; empty (or not a number) is none.
fn picked_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// A date typed in a filter: empty is none, anything but `YYYY-MM-DD` is a mistake.
fn picked_date(raw: &str) -> Result<Option<Date>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| "Enter a date as year-month-day, for example 2026-12-01.")
}

/// The first instant of `date` in `zone` (midnight may not exist on a DST day; jiff moves on).
fn start_of(date: Date, zone: &TimeZone) -> Option<Timestamp> {
    date.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filters_date_is_a_calendar_date_or_nothing() {
        assert_eq!(picked_date(" "), Ok(None));
        assert_eq!(
            picked_date("2026-12-01"),
            Ok(Some(jiff::civil::date(2026, 12, 1)))
        );
        assert!(picked_date("01/12/2026").is_err());
        assert_eq!(picked_id(""), None);
        assert_eq!(picked_id("12"), Some(12));
    }
}
