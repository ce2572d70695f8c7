//! The read's same-work ceiling: the database work of each read, sent by this program straight
//! to the same databases through pools opened the way the services open theirs, with as many
//! reads in flight as the HTTP run. What is left out is everything that is not the database:
//! HTTP, JSON, tokens, the gateway and the doctor service's call to the appointment service.
//! The statements mirror (and must follow) these stores:
//!
//! - appointment: `AppointmentStore::find`, then the read's audit row through
//!   `platform::audit::AuditLog::record` itself — the same group-committing writer the service
//!   submits to, so the ceiling batches audit rows exactly as the service can.
//! - slots: `DoctorStore::find`, `working_hours` (two queries on one connection) and
//!   `time_off_during` on the doctor database, then `AppointmentStore::busy` on the appointment
//!   database. A slot search writes no audit row (no patient's data).

use std::sync::Arc;

use anyhow::Context;
use platform::audit::{Action, AuditContext, AuditLog, Outcome};
use platform::auth::{Principal, Role};
use platform::config::Service;
use platform::values::MAX_VISIT_MINUTES;

use super::Ctx;
use super::book_ceiling::{ACTOR_ID, AppointmentColumns, availability};
use super::read::{Shape, Target};
use crate::calendar::DAY_MS;
use crate::load::{self, OpFuture, Stats};
use crate::seed::Databases;

const OPENING_MS: i64 = 9 * 3600 * 1000;
const CLOSING_MS: i64 = 17 * 3600 * 1000;
const MAX_DURATION_MS: i64 = MAX_VISIT_MINUTES as i64 * 60_000;

/// Pools on the services' databases and an audit writer on the appointment database.
pub(super) struct Work {
    dbs: Databases,
    audit: AuditLog,
}

impl Work {
    pub(super) async fn open(ctx: &Ctx) -> anyhow::Result<Arc<Self>> {
        let dbs = Databases::open(&ctx.system).await?;
        let audit = AuditLog::new(dbs.appointments.clone(), Service::Appointments.name());
        Ok(Arc::new(Self { dbs, audit }))
    }

    pub(super) async fn close(&self) {
        self.dbs.close().await;
    }
}

/// Max throughput of `shape`'s database work over `targets`, with the HTTP run's concurrency.
pub(super) async fn measure(
    ctx: &Ctx,
    work: &Arc<Work>,
    targets: &Arc<Vec<Target>>,
    shape: Shape,
) -> anyhow::Result<Stats> {
    let op = {
        let (work, targets) = (work.clone(), targets.clone());
        move |n: u64| -> OpFuture {
            let (work, targets) = (work.clone(), targets.clone());
            Box::pin(async move {
                let target = &targets[n as usize % targets.len()];
                match shape.of(n) {
                    Shape::Slots => search_slots(&work, target).await,
                    _ => read_appointment(&work, target.appointment_id).await,
                }
            })
        }
    };
    let b = ctx.budget;
    load::max_throughput(b.concurrency, b.warmup, b.measure, op).await
}

async fn read_appointment(work: &Work, id: i64) -> anyhow::Result<()> {
    let row: Option<AppointmentColumns> = sqlx::query_as(
        "SELECT id, patient_id, doctor_id, start_at, end_at, description, service_type, \
         status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
         updated_at FROM appointments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(work.dbs.appointments.pool())
    .await?;
    let patient_id = row.context("no such appointment")?.1;
    let ctx = AuditContext {
        principal: Principal {
            user_id: ACTOR_ID,
            role: Role::Admin,
            patient_id: None,
            doctor_id: None,
        },
        endpoint: "GET /api/appointments/{id}".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let resource = format!("appointment/{id}");
    let outcome = Outcome::Success;
    work.audit
        .record(&ctx, Some(patient_id), Action::Read, &resource, outcome)
        .await?;
    Ok(())
}

/// One day's search: the working day of the target's booking (UTC, the clinic's zone).
async fn search_slots(work: &Work, target: &Target) -> anyhow::Result<()> {
    let day = target.start_ms - target.start_ms.rem_euclid(DAY_MS);
    let (open, close) = (day + OPENING_MS, day + CLOSING_MS);
    availability(&work.dbs.doctors, target.doctor_id, (open, close)).await?;
    let _busy: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT start_at, end_at FROM appointments \
         WHERE doctor_id = $1 AND status IN ('REQUESTED', 'APPROVED') \
           AND start_at > $2 AND start_at < $3 AND end_at > $4 \
         ORDER BY start_at",
    )
    .bind(target.doctor_id)
    .bind(open - MAX_DURATION_MS)
    .bind(close)
    .bind(open)
    .fetch_all(work.dbs.appointments.pool())
    .await?;
    Ok(())
}
