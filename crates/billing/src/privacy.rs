//! The billing service's part in the patient's data rights: their invoices (with payments)
//! for an export, and the retention job removing an erased patient's invoices once
//! `CAREBOOK_RETENTION_INVOICES_YEARS` have passed.

use axum::extract::{Path, State};
use contracts::billing::Invoice;
use contracts::privacy::ExportPart;
use jiff::Timestamp;
use platform::auth::{Principal, Role};
use platform::db::Db;
use platform::time::to_millis;

use crate::AppState;
use crate::store::InvoiceStore;

/// For the patient service assembling an export (`SERVICE` only).
pub async fn export_part(
    State(state): State<AppState>,
    principal: Principal,
    Path(patient_id): Path<i64>,
) -> platform::Result<axum::Json<ExportPart<Invoice>>> {
    principal.require(&[Role::Service])?;
    Ok(axum::Json(ExportPart {
        items: state.store.of_patient(patient_id).await?,
        audit: state.store.audit().about_patient(patient_id).await?,
    }))
}

/// The retention job of the billing service.
#[derive(Debug, Clone)]
pub struct Retention {
    store: InvoiceStore,
    years: u32,
}

impl Retention {
    pub fn new(db: Db, years: u32) -> Self {
        Self {
            store: InvoiceStore::new(db),
            years,
        }
    }

    /// Removes the erased patients' invoices created before the retention period at `now`;
    /// how many went.
    pub async fn sweep(&self, now: Timestamp) -> anyhow::Result<u64> {
        let cutoff = platform::retention::cutoff(now, self.years);
        Ok(self.store.remove_past_retention(to_millis(cutoff)).await?)
    }
}
