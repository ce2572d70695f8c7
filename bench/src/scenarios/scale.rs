//! scale: slot search and appointment listing for one doctor as the appointment table grows to
//! 10 k, 100 k and 1 M rows (1 k doctors, 100 k patients; `--quick` stops at 100 k). The
//! rows go in with SQL (`seed::scale_appointments`), spread over 25 weeks around today, so a
//! doctor has 10, 100, then 1,000 appointments. At each size, three requests through the
//! gateway at a fixed rate, each for one of 100 doctors in turn:
//!
//! - slots: `GET /api/doctors/{id}/slots` for a working week inside the data (the doctor
//!   service asks the appointment service for that week's busy intervals);
//! - agenda: `GET /api/appointments?doctorId=…&from=…&to=…` for the same week;
//! - list: `GET /api/appointments?doctorId=…`, the first page of all the doctor's.
//!
//! The ceiling of each curve is its own 10 k point: it should stay flat.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use crate::calendar::{SCALE_PROBE_WEEK, date_of};
use crate::load::{self, OpFuture};
use crate::report::{Scale, round};
use crate::seed::{self, Databases};

const RATE: f64 = 50.0;
const DOCTORS_ASKED: u64 = 100;

/// The working week searched, inside the scale data and in the future.
struct Week {
    monday: String,
    friday: String,
    saturday: String,
}

#[derive(Debug, Clone, Copy)]
enum Query {
    Slots,
    Agenda,
    List,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Scale> {
    let sizes: &[u64] = if ctx.budget.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let duration = if ctx.budget.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let week = Arc::new(Week {
        monday: date_of(SCALE_PROBE_WEEK, 0)?,
        friday: date_of(SCALE_PROBE_WEEK, 4)?,
        saturday: date_of(SCALE_PROBE_WEEK, 5)?,
    });
    let dbs = Databases::open(&ctx.system).await?;
    let mut report = Scale {
        rate: RATE,
        ..Scale::default()
    };
    let mut have = 0;
    for &size in sizes {
        eprintln!("  {size} appointments");
        let began = Instant::now();
        let inserted = seed::scale_appointments(&dbs, have, size).await;
        if let Err(err) = inserted {
            dbs.close().await;
            return Err(err);
        }
        report
            .insert_seconds
            .insert(size, round(began.elapsed().as_secs_f64()));
        have = size;
        ctx.settle().await;
        let token = Arc::new(ctx.admin_token().await?);
        for query in [Query::Slots, Query::Agenda, Query::List] {
            let op = query_op(ctx, token.clone(), week.clone(), query);
            let stats = load::fixed_rate(RATE, (ctx.budget.warmup, duration), 256, op).await?;
            stats.check(&format!("{query:?} at {size}"))?;
            let (p50, p99): (&mut BTreeMap<u64, f64>, &mut BTreeMap<u64, f64>) = match query {
                Query::Slots => (&mut report.slots_p50_ms, &mut report.slots_p99_ms),
                Query::Agenda => (&mut report.agenda_p50_ms, &mut report.agenda_p99_ms),
                Query::List => (&mut report.list_p50_ms, &mut report.list_p99_ms),
            };
            p50.insert(size, round(stats.p50()));
            p99.insert(size, round(stats.p99()));
        }
    }
    dbs.close().await;
    Ok(report)
}

fn query_op(
    ctx: &Ctx,
    token: Arc<String>,
    week: Arc<Week>,
    query: Query,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let http = ctx.http.clone();
    let gateway = Arc::new(ctx.system.gateway().to_owned());
    move |n| -> OpFuture {
        let doctor = n % DOCTORS_ASKED + 1;
        let Week {
            monday,
            friday,
            saturday,
        } = &*week;
        let path = match query {
            Query::Slots => format!("/api/doctors/{doctor}/slots?from={monday}&to={friday}"),
            Query::Agenda => format!(
                "/api/appointments?doctorId={doctor}&from={monday}T00:00:00Z&to={saturday}T00:00:00Z"
            ),
            Query::List => format!("/api/appointments?doctorId={doctor}"),
        };
        let url = format!("{gateway}{path}");
        let (http, token) = (http.clone(), token.clone());
        Box::pin(async move {
            http.get(&url, &token).await?.expect(200)?;
            Ok(())
        })
    }
}
