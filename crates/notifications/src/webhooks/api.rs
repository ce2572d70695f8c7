//! `/api/webhooks`: ADMIN manages subscriptions and reads their delivery log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use contracts::events::types;
use contracts::webhooks::{NewWebhook, Webhook, WebhookDelivery};
use platform::auth::Principal;
use platform::docs::{BadQuery, BadRequest, NotFound};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::validation::Violations;
use platform::{ApiError, Result};

use super::{Webhooks, target};
use crate::policy;

const MIN_SECRET: usize = 16;

/// Subscribes a URL to event types. Targets on loopback, link-local or private addresses are
/// refused unless the deployment allows them.
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    responses((status = 201, body = Webhook), BadRequest))]
pub async fn create(
    State(hooks): State<Webhooks>,
    principal: Principal,
    Json(new): Json<NewWebhook>,
) -> Result<(StatusCode, axum::Json<Webhook>)> {
    let access = policy::may_manage_webhooks(&principal)?;
    let mut v = Violations::default();
    let url = v.check("url", target::parse_url(&new.url));
    if let Some(url) = &url
        && let Err(message) = target::check(url, hooks.allow_private).await
    {
        v.add("url", message);
    }
    let mut events: Vec<String> = new.events.iter().map(|e| e.trim().to_owned()).collect();
    events.sort();
    events.dedup();
    if events.is_empty() {
        v.add("events", "must name at least one event type");
    }
    for unknown in events.iter().filter(|e| !types::ALL.contains(&e.as_str())) {
        v.add("events", format!("`{unknown}` is not an event type"));
    }
    if new.secret.chars().count() < MIN_SECRET {
        v.add(
            "secret",
            format!("must be at least {MIN_SECRET} characters"),
        );
    }
    let url = v.finish(url)?;
    let webhook = hooks
        .store
        .insert(
            access,
            url.as_str(),
            &events,
            &new.secret,
            hooks.clock.now(),
        )
        .await?;
    tracing::info!(webhook_id = webhook.id, "webhook subscribed");
    Ok((StatusCode::CREATED, axum::Json(webhook)))
}

/// Live subscriptions, oldest first.
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks",
    params(PageParams),
    responses((status = 200, body = Page<Webhook>), BadQuery))]
pub async fn list(
    State(hooks): State<Webhooks>,
    principal: Principal,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Webhook>>> {
    let access = policy::may_manage_webhooks(&principal)?;
    let page = page.validate()?;
    let (items, total) = hooks.store.list(access, page).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

/// Ends a subscription; deliveries not yet made are dropped.
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks",
    params(("id" = platform::schema::Id, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"), BadQuery, NotFound))]
pub async fn delete(
    State(hooks): State<Webhooks>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let access = policy::may_manage_webhooks(&principal)?;
    if hooks.store.delete(access, id, hooks.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}

/// The delivery log of one subscription, oldest first.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = platform::schema::Id, Path, description = "Webhook id"), PageParams),
    responses((status = 200, body = Page<WebhookDelivery>), BadQuery, NotFound))]
pub async fn deliveries(
    State(hooks): State<Webhooks>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<WebhookDelivery>>> {
    let access = policy::may_manage_webhooks(&principal)?;
    let page = page.validate()?;
    if !hooks.store.exists(access, id).await? {
        return Err(not_found(id));
    }
    let (items, total) = hooks.store.deliveries(access, id, page).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Webhook {id} does not exist."))
}
