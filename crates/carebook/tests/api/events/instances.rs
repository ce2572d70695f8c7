//! Several notification services at once, and one that dies mid-stream: each notification and
//! each reminder still goes out exactly once.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use platform::config::{ClinicConfig, Service};
use platform::events::EventBus;
use platform::time::Clock;
use tokio_util::sync::CancellationToken;

use super::{
    Broker, assert_each_once_and_sent, book_and_approve, eventually, settled_notifications,
    slot_start, stored_notifications,
};
use crate::fixtures::process::{ServiceProcess, one_fleet_at_a_time};
use crate::fixtures::smtp::{ReceivedMail, SmtpServer};
use crate::helpers::{Backend, Setup, TestApp};

/// A distributed system whose notification services the test runs itself.
async fn system_without_notifications(broker: &Broker) -> TestApp {
    let mut setup = Setup::new(Backend::Postgres);
    setup.amqp_url = Some(broker.url());
    setup.external.insert(Service::Notifications, Vec::new());
    TestApp::spawn_with(setup).await
}

fn distinct_message_ids(mails: &[ReceivedMail]) -> usize {
    mails
        .iter()
        .map(|m| m.message_id.clone().unwrap())
        .collect::<HashSet<_>>()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_notification_and_each_reminder_once() {
    let _turn = one_fleet_at_a_time().await;
    let broker = Broker::start().await;
    let smtp = SmtpServer::start().await;
    let app = system_without_notifications(&broker).await;
    let clock = Clock::manual(Timestamp::now());
    let shutdown = CancellationToken::new();
    for _ in 0..2 {
        // Each instance has its own connection to the broker and its own worker.
        let bus = EventBus::new(Some(&broker.url()), contracts::events::TOPOLOGY);
        let config = notifications::Config {
            database_url: app.database_urls[&Service::Notifications].clone().into(),
            identity_urls: vec![app.urls[&Service::Identity].clone()],
            patients_urls: vec![app.urls[&Service::Patients].clone()],
            doctors_urls: vec![app.urls[&Service::Doctors].clone()],
            clinic: ClinicConfig::default(),
            reminder_offsets_minutes: vec![24 * 60],
            smtp: Some(notifications::SmtpConfig {
                url: smtp.url(),
                from: "carebook <clinic@carebook.test>".to_owned(),
            }),
            sms: None,
            service_secret: Some(app.service_secret.clone()),
            clock: clock.clone(),
            poll_interval: Duration::from_millis(50),
            call_timeout: Duration::from_secs(3),
            allow_private_webhooks: false,
        };
        let _router = notifications::app(config, &bus, &shutdown).await.unwrap();
    }

    book_and_approve(&app, (4, 20), 40, 8).await;
    // 40 requests to approve, 80 confirmations; in the app and by e-mail.
    let rows = settled_notifications(&app, 240).await;
    assert_eq!(rows.len(), 240);
    assert_each_once_and_sent(&rows);
    let mails = smtp.wait_for(120, Duration::from_secs(60)).await;
    assert_eq!(distinct_message_ids(&mails), 120);

    // The day before, in the afternoon: every appointment (Monday 09:00–13:30) has its
    // 24-hour reminder due at once.
    let first: Timestamp = slot_start(0).parse().unwrap();
    clock.set(first - SignedDuration::from_hours(18));
    let rows = settled_notifications(&app, 240 + 80).await;
    assert_eq!(rows.iter().filter(|r| r.kind == "REMINDER").count(), 80);
    assert_each_once_and_sent(&rows);
    let mails = smtp.wait_for(160, Duration::from_secs(60)).await;
    assert_eq!((mails.len(), distinct_message_ids(&mails)), (160, 160));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_service_killed_mid_stream_loses_and_repeats_nothing() {
    let _turn = one_fleet_at_a_time().await;
    let broker = Broker::start().await;
    let smtp = SmtpServer::start().await;
    let app = system_without_notifications(&broker).await;
    let env: Vec<(String, String)> = [
        (
            "CAREBOOK_NOTIFICATIONS_DATABASE_URL",
            app.database_urls[&Service::Notifications].clone(),
        ),
        ("CAREBOOK_AMQP_URL", broker.vhost.amqp_url()),
        ("CAREBOOK_SERVICE_SECRET", app.service_secret.clone()),
        (
            "CAREBOOK_IDENTITY_URL",
            app.urls[&Service::Identity].clone(),
        ),
        (
            "CAREBOOK_PATIENTS_URL",
            app.urls[&Service::Patients].clone(),
        ),
        ("CAREBOOK_DOCTORS_URL", app.urls[&Service::Doctors].clone()),
        ("CAREBOOK_SMTP_URL", smtp.url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut first = ServiceProcess::spawn("notifications", &env).await;
    let database = app.database_urls[&Service::Notifications].clone();

    // Book and approve while the service works; kill it once it is well under way.
    let booking = book_and_approve(&app, (5, 20), 100, 6);
    let killing = async {
        eventually("the service to be under way", || async {
            (stored_notifications(&database).await.len() >= 40).then_some(())
        })
        .await;
        first.kill_hard();
    };
    let (appointments, ()) = tokio::join!(booking, killing);
    assert!(!first.is_running());

    let _second = ServiceProcess::spawn("notifications", &env).await;
    // 100 requests to approve, 200 confirmations; in the app and by e-mail.
    let rows = settled_notifications(&app, 600).await;
    assert_eq!(rows.len(), 600);
    assert_each_once_and_sent(&rows);
    for id in appointments {
        let of_it = rows.iter().filter(|r| r.appointment_id == Some(id)).count();
        assert_eq!(of_it, 6, "appointment {id}");
    }
    // E-mail is at-least-once across a crash (the kill may land between sending and
    // recording); the stable Message-ID lets a mail client drop the repeat.
    let mails = smtp.wait_for(300, Duration::from_secs(60)).await;
    assert_eq!(distinct_message_ids(&mails), 300);
}
