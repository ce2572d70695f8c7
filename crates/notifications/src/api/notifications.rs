use axum::extract::{Query, State};
use axum::http::StatusCode;
use contracts::notifications::{
    Channel, NewNotification, Notification, NotificationFilter, NotificationKind, RecipientType,
};
use platform::audit::{Action, AuditContext, Outcome};
use platform::client::Forwarded;
use platform::docs::{BadQuery, BadRequest, Unprocessable};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::validation::Violations;
use platform::values::{NonBlank, limits};
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::{Facts, NewNotificationRow, Recipient};
use crate::policy;
use crate::store::ListFilter;

/// Notifications, newest first (ADMIN: all; a patient or doctor: their own).
///
/// A patient or doctor always gets their own notifications; naming another recipient
/// (`recipientId` or `recipientType`) is `403`. Until it is delivered, a notification's
/// `message` is the plain title of its kind.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications",
    params(NotificationFilter, PageParams),
    responses((status = 200, body = Page<Notification>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    ctx: AuditContext,
    Query(filter): Query<NotificationFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Notification>>> {
    let page = page.validate()?;
    let asked = ListFilter {
        recipient_type: filter.recipient_type,
        recipient_id: filter.recipient_id,
        status: filter.status,
    };
    let access = match policy::may_list(&ctx.principal, asked.clone()) {
        Ok(access) => access,
        Err(refused) => return Err(audit_refusal(&state, &ctx, &asked, refused).await),
    };
    let (items, total) = state.store.list(&access, page).await?;
    let listed = items
        .iter()
        .filter(|n| n.recipient.kind == RecipientType::Patient)
        .map(|n| (Some(n.recipient.id), format!("notification/{}", n.id)));
    state.audit.record_page(&ctx, listed).await?;
    let items = items.iter().map(|n| n.to_wire(&state.templates)).collect();
    Ok(axum::Json(Page::new(items, page, total)))
}

/// Send a message to a patient or doctor (ADMIN); delivery is asynchronous.
///
/// `422` when the recipient does not exist; `400` when the channel is not configured here.
#[utoipa::path(post, path = "/api/notifications", tag = "notifications",
    request_body = NewNotification,
    responses((status = 202, body = Notification), BadRequest, Unprocessable))]
pub async fn create(
    State(state): State<AppState>,
    ctx: AuditContext,
    forwarded: Forwarded,
    Json(input): Json<NewNotification>,
) -> Result<(StatusCode, axum::Json<Notification>)> {
    let access = policy::may_send(&ctx.principal)?;
    let row = validate(&state, input)?;
    let recipient = row.recipient;
    let result = async {
        if !state.directory.exists(recipient, &forwarded).await? {
            let message = match recipient.kind {
                RecipientType::Patient => "no such patient",
                RecipientType::Doctor => "no such doctor",
            };
            return Err(ApiError::unprocessable("recipientId", message));
        }
        state
            .store
            .insert(access, &row, state.clock.now(), &ctx)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("message key collision")))
    }
    .await;
    // A patient's message is audited inside its transaction; a failure to send one, here.
    let stored = match (result, recipient.kind) {
        (Err(err), RecipientType::Patient) => {
            let patient = Some(recipient.id);
            let failed = Err(err);
            let audited =
                state
                    .audit
                    .outcome(&ctx, patient, Action::Create, "notification", failed);
            audited.await?
        }
        (result, _) => result?,
    };
    tracing::info!(
        notification_id = stored.id,
        channel = stored.channel.as_str(),
        "message queued"
    );
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(stored.to_wire(&state.templates)),
    ))
}

/// Every field checked at once; the message is stored as written and needs no rendering.
fn validate(state: &AppState, input: NewNotification) -> Result<NewNotificationRow> {
    let mut v = Violations::default();
    if input.recipient_id <= 0 {
        v.add("recipientId", "must be a positive id");
    }
    let message = v.check("message", NonBlank::parse(&input.message, limits::MESSAGE));
    let subject = v.check_optional("subject", input.subject, |raw| {
        NonBlank::parse(&raw, limits::SUBJECT)
    });
    let channel = input.channel.unwrap_or(Channel::InApp);
    if !state.channels.is_enabled(channel) {
        v.add(
            "channel",
            format!("{} is not configured on this deployment", channel.as_str()),
        );
    }
    let recipient = Recipient {
        kind: input.recipient_type.unwrap_or(RecipientType::Patient),
        id: input.recipient_id,
    };
    v.finish(message.map(|message| NewNotificationRow {
        recipient,
        channel,
        kind: NotificationKind::Message,
        appointment_id: None,
        facts: Facts::default(),
        subject: subject.map(NonBlank::into_string),
        message: Some(message.into_string()),
        dedupe_key: format!("message:{}", uuid::Uuid::new_v4()),
    }))
}

/// A patient's notifications asked for by someone refused: recorded, then answered.
async fn audit_refusal(
    state: &AppState,
    ctx: &AuditContext,
    asked: &ListFilter,
    refused: ApiError,
) -> ApiError {
    let patient = match asked.recipient_type {
        None | Some(RecipientType::Patient) => asked.recipient_id,
        Some(RecipientType::Doctor) => None,
    };
    if patient.is_some() {
        let outcome = Outcome::Denied;
        let recorded = state
            .audit
            .record(ctx, patient, Action::List, "notification", outcome)
            .await;
        if let Err(err) = recorded {
            return err;
        }
    }
    refused
}
