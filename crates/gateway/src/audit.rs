//! `GET /api/audit` at the gateway: each service keeps the audit trail of the patient data it
//! holds, so the gateway asks every one of them (with the caller's token, so each checks
//! ADMIN itself) and merges their answers, newest first.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use platform::audit::{AuditEntry, AuditQuery};
use platform::client::{Forwarded, ServiceClient};
use platform::config::Service;
use platform::page::{Page, PageParams};
use platform::{ApiError, Result};

/// The services that hold patient data and keep a trail of it.
pub(crate) const AUDITED: [Service; 5] = [
    Service::Patients,
    Service::Appointments,
    Service::Notifications,
    Service::Billing,
    Service::Records,
];

/// Deeper pages would make every service return more rows than anyone reads; narrow with
/// `from`/`to` instead.
const MAX_DEPTH: u32 = 1000;

#[derive(Clone)]
pub(crate) struct Trails(Vec<ServiceClient>);

impl Trails {
    pub(crate) fn new(instances: impl Fn(Service) -> Vec<String>, timeout: Duration) -> Self {
        let clients = AUDITED
            .iter()
            .filter_map(|s| ServiceClient::new(s.name(), instances(*s), timeout).ok())
            .collect();
        Self(clients)
    }
}

pub(crate) fn routes(trails: Trails) -> Router {
    Router::new()
        .route("/api/audit", get(merged))
        .with_state(trails)
}

async fn merged(
    State(trails): State<Trails>,
    forwarded: Forwarded,
    Query(query): Query<AuditQuery>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<AuditEntry>>> {
    let page = page.validate()?;
    let depth = (page.page + 1) * page.size;
    if depth > MAX_DEPTH {
        return Err(ApiError::invalid(
            "page",
            format!("pages end at {MAX_DEPTH} entries; narrow the range with from/to"),
        ));
    }
    let trails_read = trails
        .0
        .iter()
        .map(|client| read_trail(client, &query, depth, &forwarded));
    let mut items = Vec::new();
    let mut total = 0;
    for trail in futures::future::join_all(trails_read).await {
        let (entries, count) = trail?;
        total += count;
        items.extend(entries);
    }
    items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.service.cmp(&b.service)));
    let start = (page.page * page.size) as usize;
    let items = items
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    Ok(Json(Page::new(items, page, total)))
}

/// The newest `depth` entries of one service's trail matching the caller's filters, and how
/// many match in all.
async fn read_trail(
    client: &ServiceClient,
    query: &AuditQuery,
    depth: u32,
    forwarded: &Forwarded,
) -> Result<(Vec<AuditEntry>, i64)> {
    const PAGE: u32 = 100;
    let filters = [
        ("patientId", query.patient_id.map(|id| id.to_string())),
        ("actorId", query.actor_id.map(|id| id.to_string())),
        ("from", query.from.clone()),
        ("to", query.to.clone()),
    ];
    let mut entries = Vec::new();
    let mut total = 0;
    for page in 0..depth.div_ceil(PAGE) {
        let mut pairs: Vec<(&str, String)> =
            vec![("page", page.to_string()), ("size", PAGE.to_string())];
        pairs.extend(
            filters
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| (*k, v))),
        );
        let encoded =
            serde_urlencoded::to_string(&pairs).map_err(|err| ApiError::Internal(err.into()))?;
        let Some(trail) = client
            .get::<Page<AuditEntry>>(&format!("/api/audit?{encoded}"), forwarded)
            .await?
        else {
            break;
        };
        total = trail.total;
        let full = trail.items.len() == PAGE as usize;
        entries.extend(trail.items);
        if !full {
            break;
        }
    }
    Ok((entries, total))
}
