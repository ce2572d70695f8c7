//! The two card-payment routes: a checkout for the invoice's patient or ADMIN, and the
//! provider's webhook, which carries no token and is believed only for its signature.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use contracts::billing::{Checkout, PaymentStatus, WebhookOutcome, WebhookReceipt};
use platform::audit::{Action, AuditContext};
use platform::auth::{Principal, Role};
use platform::docs::{BadQuery, BadRequest, Conflict, NotFound};
use platform::server::REQUEST_ID;
use platform::{ApiError, Result};

use super::signature::HEADER;
use super::{Payments, ProviderEvent};
use crate::AppState;
use crate::policy;
use crate::store::Settlement;

/// A provider event as the webhook receives it (Stripe's event object; only
/// `payment_intent.succeeded` with `data.object.metadata.invoiceId` changes anything). For the
/// document only: the handler reads the raw bytes, which the signature covers.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProviderWebhook {
    /// The provider's event id (`evt_…`).
    #[schema(min_length = 1, max_length = 255)]
    id: String,
    /// e.g. `payment_intent.succeeded`.
    #[schema(rename = "type")]
    event_type: String,
    /// `{"object": <the PaymentIntent>}`.
    #[schema(value_type = Object)]
    data: (),
}

/// Largest webhook body read; the provider's events are a few kilobytes.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;
const WEBHOOK_PATH: &str = "/api/billing/webhooks/payments";

/// Start paying a `PENDING` invoice by card (ADMIN; its patient).
///
/// Creates a PaymentIntent at the payment provider for the invoice's amount, or finds again
/// the one an earlier checkout of the same invoice and amount made, and answers what the client
/// needs to confirm it. The invoice becomes `PAID` when the provider's signed webhook says the
/// card was charged. `409` when the invoice is not `PENDING`, or when card payments are not
/// configured on this deployment (then `pay` records payments); `503` when the provider cannot
/// be reached (nothing changes); `404` to anyone but ADMIN and the invoice's patient.
#[utoipa::path(post, path = "/api/billing/invoices/{id}/checkout", tag = "billing",
    params(("id" = platform::schema::Id, Path, description = "Invoice id")),
    responses((status = 200, body = Checkout), BadQuery, NotFound, Conflict))]
pub async fn checkout(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Checkout>> {
    let sealed = crate::api::find(&state, id).await?;
    let patient = Some(sealed.patient_id());
    let resource = format!("invoice/{id}");
    let audit = state.store.audit();
    let failed =
        |refused: ApiError| audit.outcome(&ctx, patient, Action::Update, &resource, Err(refused));
    let proof = match policy::may_pay(&ctx.principal, &sealed) {
        Ok(proof) => proof,
        Err(refused) => return failed(refused).await,
    };
    let Some(payments) = state.payments.as_deref() else {
        return failed(ApiError::Conflict(
            "Card payments are not configured on this deployment; the clinic records payments \
             with `pay`."
                .to_owned(),
        ))
        .await;
    };
    let invoice = sealed.open(proof.may_read());
    if invoice.payment_status != PaymentStatus::Pending {
        return failed(ApiError::Conflict(
            "Only a PENDING invoice can be paid.".to_owned(),
        ))
        .await;
    }
    let intent = match payments.provider.create_intent(&invoice).await {
        Ok(intent) if intent.amount == invoice.amount => intent,
        outcome => {
            let error = outcome.err().map(|e| e.to_string());
            tracing::warn!(invoice_id = id, ?error, "no payment intent");
            return failed(ApiError::Unavailable(
                "The payment provider is unavailable; nothing was charged. Try again later."
                    .to_owned(),
            ))
            .await;
        }
    };
    if !state
        .store
        .attach_intent(proof, &intent.id, invoice.amount, &ctx)
        .await?
    {
        return failed(ApiError::Conflict(
            "The invoice changed meanwhile; only a PENDING invoice can be paid.".to_owned(),
        ))
        .await;
    }
    tracing::info!(invoice_id = id, "checkout started");
    Ok(axum::Json(Checkout {
        invoice_id: invoice.id,
        payment_intent_id: intent.id,
        client_secret: intent.client_secret,
        amount: invoice.amount,
        currency: invoice.currency,
    }))
}

/// The payment provider's webhook (no token: the provider signs it).
///
/// The `Stripe-Signature` header (`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
/// keyed with `CAREBOOK_PAYMENTS_WEBHOOK_SECRET`) must sign the raw body, at a time within the
/// tolerance (5 minutes by default) of the server's clock. `payment_intent.succeeded` of the
/// intent an invoice's checkout made marks that invoice `PAID` with `CARD`, once. An event id
/// seen before answers `200` `DUPLICATE` and changes nothing; other events answer `200`
/// `IGNORED`. A missing, forged or stale signature, an unreadable event, or a deployment
/// without card payments answers `400` and changes nothing.
#[utoipa::path(post, path = "/api/billing/webhooks/payments", tag = "billing",
    params(("Stripe-Signature" = String, Header,
        description = "`t=<unix time>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`")),
    request_body = ProviderWebhook,
    responses((status = 200, body = WebhookReceipt), BadRequest))]
pub async fn payment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<WebhookReceipt>> {
    let payments: &Payments = state.payments.as_deref().ok_or_else(|| {
        ApiError::Malformed(
            "Card payments are not configured on this deployment: no webhook signature can be \
             verified."
                .to_owned(),
        )
    })?;
    let signature = headers.get(HEADER).and_then(|v| v.to_str().ok());
    let now = state.clock.now();
    let signed = payments
        .verifier
        .verify(signature, &body, now)
        .map_err(|refusal| {
            tracing::warn!(?refusal, "payment webhook refused");
            ApiError::Malformed(refusal.detail().to_owned())
        })?;
    let event = ProviderEvent::parse(&body).map_err(ApiError::Malformed)?;
    let ctx = provider_context(&headers);
    let outcome = match state.store.settle(signed, &event, &ctx, now).await? {
        Settlement::Paid(invoice) => {
            tracing::info!(invoice_id = invoice.id, "invoice paid by card");
            WebhookOutcome::Paid
        }
        Settlement::Duplicate => WebhookOutcome::Duplicate,
        Settlement::Ignored => {
            if let Some(paid) = event.succeeded() {
                // The card was charged, but not for a PENDING invoice's checkout (voided or
                // paid meanwhile, or another amount): the clinic refunds it at the provider.
                tracing::warn!(
                    invoice_id = paid.invoice_id,
                    provider_event = %event.id,
                    "a card payment that pays no pending invoice"
                );
            }
            WebhookOutcome::Ignored
        }
    };
    Ok(axum::Json(WebhookReceipt {
        event_id: event.id,
        outcome,
    }))
}

/// The payment provider as the audit trail's actor: no user (id 0), role `SERVICE`.
fn provider_context(headers: &HeaderMap) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 0,
            role: Role::Service,
            patient_id: None,
            doctor_id: None,
        },
        endpoint: format!("POST {WEBHOOK_PATH}"),
        request_id: headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}
