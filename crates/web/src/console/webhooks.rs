//! Console: webhooks — the subscriptions, a new one (URL, event types, shared secret), and
//! deleting one. The secret is never shown again, not even on a form sent back to correct.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use contracts::events::types;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Admin, AdminForm, console_layout, failure_context};
use crate::AppState;
use crate::api::ApiError;
use crate::auth::Nothing;
use crate::pages::{Page, merge};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    id: i64,
    url: String,
    events: Vec<String>,
    created_at: Timestamp,
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    added: Option<String>,
    deleted: Option<String>,
}

/// What was typed into the form, but the secret.
#[derive(Debug, Default)]
struct Typed {
    url: String,
    events: Vec<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(notice): Query<Notice>,
) -> Response {
    let notice = match (notice.added, notice.deleted) {
        (Some(_), _) => Some("The webhook was added."),
        (None, Some(_)) => Some("The webhook was deleted."),
        (None, None) => None,
    };
    hooks_page(&state, &session, &Typed::default(), None, notice).await
}

async fn hooks_page(
    state: &AppState,
    session: &Session,
    typed: &Typed,
    failure: Option<&ApiError>,
    notice: Option<&str>,
) -> Response {
    let hooks: Page<Webhook> = match state.api.get(session, "/api/webhooks?size=100").await {
        Ok(hooks) => hooks,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let rows: Vec<Value> = hooks
        .items
        .iter()
        .map(|h| {
            json!({
                "id": h.id,
                "url": h.url,
                "events": h.events.join(", "),
                "created": format!("{} ({})", time::when(h.created_at, &zone), session.time_zone),
            })
        })
        .collect();
    let event_types: Vec<Value> = types::ALL
        .iter()
        .map(|t| json!({"value": t, "checked": typed.events.iter().any(|e| e == t)}))
        .collect();
    let mut context = json!({
        "hooks": rows,
        "url": typed.url,
        "event_types": event_types,
        "errors": {},
        "notice": notice,
    });
    if let Some(err) = failure {
        context = merge(context, failure_context(err));
    }
    state.templates.page(
        failure.map_or(StatusCode::OK, ApiError::status),
        "console_webhooks.html",
        console_layout(session, "webhooks", context),
    )
}

/// The form's pairs: `events` comes once per ticked box.
pub async fn create(
    State(state): State<AppState>,
    AdminForm(session, pairs): AdminForm<Vec<(String, String)>>,
) -> Response {
    let mut typed = Typed::default();
    let mut secret = String::new();
    for (name, value) in pairs {
        match name.as_str() {
            "url" => typed.url = value.trim().to_owned(),
            "events" => typed.events.push(value),
            "secret" => secret = value,
            _ => {}
        }
    }
    let body = json!({"url": typed.url, "events": typed.events, "secret": secret});
    let added: Result<Value, _> = state
        .api
        .send(&session, Method::POST, "/api/webhooks", Some(&body))
        .await;
    match added {
        Ok(_) => see_other("/console/webhooks?added=1"),
        Err(err @ ApiError::Refused { .. }) => {
            hooks_page(&state, &session, &typed, Some(&err), None).await
        }
        Err(err) => state.problem_page(&err),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm(session, Nothing {}): AdminForm<Nothing>,
) -> Response {
    let path = format!("/api/webhooks/{id}");
    match state
        .api
        .send_empty(&session, Method::DELETE, &path, None)
        .await
    {
        Ok(()) => see_other("/console/webhooks?deleted=1"),
        Err(err) => state.problem_page(&err),
    }
}
