//! Delivery: leases, rendering in the recipient's zone, SMS through the provider, retries with
//! backoff, and `FAILED` after five attempts or a permanent refusal.

use std::time::Duration;

use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::{Channel, NotificationStatus, RecipientType};
use platform::outbox::Envelope;
use platform::testing::TestDatabase;

use super::{Harness, PATIENT, PATIENT_PHONE, SMS_FROM, appointment, hours, on_both_backends};
use crate::domain::StoredNotification;
use crate::policy;
use crate::worker::{DeliveryPass, MAX_ATTEMPTS, backoff};

on_both_backends!(
    notifications_are_rendered_in_the_recipients_zone_and_sent,
    transient_failures_back_off_and_fail_after_five_attempts,
    a_refusal_fails_at_once_and_a_recovered_provider_delivers,
    an_unknown_recipient_gets_no_sms_but_an_in_app_notice,
    a_claimed_notification_is_not_claimed_again_until_its_lease_ends,
    concurrent_workers_send_each_notification_once,
    contacts_are_cached_until_a_profile_event_drops_them,
);

fn find(items: &[StoredNotification], kind: RecipientType, channel: Channel) -> StoredNotification {
    items
        .iter()
        .find(|n| n.recipient.kind == kind && n.channel == channel)
        .cloned()
        .unwrap()
}

async fn notifications_are_rendered_in_the_recipients_zone_and_sent(db: TestDatabase) {
    let h = Harness::new(db).await;
    let worker = h.service.worker();
    // Thursday 10 January 2030, 08:00 UTC: 09:00 in Berlin, the doctor's zone.
    let start = h.now() + hours(72);
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, start, S::Approved),
    )
    .await;

    let pass = worker.deliver_due(h.now()).await.unwrap();
    assert_eq!(
        pass,
        DeliveryPass {
            sent: 4,
            retried: 0,
            failed: 0
        }
    );
    assert_eq!(
        worker.deliver_due(h.now()).await.unwrap(),
        DeliveryPass::default()
    );

    let all = h.all().await;
    for n in &all {
        assert_eq!(n.status, NotificationStatus::Sent);
        assert_eq!((n.attempts, n.sent_at), (1, Some(h.now())));
    }
    let patient = find(&all, RecipientType::Patient, Channel::InApp);
    assert_eq!(
        patient.message.as_deref(),
        Some(
            "Hello Ada Lovelace,\n\nYour appointment with Dr. Amara Okafor on Thursday 10 January \
             2030, 08:00 (UTC) is confirmed. We look forward to seeing you."
        )
    );
    let doctor = find(&all, RecipientType::Doctor, Channel::InApp);
    assert_eq!(
        doctor.subject.as_deref(),
        Some("Appointment #1 confirmed: Thursday 10 January 2030, 09:00 (Europe/Berlin)")
    );

    let mut sms = h.stub.sms();
    sms.sort_by_key(|m| m.form["To"].clone());
    let to: Vec<_> = sms.iter().map(|m| m.form["To"].as_str()).collect();
    assert_eq!(to, vec!["+442079460958", "+4930901820"]);
    for m in &sms {
        assert_eq!(m.form["From"], SMS_FROM);
        // Basic auth of "AC123:sms-token".
        assert_eq!(m.authorization, "Basic QUMxMjM6c21zLXRva2Vu");
        assert!(m.form["Body"].starts_with("Appointment #1 confirmed: Thursday 10 January 2030"));
    }
    assert_eq!(sms[0].form["To"], PATIENT_PHONE);
}

async fn transient_failures_back_off_and_fail_after_five_attempts(db: TestDatabase) {
    let h = Harness::new(db).await;
    let worker = h.service.worker();
    h.stub.answer_sms_with(&[503; 5]);
    h.publish(
        types::APPOINTMENT_REJECTED,
        &appointment(1, h.now() + hours(72), S::Rejected),
    )
    .await;

    let pass = worker.deliver_due(h.now()).await.unwrap();
    assert_eq!(
        pass,
        DeliveryPass {
            sent: 1,
            retried: 1,
            failed: 0
        }
    );
    for attempt in 1..MAX_ATTEMPTS {
        let sms = find(&h.all().await, RecipientType::Patient, Channel::Sms);
        assert_eq!(
            (sms.status, sms.attempts),
            (NotificationStatus::Pending, attempt)
        );
        assert_eq!(
            sms.last_error.as_deref(),
            Some("the SMS provider answered 503")
        );
        let wait = jiff::SignedDuration::try_from(backoff(attempt)).unwrap();
        assert_eq!(sms.next_attempt_at, h.now() + wait);
        // Not due before its time.
        assert_eq!(
            worker.deliver_due(h.now()).await.unwrap(),
            DeliveryPass::default()
        );
        h.clock.set(sms.next_attempt_at);
        let pass = worker.deliver_due(h.now()).await.unwrap();
        let expected = if attempt + 1 == MAX_ATTEMPTS {
            (0, 1)
        } else {
            (1, 0)
        };
        assert_eq!(
            (pass.retried, pass.failed),
            expected,
            "attempt {}",
            attempt + 1
        );
    }
    let sms = find(&h.all().await, RecipientType::Patient, Channel::Sms);
    assert_eq!(
        (sms.status, sms.attempts),
        (NotificationStatus::Failed, MAX_ATTEMPTS)
    );
    assert_eq!(sms.sent_at, None);
    assert_eq!(h.stub.sms().len(), MAX_ATTEMPTS as usize);
    assert_eq!(backoff(1), Duration::from_secs(30));
    assert_eq!(backoff(4), Duration::from_secs(240));
}

async fn a_refusal_fails_at_once_and_a_recovered_provider_delivers(db: TestDatabase) {
    let h = Harness::new(db).await;
    let worker = h.service.worker();
    h.stub.answer_sms_with(&[400, 500]);
    h.publish(
        types::APPOINTMENT_REJECTED,
        &appointment(1, h.now() + hours(72), S::Rejected),
    )
    .await;
    worker.deliver_due(h.now()).await.unwrap();
    let refused = find(&h.all().await, RecipientType::Patient, Channel::Sms);
    assert_eq!(
        (refused.status, refused.attempts),
        (NotificationStatus::Failed, 1)
    );
    assert_eq!(
        refused.last_error.as_deref(),
        Some("the SMS provider refused the message (400)")
    );

    h.publish(
        types::APPOINTMENT_REJECTED,
        &appointment(2, h.now() + hours(72), S::Rejected),
    )
    .await;
    assert_eq!(worker.deliver_due(h.now()).await.unwrap().retried, 1);
    h.clock.set(h.now() + hours(1));
    assert_eq!(worker.deliver_due(h.now()).await.unwrap().sent, 1);
    let sms: Vec<_> = h
        .all()
        .await
        .into_iter()
        .filter(|n| n.appointment_id == Some(2))
        .collect();
    let sms = find(&sms, RecipientType::Patient, Channel::Sms);
    assert_eq!((sms.status, sms.attempts), (NotificationStatus::Sent, 2));
    assert!(sms.message.unwrap().contains("could not be accepted"));
}

async fn an_unknown_recipient_gets_no_sms_but_an_in_app_notice(db: TestDatabase) {
    let h = Harness::new(db).await;
    let mut a = appointment(1, h.now() + hours(72), S::Rejected);
    a.patient_id = 99;
    h.publish(types::APPOINTMENT_REJECTED, &a).await;
    let pass = h.service.worker().deliver_due(h.now()).await.unwrap();
    assert_eq!(
        pass,
        DeliveryPass {
            sent: 1,
            retried: 0,
            failed: 1
        }
    );
    let all = h.all().await;
    let sms = find(&all, RecipientType::Patient, Channel::Sms);
    assert_eq!(sms.status, NotificationStatus::Failed);
    assert_eq!(
        sms.last_error.as_deref(),
        Some("the recipient does not exist (any more)")
    );
    let in_app = find(&all, RecipientType::Patient, Channel::InApp);
    assert_eq!(in_app.status, NotificationStatus::Sent);
    assert!(in_app.message.unwrap().starts_with("Hello,\n"));
    assert!(h.stub.sms().is_empty());
}

async fn a_claimed_notification_is_not_claimed_again_until_its_lease_ends(db: TestDatabase) {
    let h = Harness::new(db).await;
    h.publish(
        types::APPOINTMENT_REQUESTED,
        &appointment(1, h.now() + hours(72), S::Requested),
    )
    .await;
    let store = h.store();
    let lease = h.now() + hours(1);
    let first = store
        .claim_due(policy::delivery_worker(), h.now(), lease, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        store
            .claim_due(policy::delivery_worker(), h.now(), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The first worker died; after its lease another one takes over and sends.
    h.clock.set(lease);
    let pass = h
        .another_instance()
        .worker()
        .deliver_due(h.now())
        .await
        .unwrap();
    assert_eq!(pass.sent, 2);
    // The late first worker's bookkeeping no longer counts.
    let late = crate::store::Outcome::Failed {
        error: "late".to_owned(),
        subject: None,
        message: None,
    };
    let recorded = store.record_all(&[(&first[0], &late)], h.now()).await;
    assert_eq!(recorded.unwrap(), 0);
    assert!(
        h.all()
            .await
            .iter()
            .all(|n| n.status == NotificationStatus::Sent)
    );
}

async fn concurrent_workers_send_each_notification_once(db: TestDatabase) {
    let h = Harness::new(db).await;
    let count = 30;
    for id in 1..=count {
        h.publish(
            types::APPOINTMENT_REJECTED,
            &appointment(id, h.now() + hours(72), S::Rejected),
        )
        .await;
    }
    let now = h.now();
    let workers = [
        h.service.worker(),
        h.service.worker(),
        h.another_instance().worker(),
    ];
    let passes = workers.map(|worker| {
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let pass = worker.deliver_due(now).await.unwrap();
                if pass == DeliveryPass::default() {
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
    assert_eq!(sent, 2 * count as usize, "IN_APP and SMS of each");
    assert_eq!(h.stub.sms().len(), count as usize);
    assert!(
        h.all()
            .await
            .iter()
            .all(|n| n.status == NotificationStatus::Sent && n.attempts == 1)
    );
}

async fn contacts_are_cached_until_a_profile_event_drops_them(db: TestDatabase) {
    let h = Harness::new(db).await;
    let directory = h.service.directory();
    let ada = crate::domain::Recipient::patient(PATIENT);
    assert_eq!(
        directory.contact(ada).await.unwrap().unwrap().name,
        "Ada Lovelace"
    );
    assert_eq!(
        directory.contact(ada).await.unwrap().unwrap().name,
        "Ada Lovelace"
    );
    assert_eq!(h.stub.profile_reads(), 1);

    h.stub.add_patient(PATIENT, "Ada King", PATIENT_PHONE);
    let event = Envelope {
        id: uuid::Uuid::new_v4(),
        event_type: types::PATIENT_UPDATED.to_owned(),
        occurred_at: h.now(),
        source: "patients".to_owned(),
        data: serde_json::json!({"patientId": PATIENT}),
        traceparent: None,
    };
    directory.forget(&event).await;
    assert_eq!(
        directory.contact(ada).await.unwrap().unwrap().name,
        "Ada King"
    );
    assert_eq!(h.stub.profile_reads(), 2);
}
