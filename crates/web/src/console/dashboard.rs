//! The console's dashboard: the figures of the last weeks — bookings per day as a chart with
//! the numbers in a table beside it, the rates, per doctor and per speciality — and the doctors,
//! each with a link to their day.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, console_layout, picked_date};
use crate::AppState;
use crate::pages::Page;
use crate::time;

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    key: String,
    total: i64,
    #[serde(default)]
    approved: i64,
    #[serde(default)]
    cancelled: i64,
    #[serde(default)]
    no_show: i64,
}

#[derive(Debug, Deserialize, Serialize)]
struct Doctor {
    id: i64,
    name: String,
    speciality: String,
}

/// The dates as typed: an empty one is the default, anything but a date is refused in words.
#[derive(Debug, Deserialize)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Days shown by default: the last four weeks and the next two.
const DAYS_BACK: i64 = 28;
const DAYS_AHEAD: i64 = 14;

pub async fn dashboard(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(range): Query<Range>,
) -> Response {
    let (Ok(from), Ok(to)) = (picked_date(&range.from), picked_date(&range.to)) else {
        return state.message_page(
            StatusCode::BAD_REQUEST,
            "That is not a date",
            "Enter the dates as year-month-day, for example 2026-12-01.",
        );
    };
    let zone = time::zone(&session.time_zone);
    let today = time::today(&zone);
    let from = from.unwrap_or_else(|| time::add_days(today, -DAYS_BACK));
    let to = to
        .unwrap_or_else(|| time::add_days(today, DAYS_AHEAD))
        .max(from);
    let span = format!("from={from}&to={to}");
    let summary = state
        .api
        .get::<Value>(&session, format!("/api/analytics/summary?{span}"));
    let by_day = state.api.get::<Vec<Group>>(
        &session,
        format!("/api/analytics/appointments?groupBy=day&{span}"),
    );
    let by_doctor = state.api.get::<Vec<Group>>(
        &session,
        format!("/api/analytics/appointments?groupBy=doctor&{span}"),
    );
    let by_speciality = state.api.get::<Vec<Group>>(
        &session,
        format!("/api/analytics/appointments?groupBy=speciality&{span}"),
    );
    let doctors = state
        .api
        .get::<Page<Doctor>>(&session, "/api/doctors?size=100");
    let (summary, by_day, by_doctor, by_speciality, doctors) =
        match tokio::try_join!(summary, by_day, by_doctor, by_speciality, doctors) {
            Ok(all) => all,
            Err(err) => return state.problem_page(&err),
        };
    let names: std::collections::HashMap<String, &str> = doctors
        .items
        .iter()
        .map(|d| (d.id.to_string(), d.name.as_str()))
        .collect();
    let by_doctor: Vec<Value> = by_doctor
        .iter()
        .map(|g| {
            let name = names.get(&g.key).copied().unwrap_or(g.key.as_str());
            json!({"key": name, "total": g.total, "approved": g.approved, "cancelled": g.cancelled, "no_show": g.no_show})
        })
        .collect();
    let context = json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "summary": summary,
        "rates": rates(&summary),
        "chart": bar_chart(&by_day),
        "by_day": by_day,
        "by_doctor": by_doctor,
        "by_speciality": by_speciality,
        "doctors": doctors.items,
    });
    state.templates.page(
        StatusCode::OK,
        "console.html",
        console_layout(&session, "dashboard", context),
    )
}

/// The summary's rates as percentages with one decimal.
fn rates(summary: &Value) -> Value {
    let percent = |name: &str| {
        summary[name]
            .as_f64()
            .map(|r| format!("{:.1} %", r * 100.0))
            .unwrap_or_else(|| "–".to_owned())
    };
    json!({
        "cancellation": percent("cancellationRate"),
        "late_cancellation": percent("lateCancellationRate"),
        "no_show": percent("noShowRate"),
    })
}

/// Bars of bookings per day, laid out for an inline SVG: the numbers are also in the table.
fn bar_chart(days: &[Group]) -> Value {
    const HEIGHT: f64 = 120.0;
    const BAR: f64 = 14.0;
    const GAP: f64 = 4.0;
    let max = days.iter().map(|d| d.total).max().unwrap_or(0).max(1) as f64;
    let bars: Vec<Value> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let height = (d.total as f64 / max * HEIGHT).round();
            json!({
                "x": i as f64 * (BAR + GAP),
                "y": HEIGHT - height,
                "width": BAR,
                "height": height,
                "label": format!("{}: {}", d.key, d.total),
            })
        })
        .collect();
    json!({
        "width": (days.len().max(1) as f64) * (BAR + GAP),
        "height": HEIGHT,
        "bars": bars,
    })
}
