use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::{AuditEntry, AuditLog, AuditQuery};
use crate::auth::{Principal, Role};
use crate::docs::BadQuery;
use crate::page::{Page, PageParams};

/// Who read or changed which patient's data (ADMIN). Each service answers for its own
/// accesses; the gateway merges them.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    params(AuditQuery, PageParams),
    responses((status = 200, body = Page<AuditEntry>), BadQuery))]
pub async fn list(
    State(log): State<AuditLog>,
    principal: Principal,
    Query(query): Query<AuditQuery>,
    Query(page): Query<PageParams>,
) -> crate::Result<Json<Page<AuditEntry>>> {
    principal.require(&[Role::Admin])?;
    let filter = query.validate()?;
    let page = page.validate()?;
    let (items, total) = log.search(&filter, page).await?;
    Ok(Json(Page::new(items, page, total)))
}

/// `GET /api/audit` over this service's own trail.
pub fn router(log: AuditLog) -> Router {
    Router::new().route("/api/audit", get(list)).with_state(log)
}

#[derive(OpenApi)]
#[openapi(
    paths(list),
    // Parameter types are not collected from the paths; their components are listed here.
    components(schemas(crate::schema::Instant)),
    tags((name = "audit", description = "Who read or changed which patient's data"))
)]
pub struct AuditApi;
