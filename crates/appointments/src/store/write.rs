use contracts::appointments::{Appointment, AppointmentStatus};
use contracts::events::{AppointmentChanged, types};
use jiff::Timestamp;
use platform::ApiError;
use platform::audit::{Action, AuditContext};
use platform::db::violated_constraint;
use platform::outbox;
use platform::time::to_millis;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::idempotency::NewKey;
use super::{AppointmentRow, AppointmentStore, COLUMNS, SOURCE};
use crate::domain::rules::{Rule, active_limit_breach, enforce};
use crate::policy::{MayApply, MayBook, MayChange};

const DOCTOR_OVERLAP: &str = "appointments_doctor_no_overlap";
const PATIENT_OVERLAP: &str = "appointments_patient_no_overlap";

/// The patient's requested or approved appointments that have not started yet, besides the
/// one just inserted, as a column of the insert's `RETURNING`: the active limit's count.
const ACTIVE_BEFORE: &str = "(SELECT COUNT(*) FROM appointments AS other \
     WHERE other.patient_id = appointments.patient_id AND other.id <> appointments.id \
     AND other.status IN ('REQUESTED', 'APPROVED') AND other.start_at > appointments.created_at) \
     AS active_before";

/// A new appointment's row, and how many active future appointments its patient held before.
#[derive(sqlx::FromRow)]
struct Inserted {
    #[sqlx(flatten)]
    row: AppointmentRow,
    active_before: i64,
}

/// A booking the policy and the doctor's schedule admitted, about to be written.
#[derive(Debug, Clone)]
pub struct Booking {
    pub may: MayBook,
    pub doctor_id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub description: String,
    pub service_type: Option<String>,
    pub status: AppointmentStatus,
    /// Rules an ADMIN already overrode (length, grid); the active limit is checked here.
    pub overridden: Vec<Rule>,
    /// `CAREBOOK_MAX_ACTIVE_PER_PATIENT`.
    pub max_active: u32,
    pub key: Option<NewKey>,
}

/// A new time, length or description for an appointment the caller may change.
#[derive(Debug, Clone)]
pub struct Move {
    pub may: MayChange,
    pub start: Timestamp,
    pub end: Timestamp,
    pub description: String,
    pub status: AppointmentStatus,
    pub overridden: Vec<Rule>,
}

impl AppointmentStore {
    /// Inserts the appointment unless the patient already holds their limit of active future
    /// appointments (409 unless overridden) or it overlaps an active one of the same doctor or
    /// patient (409). Its event, audit rows and idempotency key commit in the same transaction.
    pub async fn insert_if_free(
        &self,
        booking: Booking,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        self.on_writer(ctx, |store, ctx| async move {
            store.insert_now(booking, &ctx).await
        })
        .await
    }

    async fn insert_now(
        &self,
        booking: Booking,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        let patient_id = booking.may.patient_id();
        let now = Timestamp::now();
        // Counting and inserting must not interleave with the patient's other bookings:
        // PostgreSQL serialises them per patient; SQLite has one writer (BEGIN IMMEDIATE).
        let mut tx = self.db.begin_serialised(patient_id).await?;
        // The insert returns the count of the patient's other active future appointments, so
        // that the limit costs no statement of its own; over it, the insert is rolled back.
        let sql = format!(
            "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, description, \
             service_type, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}, {ACTIVE_BEFORE}"
        );
        let Inserted { row, active_before } = sqlx::query_as(AssertSqlSafe(sql))
            .bind(patient_id)
            .bind(booking.doctor_id)
            .bind(to_millis(booking.start))
            .bind(to_millis(booking.end))
            .bind(&booking.description)
            .bind(booking.service_type.as_deref())
            .bind(booking.status.as_str())
            .bind(to_millis(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(overlap_conflict)?;
        let mut overridden = booking.overridden;
        let limit = active_limit_breach(active_before, booking.max_active);
        match enforce(limit.into_iter().collect(), booking.may.overrides_rules()) {
            Ok(rules) => overridden.extend(rules),
            Err(refusal) => {
                tx.rollback().await?;
                return Err(refusal);
            }
        }
        let appointment = Appointment::try_from(row)?;
        let event_type = match appointment.status {
            AppointmentStatus::Approved => types::APPOINTMENT_APPROVED,
            _ => types::APPOINTMENT_REQUESTED,
        };
        record(&mut tx, event_type, AppointmentChanged::of(&appointment)).await?;
        if let Some(key) = booking.key {
            key.insert(
                &mut tx,
                booking.may,
                &appointment,
                (now, self.idempotency_ttl),
            )
            .await?;
        }
        self.audit_change(&mut tx, ctx, &appointment, Action::Create, &overridden)
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(appointment)
    }

    /// Applies the transition the caller may apply, if the appointment is (still) in one of
    /// its starting states; any other state is a 409.
    pub async fn apply(
        &self,
        may: &MayApply,
        reason: Option<&str>,
        late_cancellation: Option<bool>,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        let (may, reason) = (may.clone(), reason.map(str::to_owned));
        self.on_writer(ctx, |store, ctx| async move {
            store
                .apply_now(&may, reason.as_deref(), late_cancellation, &ctx)
                .await
        })
        .await
    }

    async fn apply_now(
        &self,
        may: &MayApply,
        reason: Option<&str>,
        late_cancellation: Option<bool>,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        let transition = may.transition();
        let id = may.appointment().id;
        let mut tx = self.db.begin().await?;
        let change = StatusChange {
            from: transition.starting_states(),
            to: transition.target(),
            reason,
            late_cancellation,
        };
        let Some(row) = set_status(&mut tx, id, &change).await? else {
            drop(tx);
            let current = self.find(id).await?.ok_or_else(|| crate::not_found(id))?;
            let status = crate::policy::view(&ctx.principal, current)?.status;
            return Err(ApiError::Conflict(transition.refusal(status)));
        };
        let appointment = Appointment::try_from(row)?;
        let changed = AppointmentChanged::of(&appointment);
        record(&mut tx, transition.event_type(), changed).await?;
        self.audit_change(&mut tx, ctx, &appointment, Action::Update, &[])
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(appointment)
    }

    /// Moves or edits an appointment, unless it changed since it was read (409) or the new
    /// time overlaps another active appointment (409).
    pub async fn reschedule(
        &self,
        change: Move,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        self.on_writer(ctx, |store, ctx| async move {
            store.reschedule_now(change, &ctx).await
        })
        .await
    }

    async fn reschedule_now(
        &self,
        change: Move,
        ctx: &AuditContext,
    ) -> platform::Result<Appointment> {
        let current = change.may.appointment();
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE appointments SET start_at = $1, end_at = $2, description = $3, \
             updated_at = $4, status = $5 \
             WHERE id = $6 AND updated_at = $7 AND status IN ('REQUESTED', 'APPROVED') \
             RETURNING {COLUMNS}"
        );
        let row: Option<AppointmentRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_millis(change.start))
            .bind(to_millis(change.end))
            .bind(&change.description)
            // Strictly increasing: `updated_at` versions the appointment's events.
            .bind(to_millis(Timestamp::now()).max(to_millis(current.updated_at) + 1))
            .bind(change.status.as_str())
            .bind(current.id)
            .bind(to_millis(current.updated_at))
            .fetch_optional(&mut *tx)
            .await
            .map_err(overlap_conflict)?;
        let Some(row) = row else {
            return Err(ApiError::Conflict(
                "The appointment changed meanwhile; read it again and retry.".to_owned(),
            ));
        };
        let appointment = Appointment::try_from(row)?;
        if appointment.appointment_date != current.appointment_date
            || appointment.end_date != current.end_date
        {
            let mut changed = AppointmentChanged::of(&appointment);
            changed.previous_start = Some(current.appointment_date);
            record(&mut tx, types::APPOINTMENT_RESCHEDULED, changed).await?;
        }
        if appointment.status != current.status {
            // Back to REQUESTED: the doctor is asked to approve the new time.
            let changed = AppointmentChanged::of(&appointment);
            record(&mut tx, types::APPOINTMENT_REQUESTED, changed).await?;
        }
        self.audit_change(
            &mut tx,
            ctx,
            &appointment,
            Action::Update,
            &change.overridden,
        )
        .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(appointment)
    }

    /// Runs a write transaction where SQLite answers it soonest ([`platform::db::Db::write`]),
    /// with the store and the audit context it needs there.
    async fn on_writer<T, W>(
        &self,
        ctx: &AuditContext,
        write: impl FnOnce(Self, AuditContext) -> W,
    ) -> platform::Result<T>
    where
        W: Future<Output = platform::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.db.write(write(self.clone(), ctx.clone())).await
    }

    /// The change's audit row, and one per booking rule an ADMIN overrode, naming the rule.
    async fn audit_change(
        &self,
        conn: &mut AnyConnection,
        ctx: &AuditContext,
        appointment: &Appointment,
        action: Action,
        overridden: &[Rule],
    ) -> platform::Result<()> {
        let resource = format!("appointment/{}", appointment.id);
        let patient = Some(appointment.patient_id);
        self.audit
            .record_in(conn, ctx, patient, action, &resource)
            .await?;
        for rule in overridden {
            let resource = format!("{resource}/override/{}", rule.name());
            self.audit
                .record_in(conn, ctx, patient, action, &resource)
                .await?;
        }
        Ok(())
    }
}

/// A status change bound to every state it may start from.
#[derive(Debug, Clone, Copy)]
pub(super) struct StatusChange<'a> {
    pub from: &'a [AppointmentStatus],
    pub to: AppointmentStatus,
    pub reason: Option<&'a str>,
    pub late_cancellation: Option<bool>,
}

/// Sets the status of appointment `id` if it is in one of `change.from`; `None` otherwise.
/// The starting states are in the WHERE clause, so two racing changes cannot both win.
pub(super) async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    change: &StatusChange<'_>,
) -> platform::Result<Option<AppointmentRow>> {
    let from: Vec<String> = (0..change.from.len())
        .map(|i| format!("${}", i + 6))
        .collect();
    // `updated_at` is the version of the appointment's events: it grows strictly even when
    // the clock stands still or steps back.
    let sql = format!(
        "UPDATE appointments SET status = $1, \
           cancellation_reason = CASE WHEN $1 = 'CANCELLED' THEN $2 ELSE cancellation_reason END, \
           rejection_reason = CASE WHEN $1 = 'REJECTED' THEN $2 ELSE rejection_reason END, \
           late_cancellation = $3, \
           updated_at = CASE WHEN updated_at < $4 THEN $4 ELSE updated_at + 1 END \
         WHERE id = $5 AND status IN ({}) \
         RETURNING {COLUMNS}",
        from.join(", ")
    );
    let mut query = sqlx::query_as(AssertSqlSafe(sql))
        .bind(change.to.as_str())
        .bind(change.reason)
        .bind(change.late_cancellation.map(i64::from))
        .bind(to_millis(Timestamp::now()))
        .bind(id);
    for status in change.from {
        query = query.bind(status.as_str());
    }
    query.fetch_optional(conn).await.map_err(overlap_conflict)
}

async fn record(
    conn: &mut AnyConnection,
    event_type: &str,
    changed: AppointmentChanged,
) -> platform::Result<()> {
    outbox::append(conn, SOURCE, event_type, changed.appointment_id, &changed).await?;
    Ok(())
}

/// The schema's overlap refusals become 409s naming whose time is taken.
fn overlap_conflict(err: sqlx::Error) -> ApiError {
    match violated_constraint(&err, &[DOCTOR_OVERLAP, PATIENT_OVERLAP]) {
        Some(DOCTOR_OVERLAP) => ApiError::Conflict(
            "The doctor already has an appointment overlapping this time.".to_owned(),
        ),
        Some(_) => ApiError::Conflict(
            "The patient already has an appointment overlapping this time.".to_owned(),
        ),
        None => err.into(),
    }
}
