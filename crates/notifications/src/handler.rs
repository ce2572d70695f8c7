//! Appointment events become notifications and reminder changes, and every event a delivery to
//! each webhook subscribed to it, written inside the event consumer's transaction (which also
//! records the event id in the inbox). No network calls: contact data is fetched later, when
//! the worker delivers.

use contracts::events::{AppointmentChanged, MedicalRecordAdded, PatientErased, types};
use contracts::notifications::{Channel, NotificationKind};
use futures::future::BoxFuture;
use jiff::Timestamp;
use platform::events::Handler;
use platform::outbox::Envelope;
use platform::time::Clock;
use sqlx::AnyConnection;

use crate::domain::{Facts, NewNotificationRow, Recipient};
use crate::rules::{self, ReminderChange};
use crate::store::{
    Freshness, arm_reminders, cancel_reminders, erase_patient, insert_notification,
    record_appointment_state,
};
use crate::webhooks;

/// The `platform::events::Handler` of the notification service's queue.
#[derive(Debug, Clone)]
pub struct NotificationHandler {
    /// Every notification goes out once on each of these.
    channels: Vec<Channel>,
    /// `CAREBOOK_REMINDER_HOURS`, in minutes before the start.
    reminder_offsets: Vec<u32>,
    clock: Clock,
}

impl NotificationHandler {
    pub fn new(channels: Vec<Channel>, reminder_offsets: Vec<u32>, clock: Clock) -> Self {
        Self {
            channels,
            reminder_offsets,
            clock,
        }
    }

    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        // Every event may be some integrator's: their deliveries commit with this transaction.
        webhooks::enqueue(conn, event, self.clock.now()).await?;
        let now = self.clock.now();
        if event.event_type == types::PATIENT_ERASED {
            let erased: PatientErased = serde_json::from_value(event.data.clone())?;
            let done = erase_patient(conn, erased.patient_id).await?;
            tracing::info!(
                patient_id = erased.patient_id,
                notifications = done.notifications,
                reminders = done.reminders,
                doctors_notifications = done.doctors_notifications,
                webhook_deliveries = done.webhook_deliveries,
                "erased patient's notifications removed"
            );
            return Ok(());
        }
        if event.event_type == types::MEDICAL_RECORD_ADDED {
            let added: MedicalRecordAdded = serde_json::from_value(event.data.clone())?;
            let (recipient, kind, facts) = rules::record_notice(&added);
            return self
                .notify(conn, event, (recipient, kind), facts, now)
                .await;
        }
        if !rules::is_appointment_event(&event.event_type) {
            return Ok(());
        }
        let changed: AppointmentChanged = serde_json::from_value(event.data.clone())?;
        let Some(plan) = rules::plan(&event.event_type, &changed) else {
            return Ok(());
        };
        for (recipient, kind) in plan.notices {
            let facts = Facts::of(&changed, recipient.kind);
            self.notify(conn, event, (recipient, kind), facts, now)
                .await?;
        }
        // Events may arrive out of order (several consumers, redeliveries). A late one is still
        // history worth telling, but reminders follow the newest state only. The state row stays
        // locked until commit, so concurrent events of one appointment change reminders in turn.
        let freshness = record_appointment_state(conn, &changed).await?;
        match (freshness, plan.reminders) {
            (Freshness::Stale, _) => {}
            (Freshness::Newest, ReminderChange::Arm) => {
                arm_reminders(conn, &changed, &self.reminder_offsets, now).await?;
            }
            (Freshness::Newest, ReminderChange::Cancel) => {
                cancel_reminders(conn, changed.appointment_id).await?;
            }
        }
        tracing::debug!(
            event_id = %event.id,
            event_type = %event.event_type,
            appointment_id = changed.appointment_id,
            version = changed.version,
            stale = freshness == Freshness::Stale,
            "appointment event handled"
        );
        Ok(())
    }
}

impl NotificationHandler {
    /// One notification of `kind` to `recipient` on every channel.
    async fn notify(
        &self,
        conn: &mut AnyConnection,
        event: &Envelope,
        (recipient, kind): (Recipient, NotificationKind),
        facts: Facts,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        for &channel in &self.channels {
            let row = NewNotificationRow {
                recipient,
                channel,
                kind,
                appointment_id: facts.appointment_id,
                facts: facts.clone(),
                subject: None,
                message: None,
                // One event never yields two notifications of one kind to one recipient.
                dedupe_key: format!(
                    "{}:{}:{}:{}:{}",
                    event.id,
                    recipient.kind.as_str(),
                    recipient.id,
                    kind.as_str(),
                    channel.as_str()
                ),
            };
            insert_notification(conn, &row, now).await?;
        }
        Ok(())
    }
}

impl Handler for NotificationHandler {
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
