//! Appointment events keep the care relationships current, inside the consumer's transaction
//! (which also records the event id in the inbox).

use contracts::events::{AppointmentChanged, types};
use futures::future::BoxFuture;
use platform::events::Handler;
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::store::record_appointment;

/// The `platform::events::Handler` of the `records` queue.
#[derive(Debug, Clone, Default)]
pub struct CareHandler;

impl CareHandler {
    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
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
}
