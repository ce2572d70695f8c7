//! Appointment events become invoice changes, written inside the event consumer's transaction
//! (which also records the event id in the inbox, so a redelivered event changes nothing).

use contracts::events::{AppointmentChanged, PatientErased, types};
use futures::future::BoxFuture;
use platform::events::Handler;
use platform::outbox::Envelope;
use platform::time::Clock;
use sqlx::AnyConnection;

use crate::fees::PriceList;
use crate::store;

/// The `platform::events::Handler` of the billing service's queue.
#[derive(Debug, Clone)]
pub struct BillingHandler {
    prices: PriceList,
    clock: Clock,
}

impl BillingHandler {
    pub fn new(prices: PriceList, clock: Clock) -> Self {
        Self { prices, clock }
    }

    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type == types::PATIENT_ERASED {
            // Invoices hold ids and amounts only: they stay until their retention has passed.
            let erased: PatientErased = serde_json::from_value(event.data.clone())?;
            let at = event.occurred_at.as_millisecond();
            store::record_erasure(conn, erased.patient_id, at).await?;
            tracing::info!(
                patient_id = erased.patient_id,
                "patient erased: invoices retained"
            );
            return Ok(());
        }
        if !types::APPOINTMENTS.contains(&event.event_type.as_str()) {
            return Ok(());
        }
        let changed: AppointmentChanged = serde_json::from_value(event.data.clone())?;
        let effect = store::apply(conn, &changed, &self.prices, self.clock.now()).await?;
        tracing::debug!(
            event_id = %event.id,
            event_type = %event.event_type,
            appointment_id = changed.appointment_id,
            version = changed.version,
            ?effect,
            "appointment event billed"
        );
        Ok(())
    }
}

impl Handler for BillingHandler {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }

    /// Invoices created and updated are events of billing's own.
    fn outbox(&self) -> Option<&'static str> {
        Some(store::SOURCE)
    }

    fn erases(&self, event: &Envelope) -> bool {
        event.event_type == types::PATIENT_ERASED
    }
}
