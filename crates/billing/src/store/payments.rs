//! Card payments in the store: the intent a checkout made, and the provider's word that it
//! was paid. Paying writes the invoice, its `InvoicePaid` event, the handled event's id and the
//! audit row in one transaction.

use contracts::billing::{Invoice, PaymentType};
use contracts::events::types;
use jiff::Timestamp;
use platform::audit::{Action, AuditContext};
use platform::time::to_millis;
use sqlx::AssertSqlSafe;

use super::{COLUMNS, InvoiceRow, InvoiceStore, SOURCE, publish};
use crate::payments::{ProviderEvent, Signed};
use crate::policy::MayPay;
use platform::outbox;

/// What a verified provider event did.
#[derive(Debug)]
pub enum Settlement {
    /// The invoice is now `PAID` with `CARD`.
    Paid(Invoice),
    /// This event id was handled before: nothing changed.
    Duplicate,
    /// Not a payment of a `PENDING` invoice through the intent its checkout made (another event
    /// type, another intent, another amount, or already paid): nothing changed.
    Ignored,
}

impl InvoiceStore {
    /// Remembers `intent_id` as the payment of the invoice at `amount`, with the caller's audit
    /// row; `false` when the invoice is no longer `PENDING` at that amount.
    pub async fn attach_intent(
        &self,
        proof: MayPay,
        intent_id: &str,
        amount: i64,
        ctx: &AuditContext,
    ) -> platform::Result<bool> {
        let mut tx = self.db.begin().await?;
        let updated = sqlx::query(
            "UPDATE invoices SET payment_intent_id = $1 \
             WHERE id = $2 AND payment_status = 'PENDING' AND amount = $3 RETURNING patient_id",
        )
        .bind(intent_id)
        .bind(proof.invoice_id())
        .bind(amount)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = updated else {
            return Ok(false);
        };
        let patient_id: i64 = sqlx::Row::try_get(&row, 0)?;
        let resource = format!("invoice/{}", proof.invoice_id());
        self.audit
            .record_in(&mut tx, ctx, Some(patient_id), Action::Update, &resource)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Applies a provider event the signature vouches for, once per event id: a succeeded
    /// intent pays its invoice (`CARD`) if it is the intent of that invoice's checkout and
    /// charged the invoice's amount in its currency.
    pub async fn settle(
        &self,
        _signed: Signed,
        event: &ProviderEvent,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> platform::Result<Settlement> {
        let mut tx = self.db.begin().await?;
        let first = sqlx::query(
            "INSERT INTO payment_events (event_id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if first == 0 {
            return Ok(Settlement::Duplicate);
        }
        let Some(paid) = event.succeeded() else {
            tx.commit().await?;
            return Ok(Settlement::Ignored);
        };
        let sql = format!(
            "UPDATE invoices SET payment_status = 'PAID', payment_type = $1, paid_at = $2, \
               updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at + 1 END \
             WHERE id = $3 AND payment_status = 'PENDING' AND payment_intent_id = $4 \
               AND amount = $5 AND LOWER(currency) = $6 RETURNING {COLUMNS}"
        );
        let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(PaymentType::Card.as_str())
            .bind(to_millis(now))
            .bind(paid.invoice_id)
            .bind(&paid.intent_id)
            .bind(paid.amount)
            .bind(&paid.currency)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(Settlement::Ignored);
        };
        let (invoice, version) = <(Invoice, i64)>::try_from(row)?;
        publish(&mut tx, types::INVOICE_PAID, &invoice, version).await?;
        let resource = format!("invoice/{}", invoice.id);
        self.audit
            .record_in(
                &mut tx,
                ctx,
                Some(invoice.patient_id),
                Action::Update,
                &resource,
            )
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(Settlement::Paid(invoice))
    }
}
