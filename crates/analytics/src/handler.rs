//! Every event type becomes read-model changes, written inside the event consumer's
//! transaction (which also records the event id in the inbox). The same function replays the
//! history in `carebook analytics-rebuild`.

use contracts::events::{
    AppointmentChanged, DoctorChanged, InvoiceChanged, MedicalRecordAdded, PatientChanged, types,
};
use futures::future::BoxFuture;
use jiff::tz::TimeZone;
use platform::events::Handler;
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::store::facts::{self, Once};

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

    /// Applies one event to the read models; types that say nothing for figures are skipped.
    pub async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        let data = || event.data.clone();
        let day = || facts::day_of(event.occurred_at, &self.zone);
        match event.event_type.as_str() {
            t if types::APPOINTMENTS.contains(&t) => {
                let changed: AppointmentChanged = serde_json::from_value(data())?;
                facts::apply_appointment(conn, &changed, &self.zone).await?;
            }
            types::INVOICE_CREATED | types::INVOICE_PAID | types::INVOICE_UPDATED => {
                let changed: InvoiceChanged = serde_json::from_value(data())?;
                facts::apply_invoice(conn, &changed, event.occurred_at, &self.zone).await?;
            }
            types::DOCTOR_CREATED | types::DOCTOR_UPDATED => {
                let changed: DoctorChanged = serde_json::from_value(data())?;
                facts::apply_doctor(conn, &changed).await?;
            }
            types::PATIENT_REGISTERED => {
                let changed: PatientChanged = serde_json::from_value(data())?;
                facts::count_once(conn, Once::PatientRegistered, changed.patient_id, &day())
                    .await?;
            }
            types::MEDICAL_RECORD_ADDED => {
                let added: MedicalRecordAdded = serde_json::from_value(data())?;
                facts::count_once(conn, Once::RecordAdded, added.record_id, &day()).await?;
            }
            _ => return Ok(()),
        }
        tracing::debug!(event_id = %event.id, event_type = %event.event_type, "event counted");
        Ok(())
    }
}

impl Handler for AnalyticsHandler {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }
}
