//! `carebook analytics-rebuild`: the read models emptied and built again from every
//! publishing service's outbox history, in one transaction, so readers see the old figures
//! until the new ones are complete. Applying an event is idempotent per fact (newest version
//! wins), so live consumers may keep running: an event they apply before or after the rebuild
//! ends the same.

use anyhow::Context;
use jiff::tz::TimeZone;
use platform::config::Service;
use platform::db::Db;
use platform::events::Batch;
use platform::outbox::Envelope;
use sqlx::AssertSqlSafe;

use crate::handler::AnalyticsHandler;
use crate::store::TABLES;

/// Outbox rows read at a time.
const PAGE: i64 = 1000;

/// What a rebuild replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Events replayed, per source service.
    pub events: Vec<(Service, u64)>,
}

/// Rebuilds the read models in `analytics` from the outboxes of `sources` (each publishing
/// service and its database URL), reading days in `zone`.
pub async fn rebuild(
    analytics: &Db,
    sources: &[(Service, String)],
    zone: &TimeZone,
) -> anyhow::Result<Rebuilt> {
    let handler = AnalyticsHandler::new(zone.clone());
    let mut tx = analytics.begin().await?;
    for table in TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    let mut rebuilt = Rebuilt::default();
    for (service, url) in sources {
        let source = Db::connect(url)
            .await
            .with_context(|| format!("connecting to the {service} database"))?;
        let mut after = 0_i64;
        let mut replayed = 0_u64;
        loop {
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(PAGE)
                    .fetch_all(source.pool())
                    .await
                    .with_context(|| format!("reading the {service} outbox"))?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            after = *last;
            let events = rows
                .iter()
                .map(|(id, payload)| {
                    serde_json::from_str::<Envelope>(payload)
                        .with_context(|| format!("{service} outbox row {id}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let page: Vec<&Envelope> = events.iter().collect();
            handler.apply_all(&mut tx, Batch::current(&page)).await?;
            replayed += page.len() as u64;
        }
        source.close().await;
        tracing::info!(%service, events = replayed, "outbox replayed");
        rebuilt.events.push((*service, replayed));
    }
    tx.commit().await?;
    Ok(rebuilt)
}

/// The services that publish events, whose outboxes hold the history.
pub const PUBLISHERS: [Service; 5] = [
    Service::Patients,
    Service::Doctors,
    Service::Appointments,
    Service::Billing,
    Service::Records,
];
