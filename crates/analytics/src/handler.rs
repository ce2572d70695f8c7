//! Every event type becomes read-model changes, written inside the event consumer's
//! transaction (which also records the event ids in the inbox). A batch's changes are gathered
//! and written together, a few statements per table for the whole batch. The same function
//! replays the history in `carebook analytics-rebuild`.

use contracts::events::{
    AppointmentChanged, DoctorChanged, InvoiceChanged, MedicalRecordAdded, PatientChanged, types,
};
use futures::future::BoxFuture;
use jiff::tz::TimeZone;
use platform::events::{Batch, Handler};
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::store::facts::{self, Changes, Once};

/// The `platform::events::Handler` of the analytics queue.
#[derive(Debug, Clone)]
pub struct AnalyticsHandler {
    /// The clinic's zone: which day an instant belongs to.
    zone: TimeZone,
}

impl AnalyticsHandler {
    pub fn new(zone: TimeZone) -> Self {
        Self { zone }
    }

    /// Applies the batch's events to the read models, each read in its span, their changes
    /// written together.
    pub async fn apply_all(
        &self,
        conn: &mut AnyConnection,
        batch: Batch<'_>,
    ) -> anyhow::Result<()> {
        let mut changes = Changes::default();
        for &event in batch.events() {
            batch
                .span(event)
                .in_scope(|| self.gather(event, &mut changes))?;
        }
        changes.write(conn).await
    }

    /// What one event changes; types that say nothing for figures are skipped.
    fn gather(&self, event: &Envelope, changes: &mut Changes) -> anyhow::Result<()> {
        let data = || event.data.clone();
        let day = || facts::day_of(event.occurred_at, &self.zone);
        match event.event_type.as_str() {
            t if types::APPOINTMENTS.contains(&t) => {
                let changed: AppointmentChanged = serde_json::from_value(data())?;
                changes.appointment(&changed, &self.zone);
            }
            types::INVOICE_CREATED | types::INVOICE_PAID | types::INVOICE_UPDATED => {
                let changed: InvoiceChanged = serde_json::from_value(data())?;
                changes.invoice(&changed, event.occurred_at, &self.zone);
            }
            types::DOCTOR_CREATED | types::DOCTOR_UPDATED => {
                let changed: DoctorChanged = serde_json::from_value(data())?;
                changes.doctor(&changed);
            }
            types::PATIENT_REGISTERED => {
                let changed: PatientChanged = serde_json::from_value(data())?;
                changes.once(Once::PatientRegistered, changed.patient_id, day());
            }
            types::MEDICAL_RECORD_ADDED => {
                let added: MedicalRecordAdded = serde_json::from_value(data())?;
                changes.once(Once::RecordAdded, added.record_id, day());
            }
            _ => return Ok(()),
        }
        tracing::debug!(event_id = %event.id, event_type = %event.event_type, "event counted");
        Ok(())
    }
}

impl Handler for AnalyticsHandler {
    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        batch: Batch<'a>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply_all(conn, batch))
    }
}
