//! Due reminders become REMINDER notifications for the patient: once, even with several
//! workers at it, never for a cancelled appointment, and not after the start.

use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::{Channel, NotificationKind as K, RecipientType};
use platform::testing::TestDatabase;

use super::{DOCTOR, Harness, PATIENT, appointment, hours, next, on_both_backends};
use crate::store::{ReminderPass, ReminderStatus};

on_both_backends!(
    a_due_reminder_is_sent_once_and_a_cancelled_one_never,
    concurrent_passes_send_each_reminder_exactly_once,
    a_reminder_past_its_appointments_start_expires,
    a_restarted_service_sends_what_fell_due_while_it_was_down,
);

async fn a_due_reminder_is_sent_once_and_a_cancelled_one_never(db: TestDatabase) {
    let h = Harness::new(db).await;
    let worker = h.service.worker();
    let start = h.now() + hours(25);
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, start, S::Approved),
    )
    .await;
    let approved = appointment(2, start, S::Approved);
    h.publish(types::APPOINTMENT_APPROVED, &approved).await;
    h.publish(types::APPOINTMENT_CANCELLED, &next(&approved, S::Cancelled))
        .await;

    assert_eq!(
        worker.send_due_reminders(h.now()).await.unwrap(),
        ReminderPass::default()
    );
    h.clock.set(h.now() + hours(1));
    let pass = worker.send_due_reminders(h.now()).await.unwrap();
    assert_eq!(
        pass,
        ReminderPass {
            sent: 1,
            ..ReminderPass::default()
        }
    );
    assert_eq!(
        worker.send_due_reminders(h.now()).await.unwrap(),
        ReminderPass::default()
    );

    let reminders = h.of_kind(K::Reminder).await;
    assert_eq!(reminders.len(), 2, "one per channel");
    for n in &reminders {
        assert_eq!(
            (n.recipient.kind, n.recipient.id),
            (RecipientType::Patient, PATIENT)
        );
        assert_eq!(n.appointment_id, Some(1));
        assert_eq!(n.facts.start, Some(start));
        assert_eq!(n.facts.counterpart_id, Some(DOCTOR));
    }
    let mut channels: Vec<_> = reminders.iter().map(|n| n.channel).collect();
    channels.sort_by_key(|c| c.as_str());
    assert_eq!(channels, vec![Channel::InApp, Channel::Sms]);
    let store = h.store();
    assert_eq!(
        store
            .reminder_status(1, 24 * 60)
            .await
            .unwrap()
            .map(|r| r.0),
        Some(ReminderStatus::Sent)
    );
    assert_eq!(
        store.reminder_status(1, 2 * 60).await.unwrap().map(|r| r.0),
        Some(ReminderStatus::Scheduled)
    );

    // Long after: the 2-hour reminder of appointment 1 goes out; cancelled 2 still never does.
    h.clock.set(start - hours(2));
    assert_eq!(worker.send_due_reminders(h.now()).await.unwrap().sent, 1);
    let reminders = h.of_kind(K::Reminder).await;
    assert_eq!(reminders.len(), 4);
    assert!(reminders.iter().all(|n| n.appointment_id == Some(1)));
}

async fn concurrent_passes_send_each_reminder_exactly_once(db: TestDatabase) {
    let h = Harness::with(db, |config| config.reminder_offsets_minutes = vec![24 * 60]).await;
    let start = h.now() + hours(30);
    let count: i64 = 40;
    for id in 1..=count {
        h.publish(
            types::APPOINTMENT_APPROVED,
            &appointment(id, start, S::Approved),
        )
        .await;
    }
    h.clock.set(start - hours(24));
    let now = h.now();
    // Four workers, two of them separate instances of the service, all at once.
    let workers = [
        h.service.worker(),
        h.service.worker(),
        h.another_instance().worker(),
        h.another_instance().worker(),
    ];
    let passes = workers.map(|worker| {
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let pass = worker.send_due_reminders(now).await.unwrap();
                if pass.sent == 0 {
                    return sent;
                }
                sent += pass.sent;
            }
        })
    });
    let mut sent = 0;
    for pass in passes {
        sent += pass.await.unwrap();
    }
    assert_eq!(sent, count as usize);
    let reminders = h.of_kind(K::Reminder).await;
    assert_eq!(
        reminders.len(),
        2 * count as usize,
        "one per appointment and channel"
    );
    let mut appointments: Vec<_> = reminders.iter().filter_map(|n| n.appointment_id).collect();
    appointments.sort_unstable();
    appointments.dedup();
    assert_eq!(appointments.len(), count as usize);
}

async fn a_reminder_past_its_appointments_start_expires(db: TestDatabase) {
    let h = Harness::new(db).await;
    let start = h.now() + hours(3);
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, start, S::Approved),
    )
    .await;
    // Nobody ran the worker until after the start.
    h.clock.set(start + hours(1));
    let pass = h
        .service
        .worker()
        .send_due_reminders(h.now())
        .await
        .unwrap();
    assert_eq!(
        pass,
        ReminderPass {
            expired: 1,
            ..ReminderPass::default()
        }
    );
    assert_eq!(
        h.store()
            .reminder_status(1, 2 * 60)
            .await
            .unwrap()
            .map(|r| r.0),
        Some(ReminderStatus::Expired)
    );
    assert!(h.of_kind(K::Reminder).await.is_empty());
}

async fn a_restarted_service_sends_what_fell_due_while_it_was_down(db: TestDatabase) {
    let h = Harness::with(db, |config| config.reminder_offsets_minutes = vec![24 * 60]).await;
    let start = h.now() + hours(48);
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, start, S::Approved),
    )
    .await;
    // The first instance is gone; a new one starts an hour after the reminder fell due.
    let restarted = h.another_instance();
    h.clock.set(start - hours(23));
    let pass = restarted
        .worker()
        .send_due_reminders(h.now())
        .await
        .unwrap();
    assert_eq!(pass.sent, 1);
    assert_eq!(h.of_kind(K::Reminder).await.len(), 2);
}
