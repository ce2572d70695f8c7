//! Appointment events keep the care relationships current and an erasure ends them, inside the consumer's transaction
//! (which also records the event id in the inbox).

use contracts::events::{AppointmentChanged, PatientErased, types};
use futures::future::BoxFuture;
use platform::events::Handler;
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::store::{record_appointment, record_erasure};

/// The `platform::events::Handler` of the `records` queue.
#[derive(Debug, Clone, Default)]
pub struct CareHandler;

impl CareHandler {
    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type == types::PATIENT_ERASED {
            // The records stay until their retention has passed (see `retention`).
            let erased: PatientErased = serde_json::from_value(event.data.clone())?;
            let at = event.occurred_at.as_millisecond();
            record_erasure(conn, erased.patient_id, at).await?;
            tracing::info!(
                patient_id = erased.patient_id,
                "patient erased: records retained"
            );
            return Ok(());
        }
        if !types::APPOINTMENTS.contains(&event.event_type.as_str()) {
            return Ok(());
        }
        let changed: AppointmentChanged = serde_json::from_value(event.data.clone())?;
        record_appointment(conn, &changed).await?;
        tracing::debug!(event_id = %event.id, appointment_id = changed.appointment_id,
            "care relationship updated");
        Ok(())
    }
}

impl Handler for CareHandler {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }

    fn erases(&self, event: &Envelope) -> bool {
        event.event_type == types::PATIENT_ERASED
    }
}
