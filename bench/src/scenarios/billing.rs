//! billing: how long after a doctor's approval the appointment's invoice is there to see.
//! Each probe books a slot, approves it (as the admin, through the gateway), and from the
//! approval's response polls `GET /api/billing/invoices?patientId=…` (every 5 ms, backing off
//! to 100 ms) until the appointment's invoice is listed. The figure is that wait: the delay a
//! client sees between "approved" and "invoiced". The invoice's `createdAt` minus the approval's
//! response time is kept beside it (when the billing consumer stored it; the same machine's
//! clock on both ends). The approval's path: the doctor service, the appointment service's
//! transaction and outbox, the relay, the event bus (in-process or RabbitMQ), the billing
//! service's consumer. Probes run at a fixed rate with no other load.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Ctx;
use crate::calendar::Booking;
use crate::http::Http;
use crate::load::{self, OpFuture};
use crate::report::{Billing, quantile_ms as ms, round};

/// Approvals per second.
const PROBE_RATE: f64 = 20.0;
const GIVE_UP: Duration = Duration::from_secs(10);

fn poll_interval(waited: Duration) -> Duration {
    match waited.as_millis() {
        0..100 => Duration::from_millis(5),
        100..1000 => Duration::from_millis(20),
        _ => Duration::from_millis(100),
    }
}

/// Delays in microseconds; a probe that saw no invoice within `GIVE_UP` counts as `GIVE_UP`.
struct Delays {
    visible: Histogram<u64>,
    created: Histogram<u64>,
    missed: u64,
}

pub async fn run(ctx: &mut Ctx) -> anyhow::Result<Billing> {
    let token = Arc::new(ctx.admin_token().await?);
    let delays = Arc::new(Mutex::new(Delays {
        visible: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        created: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        missed: 0,
    }));
    // One probe first, not counted, with patience: the billing consumer may still be working
    // through the events of earlier scenarios.
    let warmup = Arc::new(Mutex::new(Delays {
        visible: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        created: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        missed: 0,
    }));
    let backlog_limit = if ctx.budget.quick {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(240)
    };
    let gateway = ctx.system.gateway().to_owned();
    probe(
        &ctx.http,
        &gateway,
        &token,
        ctx.allocator.next(),
        &warmup,
        backlog_limit,
    )
    .await?;
    ctx.settle().await;
    let duration = if ctx.budget.quick {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(20)
    };
    let probes = load::fixed_rate(
        PROBE_RATE,
        (Duration::ZERO, duration),
        256,
        probe_op(ctx, token, delays.clone()),
    )
    .await?;
    ctx.settle().await;
    let delays = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    anyhow::ensure!(
        !delays.visible.is_empty(),
        "no invoice appeared (first error: {})",
        probes.first_error.as_deref().unwrap_or("none")
    );
    Ok(Billing {
        p50_ms: ms(&delays.visible, 0.5),
        p99_ms: ms(&delays.visible, 0.99),
        max_ms: round(delays.visible.max() as f64 / 1000.0),
        created_p50_ms: ms(&delays.created, 0.5),
        created_p99_ms: ms(&delays.created, 0.99),
        samples: delays.visible.len(),
        missed: delays.missed,
        failed: probes.errors,
        probe_rate: PROBE_RATE,
    })
}

fn probe_op(
    ctx: &Ctx,
    token: Arc<String>,
    delays: Arc<Mutex<Delays>>,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let http = ctx.http.clone();
    let gateway = Arc::new(ctx.system.gateway().to_owned());
    let allocator = ctx.allocator.clone();
    move |_| -> OpFuture {
        let booking = allocator.next();
        let (http, gateway, token, delays) =
            (http.clone(), gateway.clone(), token.clone(), delays.clone());
        Box::pin(async move { probe(&http, &gateway, &token, booking, &delays, GIVE_UP).await })
    }
}

async fn probe(
    http: &Http,
    gateway: &str,
    token: &str,
    booking: Booking,
    delays: &Mutex<Delays>,
    give_up: Duration,
) -> anyhow::Result<()> {
    let booked = http
        .post(
            &format!("{gateway}/api/appointments"),
            Some(token),
            &booking.json(),
        )
        .await?
        .expect(201)?
        .json()?;
    let id = booked["id"].as_i64().context("no appointment id")?;
    let approve = json!({"appointmentId": id});
    http.post(
        &format!("{gateway}/api/doctors/appointments/approve"),
        Some(token),
        &approve,
    )
    .await?
    .expect(200)?;
    let approved_at = Timestamp::now();
    let approved = Instant::now();
    let list = format!(
        "{gateway}/api/billing/invoices?patientId={}&size=5",
        booking.patient_id
    );
    while approved.elapsed() < give_up {
        tokio::time::sleep(poll_interval(approved.elapsed())).await;
        let page = http.get(&list, token).await?.expect(200)?.json()?;
        if let Some(invoice) = invoice_of(&page, id) {
            let visible = approved.elapsed();
            let created: Timestamp = invoice["createdAt"]
                .as_str()
                .context("no createdAt")?
                .parse()?;
            let stored = (created.as_microsecond() - approved_at.as_microsecond()).max(1) as u64;
            let mut delays = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            delays.created.saturating_record(stored);
            delays.visible.saturating_record(visible.as_micros() as u64);
            return Ok(());
        }
    }
    let mut delays = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let give_up = give_up.as_micros() as u64;
    delays.visible.saturating_record(give_up);
    delays.created.saturating_record(give_up);
    delays.missed += 1;
    Ok(())
}

fn invoice_of(page: &Value, appointment_id: i64) -> Option<&Value> {
    page["items"]
        .as_array()?
        .iter()
        .find(|invoice| invoice["appointmentId"] == appointment_id)
}
