//! The patient's invoices: what each visit (or a late-cancellation or missed-visit fee) costs,
//! whether it is paid, and paying one that is due. Paying records a card payment with
//! `POST /api/billing/invoices/{id}/pay`, the one way the API takes a patient's payment without
//! the card provider's own script in the page (a checkout needs it, and pages load nothing from
//! another server).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::api::ApiError;
use crate::auth::Nothing;
use crate::extract::{SessionForm, SignedIn};
use crate::pages::{Page, layout, merge};
use crate::patient::{Appointment, doctor_names};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

/// How the web app pays: the payment type the API accepts from a patient as it is.
const PAYMENT_TYPE: &str = "CARD";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invoice {
    id: i64,
    appointment_id: i64,
    /// Minor units of `currency`.
    amount: i64,
    currency: String,
    payment_status: String,
    #[serde(default)]
    kind: Option<String>,
    created_at: Timestamp,
    #[serde(default)]
    paid_at: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
struct InvoiceView {
    id: i64,
    amount: String,
    what: String,
    issued: String,
    status: String,
    status_label: String,
    payable: bool,
}

/// Currencies without minor units (ISO 4217 exponent 0) that a clinic may bill in.
const WHOLE_UNITS: [&str; 6] = ["JPY", "KRW", "ISK", "CLP", "VND", "UGX"];

/// "CHF 123.45" from 12345 minor units.
fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let units = amount.unsigned_abs();
    if WHOLE_UNITS.contains(&currency) {
        format!("{currency} {sign}{units}")
    } else {
        format!("{currency} {sign}{}.{:02}", units / 100, units % 100)
    }
}

fn kind_label(kind: Option<&str>) -> &'static str {
    match kind {
        Some("LATE_CANCELLATION_FEE") => "Late-cancellation fee",
        Some("NO_SHOW_FEE") => "Missed-visit fee",
        _ => "Visit",
    }
}

fn view(
    invoice: &Invoice,
    visits: &HashMap<i64, String>,
    zone: &jiff::tz::TimeZone,
) -> InvoiceView {
    let visit = visits
        .get(&invoice.appointment_id)
        .cloned()
        .unwrap_or_else(|| format!("appointment #{}", invoice.appointment_id));
    let status_label = match (invoice.payment_status.as_str(), invoice.paid_at) {
        ("PENDING", _) => "To pay".to_owned(),
        ("PAID", Some(at)) => format!("Paid on {}", time::day_label(time::local_date(at, zone))),
        ("PAID", None) => "Paid".to_owned(),
        ("VOID", _) => "Cancelled — nothing to pay".to_owned(),
        _ => "Unknown".to_owned(),
    };
    InvoiceView {
        id: invoice.id,
        amount: money(invoice.amount, &invoice.currency),
        what: format!("{}: {visit}", kind_label(invoice.kind.as_deref())),
        issued: time::when(invoice.created_at, zone),
        status: invoice.payment_status.clone(),
        status_label,
        payable: invoice.payment_status == "PENDING",
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PaidNotice {
    paid: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(notice): Query<PaidNotice>,
) -> Response {
    let notice = notice.paid.map(|_| "Thank you: the invoice is paid.");
    list_page(&state, &session, notice, None).await
}

async fn list_page(
    state: &AppState,
    session: &Session,
    notice: Option<&str>,
    failure: Option<&ApiError>,
) -> Response {
    let Some(patient_id) = session.patient_id else {
        return see_other("/");
    };
    let invoices = state
        .api
        .get::<Page<Invoice>>(session, "/api/billing/invoices?size=100");
    let visits_path = format!("/api/appointments?patientId={patient_id}&size=100");
    let visits = state.api.get::<Page<Appointment>>(session, &visits_path);
    let (invoices, visits, names) =
        match tokio::try_join!(invoices, visits, doctor_names(state, session)) {
            Ok(all) => all,
            Err(err) => return state.problem_page(&err),
        };
    let zone = time::zone(&session.time_zone);
    let visits: HashMap<i64, String> = visits
        .items
        .iter()
        .map(|a| {
            let doctor = names
                .get(&a.doctor_id)
                .cloned()
                .unwrap_or_else(|| format!("Doctor #{}", a.doctor_id));
            let when = time::when(a.appointment_date, &zone);
            (a.id, format!("{doctor}, {when} ({})", session.time_zone))
        })
        .collect();
    let (due, settled): (Vec<_>, Vec<_>) = invoices
        .items
        .iter()
        .map(|i| view(i, &visits, &zone))
        .partition(|v| v.payable);
    let context = json!({
        "due": due,
        "settled": settled,
        "zone": session.time_zone,
        "notice": notice,
        "error": failure.map(pay_refusal),
    });
    let status = failure.map_or(StatusCode::OK, ApiError::status);
    state.templates.page(
        status,
        "invoices.html",
        merge(layout(session, "invoices"), context),
    )
}

/// The API's refusal, in a patient's words where its own are a developer's.
fn pay_refusal(err: &ApiError) -> String {
    if err.status() == StatusCode::CONFLICT {
        "This invoice cannot be paid: it is already paid, or it was cancelled.".to_owned()
    } else {
        err.message()
    }
}

pub async fn pay(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(session, Nothing {}): SessionForm<Nothing>,
) -> Response {
    let body = json!({"paymentType": PAYMENT_TYPE});
    let path = format!("/api/billing/invoices/{id}/pay");
    let paid: Result<serde_json::Value, _> = state
        .api
        .send(&session, Method::POST, &path, Some(&body))
        .await;
    match paid {
        Ok(_) => see_other(&format!("/invoices?paid={id}")),
        Err(err @ ApiError::Refused { .. }) if err.status() != StatusCode::NOT_FOUND => {
            list_page(&state, &session, None, Some(&err)).await
        }
        Err(err) => state.problem_page(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn amounts_are_shown_in_major_units() {
        assert_eq!(money(12345, "CHF"), "CHF 123.45");
        assert_eq!(money(5000, "EUR"), "EUR 50.00");
        assert_eq!(money(7, "EUR"), "EUR 0.07");
        assert_eq!(money(5000, "JPY"), "JPY 5000");
        assert_eq!(money(-250, "EUR"), "EUR -2.50");
    }
}
