//! Appointment events keep the care relationships current and an erasure ends them, inside the
//! consumer's transaction (which also records the event ids in the inbox). A batch's
//! relationships are written together, one statement for the run of events before each
//! erasure and one at the end.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use contracts::events::{AppointmentChanged, PatientErased, types};
use futures::future::BoxFuture;
use platform::events::{Batch, Handler};
use platform::outbox::Envelope;
use sqlx::AnyConnection;
use tracing::Instrument;

use crate::store::{record_appointments, record_erasure};

/// The `platform::events::Handler` of the `records` queue.
#[derive(Debug, Clone, Default)]
pub struct CareHandler;

/// The newest state of each appointment of a run of events, by id; of two states with one
/// version the later wins, as it would one event at a time.
type Newest = BTreeMap<i64, AppointmentChanged>;

impl CareHandler {
    /// Handles the batch's events in order, each in its span.
    async fn apply_all(&self, conn: &mut AnyConnection, batch: Batch<'_>) -> anyhow::Result<()> {
        let mut newest = Newest::new();
        for &event in batch.events() {
            let span = batch.span(event);
            if event.event_type == types::PATIENT_ERASED {
                // What came before the erasure is written first, so that it ends that too.
                write(conn, &mut newest).await?;
                erase(conn, event).instrument(span).await?;
            } else {
                span.in_scope(|| gather(event, &mut newest))?;
            }
        }
        write(conn, &mut newest).await
    }
}

fn gather(event: &Envelope, newest: &mut Newest) -> anyhow::Result<()> {
    if !types::APPOINTMENTS.contains(&event.event_type.as_str()) {
        return Ok(());
    }
    let changed: AppointmentChanged = serde_json::from_value(event.data.clone())?;
    tracing::debug!(event_id = %event.id, appointment_id = changed.appointment_id,
        "care relationship updated");
    match newest.entry(changed.appointment_id) {
        Entry::Vacant(entry) => {
            entry.insert(changed);
        }
        Entry::Occupied(mut entry) if entry.get().version <= changed.version => {
            entry.insert(changed);
        }
        Entry::Occupied(_) => {}
    }
    Ok(())
}

async fn write(conn: &mut AnyConnection, newest: &mut Newest) -> anyhow::Result<()> {
    let changes: Vec<&AppointmentChanged> = newest.values().collect();
    record_appointments(conn, &changes).await?;
    newest.clear();
    Ok(())
}

/// Ends the erased patient's care relationships; the records stay until their retention has
/// passed (see `retention`).
async fn erase(conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
    let erased: PatientErased = serde_json::from_value(event.data.clone())?;
    let at = event.occurred_at.as_millisecond();
    record_erasure(conn, erased.patient_id, at).await?;
    tracing::info!(
        patient_id = erased.patient_id,
        "patient erased: records retained"
    );
    Ok(())
}

impl Handler for CareHandler {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use platform::testing::TestDatabase;
    use serde_json::json;

    use super::*;
    use crate::MIGRATIONS;

    /// Event `n` of the history below, as the broker delivers it.
    fn envelope(n: usize, event_type: &str, data: serde_json::Value) -> Envelope {
        serde_json::from_value(json!({
            "id": format!("00000000-0000-7000-8000-{n:012}"),
            "type": event_type,
            "occurredAt": "2026-12-01T12:00:00Z",
            "source": "test",
            "data": data,
        }))
        .unwrap()
    }

    /// Appointments moving on, one event late, and an erasure between two events of its
    /// patient's.
    fn history() -> Vec<Envelope> {
        let visit = |appointment_id, patient_id, status, version| {
            json!({
                "appointmentId": appointment_id, "patientId": patient_id, "doctorId": 7,
                "start": "2026-12-14T15:00:00Z", "end": "2026-12-14T15:30:00Z",
                "status": status, "version": version,
            })
        };
        let steps = [
            (types::APPOINTMENT_REQUESTED, visit(1, 1, "REQUESTED", 1)),
            (types::APPOINTMENT_APPROVED, visit(1, 1, "APPROVED", 2)),
            (types::APPOINTMENT_APPROVED, visit(2, 2, "APPROVED", 2)),
            (types::APPOINTMENT_REQUESTED, visit(2, 2, "REQUESTED", 1)),
            (types::PATIENT_ERASED, json!({ "patientId": 1 })),
            (types::APPOINTMENT_REQUESTED, visit(3, 1, "REQUESTED", 1)),
            (types::APPOINTMENT_CANCELLED, visit(2, 2, "CANCELLED", 3)),
        ];
        steps
            .into_iter()
            .enumerate()
            .map(|(n, (event_type, data))| envelope(n, event_type, data))
            .collect()
    }

    async fn apply(database: &TestDatabase, events: &[Envelope]) {
        let events: Vec<&Envelope> = events.iter().collect();
        let mut tx = database.db.begin().await.unwrap();
        CareHandler
            .handle_batch(&mut tx, Batch::current(&events))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn relationships(database: &TestDatabase) -> Vec<(i64, i64, String, i64)> {
        sqlx::query_as(
            "SELECT appointment_id, patient_id, status, version FROM care_relationships \
             ORDER BY appointment_id",
        )
        .fetch_all(database.db.pool())
        .await
        .unwrap()
    }

    /// One batch ends where one event at a time ends: the newest state of each appointment,
    /// and the erasure ending what came before it, not what came after.
    async fn a_batch_ends_as_events_one_by_one(database: impl AsyncFn() -> TestDatabase) {
        let one_by_one = database().await;
        for event in history() {
            apply(&one_by_one, &[event]).await;
        }
        let expected = relationships(&one_by_one).await;
        assert_eq!(
            expected,
            [
                (2, 2, "CANCELLED".to_owned(), 3),
                (3, 1, "REQUESTED".to_owned(), 1)
            ]
        );
        let batched = database().await;
        apply(&batched, &history()).await;
        assert_eq!(relationships(&batched).await, expected);
    }

    #[tokio::test]
    async fn a_batch_ends_as_events_one_by_one_on_sqlite() {
        a_batch_ends_as_events_one_by_one(async || TestDatabase::sqlite(&MIGRATIONS).await).await;
    }

    #[tokio::test]
    async fn a_batch_ends_as_events_one_by_one_on_postgres() {
        a_batch_ends_as_events_one_by_one(async || TestDatabase::postgres(&MIGRATIONS).await).await;
    }
}
