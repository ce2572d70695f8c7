//! The billing service's tables, in portable SQL. Every change writes its event into the
//! outbox, and a change made by a person its audit row, inside the change's transaction.

use contracts::billing::{Invoice, InvoiceKind, PaymentStatus, PaymentType};
use contracts::events::{InvoiceChanged, types};
use jiff::Timestamp;
use platform::audit::{Action, AuditContext, AuditLog};
use platform::config::Service;
use platform::db::{Db, fetch_page, where_all};
use platform::page::PageRequest;
use platform::time::{to_millis, try_from_millis};
use platform::{ApiError, outbox};
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{AnyConnection, Arguments, AssertSqlSafe};

use crate::policy::{MayPay, MayRead};

mod effects;
mod payments;
mod retention;

pub use effects::apply;
pub use payments::Settlement;
pub use retention::record_erasure;

pub(crate) const SOURCE: &str = "billing";

/// The columns of `invoices`, in the order [`InvoiceRow`] reads them.
const COLUMNS: &str = "id, appointment_id, patient_id, amount, currency, kind, payment_status, \
     payment_type, created_at, paid_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct InvoiceRow {
    id: i64,
    appointment_id: i64,
    patient_id: i64,
    amount: i64,
    currency: String,
    kind: String,
    payment_status: String,
    payment_type: Option<String>,
    created_at: i64,
    paid_at: Option<i64>,
    updated_at: i64,
}

/// A stored row that cannot be an invoice is a data bug: a 500, never a plausible value.
impl TryFrom<InvoiceRow> for (Invoice, i64) {
    type Error = ApiError;

    fn try_from(row: InvoiceRow) -> Result<Self, ApiError> {
        let id = row.id;
        let bad = |what: String| ApiError::Internal(anyhow::anyhow!("invoice {id}: {what}"));
        let unknown = |column: &str, value: &str| bad(format!("unknown stored {column} `{value}`"));
        let instant = |ms| try_from_millis(ms).map_err(bad);
        let invoice = Invoice {
            id,
            patient_id: row.patient_id,
            appointment_id: row.appointment_id,
            amount: row.amount,
            payment_status: PaymentStatus::parse(&row.payment_status)
                .ok_or_else(|| unknown("status", &row.payment_status))?,
            payment_type: row
                .payment_type
                .map(|t| PaymentType::parse(&t).ok_or_else(|| unknown("payment type", &t)))
                .transpose()?,
            kind: InvoiceKind::parse(&row.kind).ok_or_else(|| unknown("kind", &row.kind))?,
            currency: row.currency,
            created_at: instant(row.created_at)?,
            paid_at: row.paid_at.map(instant).transpose()?,
        };
        Ok((invoice, row.updated_at))
    }
}

fn decode(row: InvoiceRow) -> platform::Result<Invoice> {
    <(Invoice, i64)>::try_from(row).map(|(invoice, _)| invoice)
}

/// An invoice nobody may see until the policy says who may.
#[derive(Debug)]
pub struct Sealed(Invoice);

impl Sealed {
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn patient_id(&self) -> i64 {
        self.0.patient_id
    }

    /// Opened by the proof that the caller may see it.
    pub fn open(self, proof: MayRead) -> Invoice {
        debug_assert_eq!(proof.invoice_id(), self.0.id);
        self.0
    }

    #[cfg(test)]
    pub fn for_test(id: i64, patient_id: i64) -> Self {
        Self(Invoice {
            id,
            patient_id,
            appointment_id: 1,
            amount: 1,
            currency: "EUR".to_owned(),
            payment_status: PaymentStatus::Pending,
            payment_type: None,
            kind: InvoiceKind::Visit,
            created_at: Timestamp::UNIX_EPOCH,
            paid_at: None,
        })
    }
}

/// Which invoices a list asks for; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub patient_id: Option<i64>,
    pub payment_status: Option<PaymentStatus>,
}

impl ListFilter {
    fn where_clause(&self, args: &mut AnyArguments) -> Result<String, BoxDynError> {
        let mut conditions = Vec::new();
        if let Some(id) = self.patient_id {
            args.add(id)?;
            conditions.push(format!("patient_id = ${}", args.len()));
        }
        if let Some(status) = self.payment_status {
            args.add(status.as_str())?;
            conditions.push(format!("payment_status = ${}", args.len()));
        }
        Ok(where_all(&conditions))
    }
}

#[derive(Debug, Clone)]
pub struct InvoiceStore {
    db: Db,
    audit: AuditLog,
}

impl InvoiceStore {
    pub fn new(db: Db) -> Self {
        Self {
            audit: AuditLog::new(db.clone(), Service::Billing.name()),
            db,
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub async fn find(&self, id: i64) -> platform::Result<Option<Sealed>> {
        let sql = format!("SELECT {COLUMNS} FROM invoices WHERE id = $1");
        let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| decode(row).map(Sealed)).transpose()
    }

    /// A page of invoices, newest first, with the total count. The filter comes from the
    /// policy's `scope_list`.
    pub async fn list(
        &self,
        filter: &ListFilter,
        page: PageRequest,
    ) -> platform::Result<(Vec<Invoice>, i64)> {
        let (rows, total): (Vec<InvoiceRow>, i64) = fetch_page(
            &self.db,
            ("invoices", COLUMNS, "id DESC"),
            &|args| filter.where_clause(args),
            page,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(decode)
            .collect::<platform::Result<_>>()?;
        Ok((items, total))
    }

    /// Marks a `PENDING` invoice paid; `None` when it is not `PENDING` (any more). The status
    /// is in the WHERE clause, so of two racing payments one wins.
    pub async fn pay(
        &self,
        proof: MayPay,
        payment_type: PaymentType,
        ctx: &AuditContext,
        now: Timestamp,
    ) -> platform::Result<Option<Invoice>> {
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE invoices SET payment_status = 'PAID', payment_type = $1, paid_at = $2, \
               updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at + 1 END \
             WHERE id = $3 AND payment_status = 'PENDING' RETURNING {COLUMNS}"
        );
        let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(payment_type.as_str())
            .bind(to_millis(now))
            .bind(proof.invoice_id())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
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
        Ok(Some(invoice))
    }
}

/// Writes the invoice's new state into the outbox.
async fn publish(
    conn: &mut AnyConnection,
    event_type: &str,
    invoice: &Invoice,
    version: i64,
) -> platform::Result<()> {
    let data = InvoiceChanged {
        invoice_id: invoice.id,
        appointment_id: invoice.appointment_id,
        patient_id: invoice.patient_id,
        amount: invoice.amount,
        currency: invoice.currency.clone(),
        payment_status: invoice.payment_status,
        kind: invoice.kind,
        version,
        created_at: Some(invoice.created_at),
        paid_at: invoice.paid_at,
    };
    outbox::append(conn, SOURCE, event_type, invoice.id, &data).await?;
    Ok(())
}
