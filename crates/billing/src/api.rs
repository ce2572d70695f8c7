//! Routes of the billing service (API.md "Billing").

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use contracts::billing::{Invoice, InvoiceFilter, Payment};
use platform::audit::{Action, AuditContext};
use platform::docs::{BadQuery, BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::{ApiError, FieldError, Problem, Result};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::policy;
use crate::store::{ListFilter, Sealed};

#[derive(OpenApi)]
#[openapi(
    components(schemas(Problem, FieldError)),
    tags((name = "billing", description = "Invoices of appointments, and their payment"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    use crate::payments::api::{self as payments, MAX_WEBHOOK_BYTES};
    // The provider's events are small; the route's own limit overrides the service's.
    let webhook = OpenApiRouter::new()
        .routes(routes!(payments::payment_webhook))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(pay))
        .routes(routes!(payments::checkout))
        .merge(webhook)
}

/// Invoices, newest first (ADMIN: all; a patient: their own).
///
/// A patient naming another `patientId` gets `403`; doctors see no invoices.
#[utoipa::path(get, path = "/api/billing/invoices", tag = "billing",
    params(InvoiceFilter, PageParams),
    responses((status = 200, body = Page<Invoice>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    ctx: AuditContext,
    Query(filter): Query<InvoiceFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Invoice>>> {
    let page = page.validate()?;
    let asked = ListFilter {
        patient_id: filter.patient_id,
        payment_status: filter.payment_status,
    };
    let scoped = policy::scope_list(&ctx.principal, asked.clone());
    let scoped = match scoped {
        Ok(scoped) => scoped,
        Err(refused) => {
            let outcome = platform::audit::Outcome::Denied;
            let audit = state.store.audit();
            audit
                .record(&ctx, asked.patient_id, Action::List, "invoice", outcome)
                .await?;
            return Err(refused);
        }
    };
    let (items, total) = state.store.list(&scoped, page).await?;
    let listed = items
        .iter()
        .map(|i| (Some(i.patient_id), format!("invoice/{}", i.id)));
    state.store.audit().record_page(&ctx, listed).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

/// One invoice (ADMIN; its patient). `404` to anyone else.
#[utoipa::path(get, path = "/api/billing/invoices/{id}", tag = "billing",
    params(("id" = platform::schema::Id, Path, description = "Invoice id")),
    responses((status = 200, body = Invoice), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Invoice>> {
    let sealed = find(&state, id).await?;
    let patient = Some(sealed.patient_id());
    let resource = format!("invoice/{id}");
    let result = policy::may_read(&ctx.principal, &sealed).map(|proof| sealed.open(proof));
    let invoice = state
        .store
        .audit()
        .outcome(&ctx, patient, Action::Read, &resource, result)
        .await?;
    Ok(axum::Json(invoice))
}

/// Pay a `PENDING` invoice (ADMIN; its patient): `CARD`, `CASH` or `INSURANCE`.
///
/// `409` when the invoice is not `PENDING` (paid already, or void); `404` to anyone but ADMIN
/// and the invoice's patient.
#[utoipa::path(post, path = "/api/billing/invoices/{id}/pay", tag = "billing",
    params(("id" = platform::schema::Id, Path, description = "Invoice id")),
    request_body = Payment,
    responses((status = 200, body = Invoice), BadRequest, NotFound, Conflict))]
pub async fn pay(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Json(payment): Json<Payment>,
) -> Result<axum::Json<Invoice>> {
    let sealed = find(&state, id).await?;
    let patient = Some(sealed.patient_id());
    let resource = format!("invoice/{id}");
    let audit = state.store.audit();
    let proof = match policy::may_pay(&ctx.principal, &sealed) {
        Ok(proof) => proof,
        Err(refused) => {
            return audit
                .outcome(&ctx, patient, Action::Update, &resource, Err(refused))
                .await;
        }
    };
    let paid = state
        .store
        .pay(proof, payment.payment_type, &ctx, state.clock.now())
        .await?;
    match paid {
        Some(invoice) => {
            tracing::info!(invoice_id = invoice.id, "invoice paid");
            Ok(axum::Json(invoice))
        }
        None => {
            let conflict = Err(ApiError::Conflict(
                "Only a PENDING invoice can be paid.".to_owned(),
            ));
            audit
                .outcome(&ctx, patient, Action::Update, &resource, conflict)
                .await
        }
    }
}

pub(crate) async fn find(state: &AppState, id: i64) -> Result<Sealed> {
    state
        .store
        .find(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("No such invoice.".to_owned()))
}
