//! Console: the audit log — who read or changed which patient's data, when, through which
//! endpoint and with what outcome — searched by patient, actor and dates, newest first.
//!
//! The table shows ids, not names: looking names up would itself read (and audit) every
//! patient listed.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Admin, console_layout, picked_date, start_of};
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{Page, query};
use crate::time;

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    at: Timestamp,
    service: String,
    actor_id: i64,
    actor_role: String,
    patient_id: Option<i64>,
    action: String,
    resource: String,
    outcome: String,
    endpoint: String,
}

#[derive(Debug, Serialize)]
struct Row {
    at: String,
    service: String,
    actor: String,
    patient_id: Option<i64>,
    action: String,
    resource: String,
    outcome: String,
    endpoint: String,
}

/// The search as typed; the fields carry the API's names.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    #[serde(default)]
    patient_id: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default, skip_serializing)]
    page: Option<i64>,
}

/// The API's filters for `search`, or the fields the reader must correct.
fn filters(
    search: &Search,
    zone: &jiff::tz::TimeZone,
) -> Result<Vec<(&'static str, String)>, BTreeMap<&'static str, &'static str>> {
    let mut errors = BTreeMap::new();
    let mut pairs = Vec::new();
    for (name, raw) in [
        ("patientId", &search.patient_id),
        ("actorId", &search.actor_id),
    ] {
        match raw.trim() {
            "" => {}
            id if id.parse::<i64>().is_ok() => pairs.push((name, id.to_owned())),
            _ => {
                errors.insert(name, "Enter the number of the account, for example 12.");
            }
        }
    }
    for (name, raw, days_later) in [("from", &search.from, 0), ("to", &search.to, 1)] {
        match picked_date(raw) {
            // `to` takes in the whole of its day.
            Ok(Some(date)) => {
                if let Some(at) = start_of(time::add_days(date, days_later), zone) {
                    pairs.push((name, at.to_string()));
                }
            }
            Ok(None) => {}
            Err(message) => {
                errors.insert(name, message);
            }
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(errors)
    }
}

pub async fn search(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(search): Query<Search>,
) -> Response {
    let zone = time::zone(&session.time_zone);
    let page = search.page.unwrap_or(0).max(0);
    let (found, errors, status) = match filters(&search, &zone) {
        Err(errors) => (None, json!(errors), StatusCode::BAD_REQUEST),
        Ok(mut pairs) => {
            pairs.push(("page", page.to_string()));
            pairs.push(("size", PAGE_SIZE.to_string()));
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let path = format!("/api/audit?{}", query(&borrowed));
            match state.api.get::<Page<Entry>>(&session, path).await {
                Ok(found) => (Some(found), json!({}), StatusCode::OK),
                Err(err @ ApiError::Refused { .. }) if !err.field_messages().is_empty() => {
                    (None, json!(err.field_messages()), err.status())
                }
                Err(err) => return state.problem_page(&err),
            }
        }
    };
    let total = found.as_ref().map_or(0, |f| f.total);
    let rows: Vec<Row> = found
        .map(|f| f.items)
        .unwrap_or_default()
        .into_iter()
        .map(|e| Row {
            at: e
                .at
                .to_zoned(zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
            service: e.service,
            actor: format!("{} #{}", e.actor_role, e.actor_id),
            patient_id: e.patient_id,
            action: e.action,
            resource: e.resource,
            outcome: e.outcome,
            endpoint: e.endpoint,
        })
        .collect();
    let page_link = |n: i64| {
        let n = n.to_string();
        let pairs = [
            ("patientId", search.patient_id.trim()),
            ("actorId", search.actor_id.trim()),
            ("from", search.from.trim()),
            ("to", search.to.trim()),
            ("page", n.as_str()),
        ];
        format!("/console/audit?{}", query(&pairs))
    };
    let context = json!({
        "search": search,
        "entries": rows,
        "total": total,
        "errors": errors,
        "zone": session.time_zone,
        "page_number": page + 1,
        "previous": (page > 0).then(|| page_link(page - 1)),
        "next": ((page + 1) * PAGE_SIZE < total).then(|| page_link(page + 1)),
    });
    state.templates.page(
        status,
        "console_audit.html",
        console_layout(&session, "audit", context),
    )
}
