//! Events out of order (two consumers on one queue, redeliveries): every event is still told,
//! but reminders follow the newest state of the appointment, by the version its events carry.
//! A rescheduled appointment is reminded of its new time, once.

use contracts::appointments::AppointmentStatus as S;
use contracts::events::{AppointmentChanged, types};
use contracts::notifications::NotificationKind as K;
use jiff::Timestamp;
use platform::events::{Delivered, Handler, deliver};
use platform::testing::TestDatabase;

use super::{Harness, appointment, envelope, hours, next, on_both_backends};
use crate::store::{ReminderPass, ReminderStatus};

on_both_backends!(
    a_cancellation_handled_before_a_late_approval_is_never_reminded,
    a_rescheduled_appointment_is_reminded_of_its_new_time_once,
    a_stale_reschedule_after_a_cancellation_changes_nothing,
    the_worker_refuses_a_reminder_its_appointment_no_longer_matches,
    payloads_without_a_version_apply_in_arrival_order_but_never_reopen,
);

/// Runs the worker at every hour until `until`; the reminders it sent in all.
async fn send_reminders_hourly(h: &Harness, until: Timestamp) -> usize {
    let worker = h.service.worker();
    let mut sent = 0;
    while h.now() < until {
        h.clock.set(h.now() + hours(1));
        sent += worker.send_due_reminders(h.now()).await.unwrap().sent;
    }
    sent
}

async fn a_cancellation_handled_before_a_late_approval_is_never_reminded(db: TestDatabase) {
    let h = Harness::new(db).await;
    let start = h.now() + hours(48);
    let requested = appointment(1, start, S::Requested);
    let approved = next(&requested, S::Approved);
    let cancelled = next(&approved, S::Cancelled);
    h.publish(types::APPOINTMENT_REQUESTED, &requested).await;

    // Another instance took the Approved event and is slower: the Cancelled one lands first.
    h.publish(types::APPOINTMENT_CANCELLED, &cancelled).await;
    let other = h.another_instance();
    let late = envelope(types::APPOINTMENT_APPROVED, &approved);
    let handler = other.handler();
    let delivered = deliver(other.db(), "notifications", handler.as_ref(), &late).await;
    assert_eq!(delivered.unwrap(), Delivered::Handled);

    // The confirmation is history the patient still sees; no reminder is armed.
    assert_eq!(h.of_kind(K::Confirmation).await.len(), 4);
    assert_eq!(h.of_kind(K::Cancellation).await.len(), 4);
    for offset in [24 * 60, 2 * 60] {
        assert_eq!(h.store().reminder_status(1, offset).await.unwrap(), None);
    }
    assert_eq!(send_reminders_hourly(&h, start + hours(1)).await, 0);
    assert!(h.of_kind(K::Reminder).await.is_empty());
}

async fn a_rescheduled_appointment_is_reminded_of_its_new_time_once(db: TestDatabase) {
    let h = Harness::with(db, |config| config.reminder_offsets_minutes = vec![24 * 60]).await;
    let worker = h.service.worker();
    let first = h.now() + hours(25);
    let approved = appointment(1, first, S::Approved);
    h.publish(types::APPOINTMENT_APPROVED, &approved).await;
    h.clock.set(h.now() + hours(1));
    assert_eq!(worker.send_due_reminders(h.now()).await.unwrap().sent, 1);

    // Moved two days on after its reminder went out: re-armed for the new time.
    let second = first + hours(48);
    let mut moved = next(&approved, S::Approved);
    moved.previous_start = Some(first);
    moved.start = second;
    moved.end = second + jiff::SignedDuration::from_mins(30);
    let event = h.publish(types::APPOINTMENT_RESCHEDULED, &moved).await;
    assert_eq!(
        h.store().reminder_status(1, 24 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, second - hours(24)))
    );

    assert_eq!(send_reminders_hourly(&h, second - hours(23)).await, 1);
    // The same change again, redelivered past the inbox and republished under a new id: it is
    // no newer than what is known, so nothing is re-armed.
    let mut tx = h.service.db().begin().await.unwrap();
    h.service.handler().handle(&mut tx, &event).await.unwrap();
    tx.commit().await.unwrap();
    h.publish(types::APPOINTMENT_RESCHEDULED, &moved).await;
    assert_eq!(
        h.store()
            .reminder_status(1, 24 * 60)
            .await
            .unwrap()
            .map(|r| r.0),
        Some(ReminderStatus::Sent)
    );
    assert_eq!(send_reminders_hourly(&h, second + hours(1)).await, 0);

    let reminders = h.of_kind(K::Reminder).await;
    assert_eq!(reminders.len(), 4, "one per time and channel");
    let mut starts: Vec<_> = reminders.iter().filter_map(|n| n.facts.start).collect();
    starts.sort_unstable();
    assert_eq!(starts, vec![first, first, second, second]);
}

async fn a_stale_reschedule_after_a_cancellation_changes_nothing(db: TestDatabase) {
    let h = Harness::new(db).await;
    let start = h.now() + hours(48);
    let approved = appointment(1, start, S::Approved);
    let mut moved = next(&approved, S::Approved);
    moved.previous_start = Some(start);
    moved.start = start + hours(24);
    let cancelled = next(&moved, S::Cancelled);
    h.publish(types::APPOINTMENT_APPROVED, &approved).await;
    h.publish(types::APPOINTMENT_CANCELLED, &cancelled).await;
    let before = h.store().reminder_status(1, 24 * 60).await.unwrap();
    assert_eq!(before.map(|r| r.0), Some(ReminderStatus::Cancelled));

    h.publish(types::APPOINTMENT_RESCHEDULED, &moved).await;

    assert_eq!(h.of_kind(K::Rescheduling).await.len(), 4, "still told");
    assert_eq!(h.store().reminder_status(1, 24 * 60).await.unwrap(), before);
    assert_eq!(
        h.store()
            .reminder_status(1, 2 * 60)
            .await
            .unwrap()
            .map(|r| r.0),
        Some(ReminderStatus::Cancelled)
    );
    assert_eq!(send_reminders_hourly(&h, moved.start + hours(1)).await, 0);
    assert!(h.of_kind(K::Reminder).await.is_empty());
}

async fn the_worker_refuses_a_reminder_its_appointment_no_longer_matches(db: TestDatabase) {
    let h = Harness::with(db, |config| config.reminder_offsets_minutes = vec![24 * 60]).await;
    let start = h.now() + hours(30);
    for id in [1, 2] {
        h.publish(
            types::APPOINTMENT_APPROVED,
            &appointment(id, start, S::Approved),
        )
        .await;
    }
    // Whatever let the reminders fall out of step, the newest state has the final word:
    // appointment 1 is cancelled, appointment 2 starts at another time.
    sqlx::query("UPDATE appointment_states SET status = 'CANCELLED' WHERE appointment_id = 1")
        .execute(h.service.db().pool())
        .await
        .unwrap();
    sqlx::query("UPDATE appointment_states SET start_at = start_at + 1 WHERE appointment_id = 2")
        .execute(h.service.db().pool())
        .await
        .unwrap();

    h.clock.set(start - hours(24));
    let pass = h
        .service
        .worker()
        .send_due_reminders(h.now())
        .await
        .unwrap();
    assert_eq!(
        pass,
        ReminderPass {
            cancelled: 2,
            ..ReminderPass::default()
        }
    );
    assert!(h.of_kind(K::Reminder).await.is_empty());
    for id in [1, 2] {
        let status = h.store().reminder_status(id, 24 * 60).await.unwrap();
        assert_eq!(status.map(|r| r.0), Some(ReminderStatus::Cancelled));
    }
}

async fn payloads_without_a_version_apply_in_arrival_order_but_never_reopen(db: TestDatabase) {
    let h = Harness::new(db).await;
    let store = h.store();
    // Published before events carried versions: the field is absent.
    let publish_unversioned = async |event_type: &str, changed: &AppointmentChanged| {
        let mut event = envelope(event_type, changed);
        if let Some(data) = event.data.as_object_mut() {
            data.remove("version");
        }
        assert_eq!(h.deliver(&event).await, Delivered::Handled);
    };
    let approved = appointment(1, h.now() + hours(48), S::Approved);
    publish_unversioned(types::APPOINTMENT_APPROVED, &approved).await;
    let mut moved = approved.clone();
    moved.start = h.now() + hours(72);
    publish_unversioned(types::APPOINTMENT_RESCHEDULED, &moved).await;
    assert_eq!(
        store.reminder_status(1, 24 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(48)))
    );

    let cancelled = AppointmentChanged {
        status: S::Cancelled,
        ..moved.clone()
    };
    publish_unversioned(types::APPOINTMENT_CANCELLED, &cancelled).await;
    // A cancelled appointment stays cancelled, whatever arrives after.
    publish_unversioned(types::APPOINTMENT_APPROVED, &approved).await;
    for offset in [24 * 60, 2 * 60] {
        let status = store.reminder_status(1, offset).await.unwrap();
        assert_eq!(status.map(|r| r.0), Some(ReminderStatus::Cancelled));
    }
    assert_eq!(send_reminders_hourly(&h, moved.start).await, 0);
    assert!(h.of_kind(K::Reminder).await.is_empty());
}
