//! Appointment events through the handler: who is told what, once, and what becomes of the
//! appointment's reminders.

use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::{Channel, NotificationKind as K, NotificationStatus, RecipientType};
use platform::events::{Delivered, Handler};
use platform::testing::TestDatabase;

use super::{
    DOCTOR, Harness, PATIENT, appointment, envelope, hours, next, on_both_backends, summary,
};
use crate::domain::Facts;
use crate::store::ReminderStatus;

on_both_backends!(
    a_request_asks_the_doctor_and_a_repeat_changes_nothing,
    each_event_notifies_its_recipients_on_every_channel,
    approval_schedules_reminders_still_ahead,
    rescheduling_moves_reminders_and_other_endings_cancel_them,
    events_this_service_does_not_use_are_consumed_quietly,
);

async fn a_request_asks_the_doctor_and_a_repeat_changes_nothing(db: TestDatabase) {
    let h = Harness::new(db).await;
    let changed = appointment(1, h.now() + hours(72), S::Requested);
    let event = h.publish(types::APPOINTMENT_REQUESTED, &changed).await;

    let stored = h.all().await;
    assert_eq!(
        summary(&stored),
        vec![
            (
                RecipientType::Doctor,
                DOCTOR,
                K::ApprovalRequest,
                Channel::InApp
            ),
            (
                RecipientType::Doctor,
                DOCTOR,
                K::ApprovalRequest,
                Channel::Sms
            ),
        ]
    );
    let n = &stored[0];
    assert_eq!(n.status, NotificationStatus::Pending);
    assert_eq!((n.attempts, n.appointment_id), (0, Some(1)));
    assert_eq!(n.message, None, "rendered only when delivered");
    assert_eq!(
        n.facts,
        Facts {
            appointment_id: Some(1),
            start: Some(changed.start),
            end: Some(changed.end),
            previous_start: None,
            counterpart_id: Some(PATIENT),
        }
    );

    // Redelivery: the inbox absorbs it.
    assert_eq!(h.deliver(&event).await, Delivered::Duplicate);
    // Even handled again outside the inbox, the dedupe keys keep one notification per
    // recipient, kind and channel.
    let mut tx = h.service.db().begin().await.unwrap();
    h.service.handler().handle(&mut tx, &event).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(h.all().await.len(), 2);
    // A different event about the same change is a different notification.
    h.publish(types::APPOINTMENT_REQUESTED, &changed).await;
    assert_eq!(h.all().await.len(), 4);
}

async fn each_event_notifies_its_recipients_on_every_channel(db: TestDatabase) {
    let h = Harness::new(db).await;
    let start = h.now() + hours(72);
    let both = |kind| {
        vec![
            (RecipientType::Doctor, DOCTOR, kind, Channel::InApp),
            (RecipientType::Doctor, DOCTOR, kind, Channel::Sms),
            (RecipientType::Patient, PATIENT, kind, Channel::InApp),
            (RecipientType::Patient, PATIENT, kind, Channel::Sms),
        ]
    };
    let cases = [
        // A doctor who approves automatically: the request is already a confirmation.
        (
            types::APPOINTMENT_REQUESTED,
            S::Approved,
            K::Confirmation,
            both(K::Confirmation),
        ),
        (
            types::APPOINTMENT_APPROVED,
            S::Approved,
            K::Confirmation,
            both(K::Confirmation),
        ),
        (
            types::APPOINTMENT_REJECTED,
            S::Rejected,
            K::Rejection,
            vec![
                (
                    RecipientType::Patient,
                    PATIENT,
                    K::Rejection,
                    Channel::InApp,
                ),
                (RecipientType::Patient, PATIENT, K::Rejection, Channel::Sms),
            ],
        ),
        (
            types::APPOINTMENT_CANCELLED,
            S::Cancelled,
            K::Cancellation,
            both(K::Cancellation),
        ),
        (
            types::APPOINTMENT_RESCHEDULED,
            S::Approved,
            K::Rescheduling,
            both(K::Rescheduling),
        ),
        (
            types::APPOINTMENT_COMPLETED,
            S::Completed,
            K::Message,
            vec![],
        ),
        (types::APPOINTMENT_NO_SHOW, S::NoShow, K::Message, vec![]),
    ];
    for (id, (event_type, status, kind, expected)) in (10..).zip(cases) {
        h.publish(event_type, &appointment(id, start, status)).await;
        let of_appointment: Vec<_> = h
            .all()
            .await
            .into_iter()
            .filter(|n| n.appointment_id == Some(id) && n.kind == kind)
            .collect();
        assert_eq!(
            summary(&of_appointment),
            expected,
            "{event_type} {status:?}"
        );
    }
}

async fn approval_schedules_reminders_still_ahead(db: TestDatabase) {
    let h = Harness::new(db).await;
    // 24 h and 2 h before a start 3 h away: only the 2-hour reminder is still ahead.
    let soon = appointment(1, h.now() + hours(3), S::Approved);
    h.publish(types::APPOINTMENT_APPROVED, &soon).await;
    let store = h.store();
    assert_eq!(store.reminder_status(1, 24 * 60).await.unwrap(), None);
    assert_eq!(
        store.reminder_status(1, 2 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(1)))
    );

    let later = appointment(2, h.now() + hours(48), S::Approved);
    h.publish(types::APPOINTMENT_REQUESTED, &later).await;
    assert_eq!(
        store.reminder_status(2, 24 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(24)))
    );
    // Approving again (a repeated decision) keeps the reminders as they are.
    h.publish(types::APPOINTMENT_APPROVED, &later).await;
    assert_eq!(
        store.reminder_status(2, 2 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(46)))
    );
    // A request waiting for its doctor has none.
    let requested = appointment(3, h.now() + hours(48), S::Requested);
    h.publish(types::APPOINTMENT_REQUESTED, &requested).await;
    assert_eq!(store.reminder_status(3, 24 * 60).await.unwrap(), None);
}

async fn rescheduling_moves_reminders_and_other_endings_cancel_them(db: TestDatabase) {
    let h = Harness::new(db).await;
    let store = h.store();
    let approved = appointment(1, h.now() + hours(48), S::Approved);
    h.publish(types::APPOINTMENT_APPROVED, &approved).await;

    // Moved a day later: both reminders follow.
    let mut a = next(&approved, S::Approved);
    a.previous_start = Some(approved.start);
    a.start = h.now() + hours(72);
    h.publish(types::APPOINTMENT_RESCHEDULED, &a).await;
    assert_eq!(
        store.reminder_status(1, 24 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(48)))
    );
    assert_eq!(
        store.reminder_status(1, 2 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(70)))
    );
    // Moved to 10 h from now: the 24-hour reminder would be late and is dropped.
    a.version += 1;
    a.start = h.now() + hours(10);
    h.publish(types::APPOINTMENT_RESCHEDULED, &a).await;
    assert_eq!(
        store
            .reminder_status(1, 24 * 60)
            .await
            .unwrap()
            .map(|r| r.0),
        Some(ReminderStatus::Cancelled)
    );
    assert_eq!(
        store.reminder_status(1, 2 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(8)))
    );
    // And back to 72 h: there is time for the 24-hour reminder again.
    a.version += 1;
    a.start = h.now() + hours(72);
    h.publish(types::APPOINTMENT_RESCHEDULED, &a).await;
    assert_eq!(
        store.reminder_status(1, 24 * 60).await.unwrap(),
        Some((ReminderStatus::Scheduled, h.now() + hours(48)))
    );

    // A request moved while it waits for its doctor has none; nor has anything that ended.
    for (id, event_type, status) in [
        (2, types::APPOINTMENT_RESCHEDULED, S::Requested),
        (3, types::APPOINTMENT_CANCELLED, S::Cancelled),
        (4, types::APPOINTMENT_REJECTED, S::Rejected),
        (5, types::APPOINTMENT_COMPLETED, S::Completed),
        (6, types::APPOINTMENT_NO_SHOW, S::NoShow),
    ] {
        let approved = appointment(id, h.now() + hours(48), S::Approved);
        h.publish(types::APPOINTMENT_APPROVED, &approved).await;
        h.publish(event_type, &next(&approved, status)).await;
        for offset in [24 * 60, 2 * 60] {
            let status = store.reminder_status(id, offset).await.unwrap();
            assert_eq!(
                status.map(|r| r.0),
                Some(ReminderStatus::Cancelled),
                "{event_type}"
            );
        }
    }
}

async fn events_this_service_does_not_use_are_consumed_quietly(db: TestDatabase) {
    let h = Harness::new(db).await;
    let profile = serde_json::json!({"patientId": PATIENT});
    let mut event = envelope(
        types::PATIENT_UPDATED,
        &appointment(1, h.now(), S::Approved),
    );
    event.data = profile;
    assert_eq!(h.deliver(&event).await, Delivered::Handled);
    assert!(h.all().await.is_empty());
}
