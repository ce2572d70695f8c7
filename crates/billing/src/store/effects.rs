//! What an appointment's change does to its invoice, inside the event consumer's transaction.
//! The invoice follows the appointment's newest state (README "Billing", fee policy):
//!
//! - `APPROVED` or `COMPLETED`: a `PENDING` visit invoice exists (created if missing).
//! - `REJECTED`, or `CANCELLED` in time: a `PENDING` invoice becomes `VOID`.
//! - `CANCELLED` late, or `NO_SHOW`: a `PENDING` visit invoice becomes the fee (a share of
//!   the visit fee); a no-show without an invoice yet gets the fee invoice directly.
//! - A `PAID` invoice is never changed by events; a `REQUESTED` appointment changes nothing.

use contracts::appointments::AppointmentStatus;
use contracts::billing::{Invoice, InvoiceKind, PaymentStatus};
use contracts::events::{AppointmentChanged, types};
use jiff::Timestamp;
use platform::time::to_millis;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::{COLUMNS, InvoiceRow, publish};
use crate::fees::PriceList;

/// What the handler did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Created,
    Voided,
    Fee,
    /// Nothing to do, or the event was older than one already applied.
    None,
}

/// Applies `changed` to its invoice. Stale events (an older version of the appointment than
/// one already applied) change nothing: events may arrive out of order.
pub async fn apply(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    prices: &PriceList,
    now: Timestamp,
) -> anyhow::Result<Effect> {
    if !is_newest(conn, changed).await? {
        return Ok(Effect::None);
    }
    // A request (a new booking, a moved visit) changes no invoice: nothing to read.
    if changed.status == AppointmentStatus::Requested {
        return Ok(Effect::None);
    }
    let current = current(conn, changed.appointment_id).await?;
    let pending = current
        .as_ref()
        .filter(|(i, _)| i.payment_status == PaymentStatus::Pending);
    let visit_fee = prices.visit_fee(changed.doctor_id, changed.service_type.as_deref());
    let fee_kind = match changed.status {
        AppointmentStatus::NoShow => InvoiceKind::NoShowFee,
        _ => InvoiceKind::LateCancellationFee,
    };
    let effect = match (changed.status, &current, pending) {
        (AppointmentStatus::Approved | AppointmentStatus::Completed, None, _) => {
            create(
                conn,
                changed,
                InvoiceKind::Visit,
                visit_fee,
                &prices.currency,
                now,
            )
            .await?;
            Effect::Created
        }
        (AppointmentStatus::NoShow, None, _) => match prices.late_fee(visit_fee) {
            Some(fee) => {
                create(conn, changed, fee_kind, fee, &prices.currency, now).await?;
                Effect::Fee
            }
            None => Effect::None,
        },
        (status, _, Some((invoice, _))) if is_chargeable_miss(status, changed) => {
            charge_miss(conn, invoice, fee_kind, prices, now).await?
        }
        (AppointmentStatus::Rejected | AppointmentStatus::Cancelled, _, Some((invoice, _))) => {
            let sets = (PaymentStatus::Void, invoice.kind, invoice.amount);
            update(conn, invoice.id, sets, now).await?;
            Effect::Voided
        }
        _ => Effect::None,
    };
    Ok(effect)
}

/// Turns a pending visit invoice into the fee of a late cancellation or a no-show, or voids it
/// when the policy charges nothing; a fee already charged stays.
async fn charge_miss(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    fee_kind: InvoiceKind,
    prices: &PriceList,
    now: Timestamp,
) -> anyhow::Result<Effect> {
    if invoice.kind != InvoiceKind::Visit {
        return Ok(Effect::None);
    }
    let (sets, effect) = match prices.late_fee(invoice.amount) {
        Some(fee) => ((PaymentStatus::Pending, fee_kind, fee), Effect::Fee),
        None => (
            (PaymentStatus::Void, invoice.kind, invoice.amount),
            Effect::Voided,
        ),
    };
    update(conn, invoice.id, sets, now).await?;
    Ok(effect)
}

/// A no-show, or a cancellation marked late.
fn is_chargeable_miss(status: AppointmentStatus, changed: &AppointmentChanged) -> bool {
    status == AppointmentStatus::NoShow
        || (status == AppointmentStatus::Cancelled && changed.late_cancellation == Some(true))
}

/// Records `changed.version` as the appointment's newest unless a newer one was applied.
/// Events of one change share a version (a reschedule's `AppointmentRescheduled` and
/// `AppointmentRequested`) and say the same state, so an equal version applies again.
async fn is_newest(conn: &mut AnyConnection, changed: &AppointmentChanged) -> anyhow::Result<bool> {
    let applied = sqlx::query(
        "INSERT INTO appointment_versions (appointment_id, version) VALUES ($1, $2) \
         ON CONFLICT (appointment_id) DO UPDATE SET version = excluded.version \
         WHERE appointment_versions.version <= excluded.version",
    )
    .bind(changed.appointment_id)
    .bind(changed.version)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(applied > 0)
}

async fn current(
    conn: &mut AnyConnection,
    appointment_id: i64,
) -> anyhow::Result<Option<(Invoice, i64)>> {
    let sql = format!("SELECT {COLUMNS} FROM invoices WHERE appointment_id = $1");
    let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(appointment_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(<(Invoice, i64)>::try_from).transpose()?)
}

async fn create(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    kind: InvoiceKind,
    amount: i64,
    currency: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO invoices (appointment_id, patient_id, doctor_id, amount, currency, kind, \
           payment_status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $7) RETURNING {COLUMNS}"
    );
    let row: InvoiceRow = sqlx::query_as(AssertSqlSafe(sql))
        .bind(changed.appointment_id)
        .bind(changed.patient_id)
        .bind(changed.doctor_id)
        .bind(amount)
        .bind(currency)
        .bind(kind.as_str())
        .bind(to_millis(now))
        .fetch_one(&mut *conn)
        .await?;
    let (invoice, version) = <(Invoice, i64)>::try_from(row)?;
    publish(conn, types::INVOICE_CREATED, &invoice, version).await?;
    Ok(())
}

/// Sets a pending invoice's status, kind and amount, and tells of it.
async fn update(
    conn: &mut AnyConnection,
    id: i64,
    (status, kind, amount): (PaymentStatus, InvoiceKind, i64),
    now: Timestamp,
) -> anyhow::Result<()> {
    let sql = format!(
        "UPDATE invoices SET payment_status = $5, kind = $1, amount = $2, \
           updated_at = CASE WHEN updated_at < $3 THEN $3 ELSE updated_at + 1 END \
         WHERE id = $4 AND payment_status = 'PENDING' RETURNING {COLUMNS}"
    );
    let row: InvoiceRow = sqlx::query_as(AssertSqlSafe(sql))
        .bind(kind.as_str())
        .bind(amount)
        .bind(to_millis(now))
        .bind(id)
        .bind(status.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let (invoice, version) = <(Invoice, i64)>::try_from(row)?;
    publish(conn, types::INVOICE_UPDATED, &invoice, version).await?;
    Ok(())
}
