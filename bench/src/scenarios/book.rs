//! book: `POST /api/appointments` through the gateway as the admin, for 1,000 doctors and
//! 100,000 patients, every booking in a distinct free slot. Each one goes through the token
//! check, the patient and doctor services (existence, working hours, time off), the
//! overlap-safe insert with its outbox event, and the audit trail.
//!
//! Ceiling: the same SQL statements and transaction, run by this program through sqlx against
//! the same databases with the same number in flight (`book_ceiling`); and, for scale, the
//! raw transaction ceiling of the appointment database (`raw_tx_ceiling`).

use std::sync::Arc;
use std::time::Duration;

use super::{Ctx, book_ceiling, raw_tx_ceiling};
use crate::load::{self, OpFuture, Stats};
use crate::report::{Book, ratio, round};

pub async fn run(ctx: &mut Ctx) -> anyhow::Result<Book> {
    let budget = ctx.budget;
    // The ceiling first: on PostgreSQL its pools and the services' would together exceed the
    // server's connection limit if the services had already opened theirs.
    super::phase("the booking ceiling");
    let ceiling = book_ceiling::run(ctx).await?;
    ceiling.check("book ceiling")?;
    ctx.settle().await;
    super::phase("the raw transaction ceiling");
    let raw_tx = raw_tx_ceiling::run(ctx).await?;
    raw_tx.check("raw transaction ceiling")?;
    ctx.settle().await;
    let token = Arc::new(ctx.admin_token().await?);
    super::phase("bookings through the gateway, max throughput");
    let max = load::max_throughput(
        budget.concurrency,
        budget.warmup,
        budget.measure,
        book_op(ctx, token.clone()),
    )
    .await?;
    max.check("book")?;
    ctx.book_rps = Some(max.rps());
    ctx.settle().await;
    let rate = max.rps() / 2.0;
    super::phase("bookings at half the max rate");
    let fixed = load::fixed_rate(
        rate,
        (budget.warmup, budget.measure),
        1024,
        book_op(ctx, token),
    )
    .await?;
    fixed.check("book at half the max rate")?;
    ctx.settle().await;
    Ok(report(
        &max,
        (&ceiling, &raw_tx),
        &fixed,
        ctx.budget.concurrency,
    ))
}

/// One booking of the next free slot through the gateway; anything but 201 is an error.
pub fn book_op(
    ctx: &Ctx,
    token: Arc<String>,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let url = Arc::new(format!("{}/api/appointments", ctx.system.gateway()));
    let http = ctx.http.clone();
    let allocator = ctx.allocator.clone();
    move |_| -> OpFuture {
        let (url, http, token) = (url.clone(), http.clone(), token.clone());
        let booking = allocator.next();
        Box::pin(async move {
            http.post(&url, Some(&token), &booking.json())
                .await?
                .expect(201)?;
            Ok(())
        })
    }
}

fn report(
    max: &Stats,
    (ceiling, raw_tx): (&Stats, &Stats),
    fixed: &Stats,
    concurrency: usize,
) -> Book {
    Book {
        rps: round(max.rps()),
        ceiling_rps: round(ceiling.rps()),
        ratio: ratio(max.rps(), ceiling.rps()),
        raw_tx_ceiling_rps: round(raw_tx.rps()),
        raw_tx_ratio: ratio(max.rps(), raw_tx.rps()),
        p50_ms: round(fixed.p50()),
        p99_ms: round(fixed.p99()),
        fixed_rate_rps: round(fixed.rps()),
        max_mode_p50_ms: round(max.p50()),
        max_mode_p99_ms: round(max.p99()),
        ceiling_p50_ms: round(ceiling.p50()),
        ceiling_p99_ms: round(ceiling.p99()),
        concurrency,
        bookings: max.ok + fixed.ok,
    }
}

/// Used by the event-delay scenario when the book scenario did not run in this invocation.
pub async fn measure_max_rate(ctx: &Ctx) -> anyhow::Result<f64> {
    let token = Arc::new(ctx.admin_token().await?);
    let budget = ctx.budget;
    let stats = load::max_throughput(
        budget.concurrency,
        budget.warmup,
        Duration::from_secs(2),
        book_op(ctx, token),
    )
    .await?;
    stats.check("book")?;
    Ok(stats.rps())
}
