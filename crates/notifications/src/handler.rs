//! Appointment events become notifications and reminder changes, and every event a delivery to
//! each webhook subscribed to it, written inside the event consumer's transaction (which also
//! records the event id in the inbox). A batch's notifications and deliveries are written
//! together, a few statements for the whole batch. No network calls: contact data is fetched
//! later, when the worker delivers.

use contracts::events::{AppointmentChanged, MedicalRecordAdded, PatientErased, types};
use contracts::notifications::{Channel, NotificationKind};
use futures::future::BoxFuture;
use jiff::Timestamp;
use platform::events::{Batch, Handler};
use platform::outbox::Envelope;
use platform::time::Clock;
use sqlx::AnyConnection;
use tracing::Instrument;

use crate::domain::{Facts, NewNotificationRow, Recipient};
use crate::rules::{self, ReminderChange};
use crate::store::{
    Freshness, arm_reminders, cancel_reminders, erase_patient, insert_notifications,
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

    /// Handles the batch's events in order, each in its span. Notifications and webhook
    /// deliveries are written once for the run of events before each erasure (and once at the
    /// end), so that an erasure also removes what the events before it made.
    async fn apply_all(&self, conn: &mut AnyConnection, batch: Batch<'_>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let mut pending = Pending::default();
        for &event in batch.events() {
            // Every event may be some integrator's, the erasure too.
            pending.events.push(event);
            if event.event_type == types::PATIENT_ERASED {
                pending.write(conn, now).await?;
                erase(conn, event).instrument(batch.span(event)).await?;
                continue;
            }
            self.apply(conn, event, now, &mut pending.notifications)
                .instrument(batch.span(event))
                .await?;
        }
        pending.write(conn, now).await
    }

    /// What `event` means: its notifications go to `notifications`; the appointment's state
    /// and reminders change at once.
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &Envelope,
        now: Timestamp,
        notifications: &mut Vec<NewNotificationRow>,
    ) -> anyhow::Result<()> {
        if event.event_type == types::MEDICAL_RECORD_ADDED {
            let added: MedicalRecordAdded = serde_json::from_value(event.data.clone())?;
            let (recipient, kind, facts) = rules::record_notice(&added);
            self.notify(event, (recipient, kind), &facts, notifications);
            return Ok(());
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
            self.notify(event, (recipient, kind), &facts, notifications);
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

    /// One notification of `kind` to `recipient` on every channel.
    fn notify(
        &self,
        event: &Envelope,
        (recipient, kind): (Recipient, NotificationKind),
        facts: &Facts,
        notifications: &mut Vec<NewNotificationRow>,
    ) {
        notifications.extend(self.channels.iter().map(|&channel| NewNotificationRow {
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
        }));
    }
}

/// Rows a run of events makes that are written together.
#[derive(Default)]
struct Pending<'a> {
    /// The run's events, for their webhook deliveries.
    events: Vec<&'a Envelope>,
    notifications: Vec<NewNotificationRow>,
}

impl Pending<'_> {
    async fn write(&mut self, conn: &mut AnyConnection, now: Timestamp) -> anyhow::Result<()> {
        webhooks::enqueue(conn, &self.events, now).await?;
        insert_notifications(conn, &self.notifications, now).await?;
        self.events.clear();
        self.notifications.clear();
        Ok(())
    }
}

/// Removes what the service holds about the erased patient.
async fn erase(conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
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
    Ok(())
}

impl Handler for NotificationHandler {
    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        batch: Batch<'a>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply_all(conn, batch))
    }

    fn erases(&self, event: &Envelope) -> bool {
        event.event_type == types::PATIENT_ERASED
    }
}
