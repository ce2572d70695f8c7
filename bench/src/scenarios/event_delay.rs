//! event-delay: how long after a doctor's approval the patient's notification is stored, while
//! bookings arrive steadily at 80% of the max booking rate; then the same at 80% of the
//! sustainable booking rate (bookings whose events are handled in the same time). Each probe books a slot, notes how
//! many notifications its patient has, approves (as the admin, through the gateway), and polls
//! `GET /api/notifications?recipientId=…&recipientType=PATIENT` until a new one appears (every
//! 5 ms, backing off to 100 ms). The
//! delay is the notification's `createdAt` (stamped when the consumer stores it) minus the time
//! the approval was sent; the same machine's clock on both ends. The approval's path: the
//! doctor service, the appointment service's transaction and outbox, the relay, the event bus
//! (in-process or RabbitMQ), the notification service's consumer.
//!
//! Before that, the consumer's drain rate: how fast it handles a pre-loaded backlog
//! ([`super::backlog`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use jiff::Timestamp;
use serde_json::json;

use super::Ctx;
use super::backlog::drain_rate;
use super::book::{book_op, measure_max_rate};
use super::drain::drain;
use super::stages;
use crate::calendar::Booking;
use crate::http::Http;
use crate::load::{self, OpFuture};
use crate::report::{EventDelay, quantile_ms as ms, round};

/// Approvals per second; each one also books.
const PROBE_RATE: f64 = 20.0;
/// Bookings and probes together arrive at this share of the max booking rate.
const LOAD: f64 = 0.8;
/// Polling backs off: probes that wait long must not flood the notification service (a first
/// version polled every 5 ms throughout and, once delays grew, its own ~1,000 polls a second
/// overloaded the service it measured). The delay itself comes from `createdAt`, not from when
/// a poll saw it.
fn poll_interval(waited: Duration) -> Duration {
    match waited.as_millis() {
        0..100 => Duration::from_millis(5),
        100..1000 => Duration::from_millis(20),
        _ => Duration::from_millis(100),
    }
}
const GIVE_UP: Duration = Duration::from_secs(10);

/// Delays from `createdAt` and as seen by polling, in microseconds. A probe that saw no
/// notification within `GIVE_UP` counts as `GIVE_UP` (so the quantiles are lower bounds then).
#[derive(Clone)]
struct Delays {
    stored: Histogram<u64>,
    observed: Histogram<u64>,
    missed: u64,
    /// Probes whose booking, approval or polling failed.
    failed: u64,
    /// Bookings and probes per second.
    rate: f64,
}

pub async fn run(ctx: &mut Ctx) -> anyhow::Result<EventDelay> {
    anyhow::ensure!(
        ctx.system.has_notifications,
        "the notification service does not run in this build (not wired into carebook::system)"
    );
    let max = match ctx.book_rps {
        Some(rps) => rps,
        None => measure_max_rate(ctx).await?,
    };
    let limit = if ctx.budget.quick {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(240)
    };
    eprintln!("  waiting for the notification consumer to catch up");
    let drained = drain(&ctx.system, limit).await?;
    let backlog = if ctx.budget.quick { 1000 } else { 4000 };
    eprintln!("  timing the consumer on a backlog of {backlog} events");
    let backlog = drain_rate(&ctx.system, backlog, limit).await?;
    eprintln!("  the consumer handled {:.0} events/s", backlog.rate);
    // Its notifications are delivered before measuring.
    drain(&ctx.system, limit).await?;
    ctx.settle().await;
    let window = if ctx.budget.quick {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(20)
    };
    let token = Arc::new(ctx.admin_token().await?);
    super::phase("probes at 80 % of the max booking rate");
    let at_max = delays_at(ctx, &token, max * LOAD, window).await?;
    eprintln!("  waiting for that phase's events");
    drain(&ctx.system, limit).await?;
    eprintln!("  booking as fast as possible, then waiting for every event to be handled");
    let sustainable = sustainable_rate(ctx, &token, window, limit).await?;
    eprintln!("  {sustainable:.0} bookings/s with their events handled");
    ctx.settle().await;
    let began = Timestamp::now().as_millisecond();
    super::phase("probes at 80 % of the sustainable rate");
    let at_sustainable = delays_at(ctx, &token, sustainable * LOAD, window).await?;
    drain(&ctx.system, limit).await?;
    let parts = stages::since(&ctx.system, began).await?;
    Ok(EventDelay {
        p50_ms: ms(&at_max.stored, 0.5),
        p99_ms: ms(&at_max.stored, 0.99),
        max_ms: round(at_max.stored.max() as f64 / 1000.0),
        observed_p50_ms: ms(&at_max.observed, 0.5),
        observed_p99_ms: ms(&at_max.observed, 0.99),
        samples: at_max.stored.len(),
        missed: at_max.missed,
        failed: at_max.failed,
        max_booking_rate: round(max),
        booking_rate: round(at_max.rate),
        probe_rate: PROBE_RATE,
        sustainable_booking_rate: round(sustainable),
        sustained_p50_ms: ms(&at_sustainable.stored, 0.5),
        sustained_p99_ms: ms(&at_sustainable.stored, 0.99),
        sustained_missed: at_sustainable.missed,
        sustained_booking_rate: round(at_sustainable.rate),
        sustained_events: parts.events,
        sustained_relay_p50_ms: parts.relay_p50_ms,
        sustained_relay_p99_ms: parts.relay_p99_ms,
        sustained_consumer_p50_ms: parts.consumer_p50_ms,
        sustained_consumer_p99_ms: parts.consumer_p99_ms,
        backlog_at_start: drained.backlog,
        undelivered_at_start: drained.due,
        backlog_left: drained.left,
        consumer_events_per_s: round(backlog.rate),
        consumer_backlog: backlog.events,
    })
}

/// Bookings and approvals as fast as `concurrency` clients go for `window`, and the time until
/// the notification consumer has handled every event they made and the delivery worker has
/// sent what was due: bookings per second over the whole, the rate the system keeps up with.
/// The max booking rate of the `book` scenario defers the event work past its own window.
async fn sustainable_rate(
    ctx: &Ctx,
    token: &Arc<String>,
    window: Duration,
    limit: Duration,
) -> anyhow::Result<f64> {
    let began = Instant::now();
    let stats = load::max_throughput(
        ctx.budget.concurrency,
        Duration::ZERO,
        window,
        book_op(ctx, token.clone()),
    )
    .await?;
    stats.check("bookings for the sustainable rate")?;
    let drained = drain(&ctx.system, limit).await?;
    anyhow::ensure!(
        drained.left == 0,
        "the events of {} bookings were not all handled within {limit:?}",
        stats.ok
    );
    Ok(stats.ok as f64 / began.elapsed().as_secs_f64())
}

/// One phase: bookings in the background and probes, together at `rate` per second, for
/// `window`.
async fn delays_at(
    ctx: &Ctx,
    token: &Arc<String>,
    rate: f64,
    window: Duration,
) -> anyhow::Result<Delays> {
    let booking_rate = (rate - PROBE_RATE).max(1.0);
    let delays = Arc::new(Mutex::new(Delays {
        stored: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        observed: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        missed: 0,
        failed: 0,
        rate: booking_rate + PROBE_RATE,
    }));
    let background = load::fixed_rate(
        booking_rate,
        (Duration::ZERO, window),
        1024,
        book_op(ctx, token.clone()),
    );
    let probes = load::fixed_rate(
        PROBE_RATE,
        (Duration::ZERO, window),
        256,
        probe_op(ctx, token.clone(), delays.clone()),
    );
    let (background, probes) = tokio::join!(background, probes);
    background?.check("background bookings")?;
    let probes = probes?;
    ctx.settle().await;
    let mut delays = delays
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    anyhow::ensure!(
        !delays.stored.is_empty(),
        "no notification arrived (first error: {})",
        probes.first_error.as_deref().unwrap_or("none")
    );
    delays.failed = probes.errors;
    Ok(delays)
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
        Box::pin(async move { probe(&http, &gateway, &token, booking, &delays).await })
    }
}

async fn probe(
    http: &Http,
    gateway: &str,
    token: &str,
    booking: Booking,
    delays: &Mutex<Delays>,
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
    let list = format!(
        "{gateway}/api/notifications?recipientId={}&recipientType=PATIENT&size=1",
        booking.patient_id
    );
    let before = total(&http.get(&list, token).await?.expect(200)?.json()?)?;
    let sent_at = Timestamp::now();
    let sent = Instant::now();
    let approve = json!({"appointmentId": id});
    http.post(
        &format!("{gateway}/api/doctors/appointments/approve"),
        Some(token),
        &approve,
    )
    .await?
    .expect(200)?;
    while sent.elapsed() < GIVE_UP {
        tokio::time::sleep(poll_interval(sent.elapsed())).await;
        let page = http.get(&list, token).await?.expect(200)?.json()?;
        if total(&page)? > before {
            let observed = sent.elapsed();
            let created: Timestamp = page["items"][0]["createdAt"]
                .as_str()
                .context("no createdAt")?
                .parse()?;
            let stored = (created.as_microsecond() - sent_at.as_microsecond()).max(1) as u64;
            let mut delays = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            delays.stored.saturating_record(stored);
            delays
                .observed
                .saturating_record(observed.as_micros() as u64);
            return Ok(());
        }
    }
    let mut delays = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let give_up = GIVE_UP.as_micros() as u64;
    delays.stored.saturating_record(give_up);
    delays.observed.saturating_record(give_up);
    delays.missed += 1;
    Ok(())
}

fn total(page: &serde_json::Value) -> anyhow::Result<i64> {
    page["total"]
        .as_i64()
        .context("no total in the notification page")
}
