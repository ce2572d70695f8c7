//! analytics: `GET /api/analytics/summary` over one year through the gateway as the read
//! models grow to 10 k and 1 M appointments (`--quick` stops at 100 k). The rows go straight
//! into the analytics database through the service's own seeding (per-appointment rows over
//! a year and 1 k doctors, then every counter recounted from them), at a fixed rate. The
//! ceiling of the curve is its own 10 k point: the summary reads daily counters, so it should
//! stay flat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::ToSpan;
use platform::config::Service;
use platform::db::Db;

use super::Ctx;
use crate::load::{self, OpFuture};
use crate::report::{Analytics, round};

const RATE: f64 = 50.0;
const DOCTORS: i64 = 1000;
const DAYS: i64 = 365;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Analytics> {
    let sizes: &[i64] = if ctx.budget.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 1_000_000]
    };
    let duration = if ctx.budget.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let today = jiff::Zoned::now().date();
    let first_day = today.checked_sub(180.days())?;
    let last_day = first_day.checked_add((DAYS - 1).days())?;
    let path = Arc::new(format!(
        "/api/analytics/summary?from={first_day}&to={last_day}"
    ));
    let db = Db::connect(&ctx.system.database_urls[&Service::Analytics]).await?;
    let mut report = Analytics {
        rate: RATE,
        ..Analytics::default()
    };
    // Earlier scenarios of an `all` run booked real appointments, whose facts the consumer
    // stored: the synthetic ones take the ids above them.
    let (offset,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(appointment_id), 0) FROM appointment_facts")
            .fetch_one(db.pool())
            .await?;
    let mut have = 0;
    for &size in sizes {
        eprintln!("  {size} appointments in the read models");
        let began = Instant::now();
        let seeded = ::analytics::seeding::seed_appointments(
            &db,
            offset + have + 1,
            size - have,
            (first_day, DAYS),
            DOCTORS,
        )
        .await;
        if let Err(err) = seeded {
            db.close().await;
            return Err(err);
        }
        report
            .insert_seconds
            .insert(size as u64, round(began.elapsed().as_secs_f64()));
        have = size;
        ctx.settle().await;
        let token = Arc::new(ctx.admin_token().await?);
        let op = summary_op(ctx, token, path.clone());
        let stats = load::fixed_rate(RATE, (ctx.budget.warmup, duration), 256, op).await?;
        stats.check(&format!("summary at {size}"))?;
        report
            .summary_p50_ms
            .insert(size as u64, round(stats.p50()));
        report
            .summary_p99_ms
            .insert(size as u64, round(stats.p99()));
    }
    db.close().await;
    Ok(report)
}

fn summary_op(
    ctx: &Ctx,
    token: Arc<String>,
    path: Arc<String>,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let http = ctx.http.clone();
    let url = Arc::new(format!("{}{path}", ctx.system.gateway()));
    move |_| -> OpFuture {
        let (http, token, url) = (http.clone(), token.clone(), url.clone());
        Box::pin(async move {
            http.get(&url, &token).await?.expect(200)?;
            Ok(())
        })
    }
}
