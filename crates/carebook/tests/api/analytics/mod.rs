//! Analytics end to end, through the gateway: a scripted clinic whose every figure the test
//! computes from its own script, then the same figures after `carebook analytics-rebuild`
//! and after every event is delivered again in shuffled order; on both backends, and in the
//! distributed mode with two analytics consumers. Bad input and the wrong callers are refused.

mod bad_input;
mod expected;
mod scenario;

use std::collections::HashMap;
use std::time::Duration;

use platform::config::{ClinicConfig, Service};
use serde_json::Value;
use sqlx::Connection;

use crate::events::eventually;
use crate::helpers::{Setup, TestApp};

/// The clinic's zone: days are counted here, not in UTC.
pub const ZONE: &str = "America/New_York";
pub const FEE: i64 = 10_000;
/// 40 % of [`FEE`].
pub const LATE_FEE: i64 = 4_000;

/// A clinic in [`ZONE`] charging [`FEE`] a visit and 40 % for a late cancellation or a
/// no-show, whose patients cancel late up to 60 days before.
pub fn clinic(mut setup: Setup) -> Setup {
    setup.clinic = ClinicConfig {
        timezone: platform::time::parse_zone(ZONE).unwrap(),
        cancellation_window: Duration::from_secs(60 * 24 * 3600),
        ..ClinicConfig::default()
    };
    setup.billing_prices = Some(billing::PriceList {
        default_fee: FEE,
        doctor_fees: HashMap::new(),
        service_fees: HashMap::new(),
        late_fee_percent: 40,
        ..billing::PriceList::default()
    });
    setup
}

/// The services whose outboxes hold the history analytics is built from.
const PUBLISHERS: [Service; 5] = [
    Service::Patients,
    Service::Doctors,
    Service::Appointments,
    Service::Billing,
    Service::Records,
];

async fn connect(app: &TestApp, service: Service) -> sqlx::AnyConnection {
    sqlx::AnyConnection::connect(&app.database_urls[&service])
        .await
        .unwrap()
}

/// Every event the publishing services stored, as envelopes.
pub async fn stored_events(app: &TestApp) -> Vec<platform::outbox::Envelope> {
    let mut events = Vec::new();
    for service in PUBLISHERS {
        let mut conn = connect(app, service).await;
        let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        events.extend(rows.iter().map(|(p,)| serde_json::from_str(p).unwrap()));
    }
    events
}

/// Waits until the analytics consumer has handled every stored event (its inbox names each
/// one), so the figures are final.
pub async fn caught_up(app: &TestApp) {
    let expected = stored_events(app).await.len() as i64;
    // One connection for the whole wait: the PostgreSQL server is shared.
    let conn = tokio::sync::Mutex::new(connect(app, Service::Analytics).await);
    eventually(
        &format!("analytics to handle all {expected} events"),
        || async {
            let (handled,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM inbox WHERE consumer = 'analytics'")
                    .fetch_one(&mut *conn.lock().await)
                    .await
                    .unwrap();
            (handled == expected).then_some(())
        },
    )
    .await;
    let _ = conn.into_inner().close().await;
}

/// Runs SQL on the analytics database (to clear its inbox or read models).
pub async fn on_analytics_db(app: &TestApp, statements: &[&str]) {
    let mut conn = connect(app, Service::Analytics).await;
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let _ = conn.close().await;
}

/// `GET path` through the gateway as the admin; the JSON body.
pub async fn figures(app: &TestApp, path: &str) -> Value {
    app.get(path).await.expect(200).body
}
