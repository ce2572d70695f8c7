//! The signed-in patient's or doctor's notifications inbox: what the clinic told them in the
//! app, newest first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::extract::SignedIn;
use crate::pages::{Page, layout, merge};
use crate::render::see_other;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    channel: String,
    subject: Option<String>,
    message: String,
    created_at: Timestamp,
}

pub async fn inbox(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let (kind, id) = match (session.patient_id, session.doctor_id) {
        (Some(patient), _) => ("PATIENT", patient),
        (None, Some(doctor)) => ("DOCTOR", doctor),
        (None, None) => return see_other("/"),
    };
    let path = format!("/api/notifications?recipientId={id}&recipientType={kind}&size=100");
    let listed: Page<Notification> = match state.api.get(&session, &path).await {
        Ok(listed) => listed,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let mut items: Vec<_> = listed
        .items
        .into_iter()
        .filter(|n| n.channel == "IN_APP")
        .collect();
    items.sort_by_key(|n| std::cmp::Reverse(n.created_at));
    let items: Vec<_> = items
        .into_iter()
        .map(|n| json!({"when": time::when(n.created_at, &zone), "subject": n.subject, "message": n.message}))
        .collect();
    state.templates.page(
        StatusCode::OK,
        "notifications.html",
        merge(layout(&session, "notifications"), json!({"items": items})),
    )
}
