//! Several events handled as one batch, the way the consumer takes them from the queue: each
//! event's notifications, reminders and webhook deliveries as if it had come alone, written
//! together; an erasure in the batch also removes what the events before it made.

use std::collections::HashSet;

use contracts::appointments::AppointmentStatus as S;
use contracts::events::{PatientErased, types};
use contracts::notifications::RecipientType;
use platform::events::{Delivered, deliver_batch};
use platform::outbox::Envelope;
use platform::testing::TestDatabase;

use super::{DOCTOR, Harness, PATIENT, appointment, envelope, hours, on_both_backends};

on_both_backends!(a_batch_writes_each_events_rows_and_an_erasure_takes_what_came_before_it,);

/// Another patient of the same doctor.
const OTHER_PATIENT: i64 = 7;

async fn a_batch_writes_each_events_rows_and_an_erasure_takes_what_came_before_it(
    db: TestDatabase,
) {
    let h = Harness::new(db).await;
    let conn = h.service.db().pool();
    sqlx::query(
        "INSERT INTO webhooks (url, event_types, secret, created_at) \
         VALUES ('https://hooks.example/a', ',AppointmentApproved,PatientErased,', 's', 0)",
    )
    .execute(conn)
    .await
    .unwrap();
    let approved = |id: i64, patient: i64| {
        let mut changed = appointment(id, h.now() + hours(72 + id), S::Approved);
        changed.patient_id = patient;
        envelope(types::APPOINTMENT_APPROVED, &changed)
    };
    let mut erased = envelope(types::PATIENT_ERASED, &appointment(0, h.now(), S::Approved));
    erased.data = serde_json::to_value(PatientErased {
        patient_id: PATIENT,
    })
    .unwrap();
    let (a, b, c) = (
        approved(1, PATIENT),
        approved(2, OTHER_PATIENT),
        approved(3, OTHER_PATIENT),
    );
    let batch: Vec<&Envelope> = vec![&a, &b, &erased, &c];
    let handler = h.service.handler();

    let delivered = deliver_batch(h.service.db(), "notifications", handler.as_ref(), &batch)
        .await
        .unwrap();
    assert_eq!(delivered, [Delivered::Handled; 4]);

    // Confirmations on every channel: none left for the erased patient, the other patient's
    // two, and the doctor's three (kept, without the patient's name).
    let stored = h.all().await;
    let channels = stored
        .iter()
        .map(|n| n.channel)
        .collect::<HashSet<_>>()
        .len();
    assert!(channels > 1, "the harness has several channels");
    let count = |kind: RecipientType, id: i64| {
        stored
            .iter()
            .filter(|n| n.recipient.kind == kind && n.recipient.id == id)
            .count()
    };
    assert_eq!(count(RecipientType::Patient, PATIENT), 0);
    assert_eq!(count(RecipientType::Patient, OTHER_PATIENT), 2 * channels);
    assert_eq!(count(RecipientType::Doctor, DOCTOR), 3 * channels);
    assert_eq!(stored.len(), 5 * channels);
    let reminders: Vec<(i64,)> =
        sqlx::query_as("SELECT DISTINCT patient_id FROM reminders ORDER BY patient_id")
            .fetch_all(conn)
            .await
            .unwrap();
    assert_eq!(reminders, [(OTHER_PATIENT,)]);
    // The delivery about the erased patient was dropped with them; the erasure's own stays.
    let pending = webhook_events(&h).await;
    let expected: HashSet<String> = [&b, &erased, &c]
        .iter()
        .map(|event| event.id.to_string())
        .collect();
    assert_eq!(pending, expected);

    // The batch again, as a redelivery: nothing new.
    let again = deliver_batch(h.service.db(), "notifications", handler.as_ref(), &batch)
        .await
        .unwrap();
    assert_eq!(again, [Delivered::Duplicate; 4]);
    assert_eq!(h.all().await.len(), stored.len());
    assert_eq!(webhook_events(&h).await, expected);
}

/// The event ids of the webhook deliveries waiting to be sent.
async fn webhook_events(h: &Harness) -> HashSet<String> {
    sqlx::query_as::<_, (String,)>(
        "SELECT event_id FROM webhook_deliveries WHERE status = 'PENDING'",
    )
    .fetch_all(h.service.db().pool())
    .await
    .unwrap()
    .into_iter()
    .map(|(id,)| id)
    .collect()
}
