//! Erasure in the distributed mode (PostgreSQL, RabbitMQ) while the notification service is
//! down: every other service erases at once; the notification service erases its part when
//! it runs again, from the event its queue kept.

use std::net::SocketAddr;
use std::time::Duration;

use platform::config::{ClinicConfig, Service};
use platform::events::EventBus;
use platform::time::Clock;
use reqwest::Method;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{EMAIL, build_history, check_export, scan};
use crate::events::Broker;
use crate::helpers::{Backend, Setup, TestApp};

/// A notification service of the test's own, serving on `address` until `stop`.
async fn start_notifications(
    app: &TestApp,
    broker: &Broker,
    address: SocketAddr,
) -> (CancellationToken, JoinHandle<std::io::Result<()>>) {
    let stop = CancellationToken::new();
    let bus = EventBus::new(Some(&broker.url()), contracts::events::TOPOLOGY);
    let config = notifications::Config {
        database_url: app.database_urls[&Service::Notifications].clone().into(),
        identity_urls: vec![app.urls[&Service::Identity].clone()],
        patients_urls: vec![app.urls[&Service::Patients].clone()],
        doctors_urls: vec![app.urls[&Service::Doctors].clone()],
        clinic: ClinicConfig::default(),
        reminder_offsets_minutes: vec![24 * 60],
        smtp: None,
        sms: None,
        service_secret: Some(app.service_secret.clone()),
        clock: Clock::system(),
        poll_interval: Duration::from_millis(50),
        call_timeout: Duration::from_secs(3),
        allow_private_webhooks: false,
    };
    let router = notifications::app(config, &bus, &stop).await.unwrap();
    let listener = TcpListener::bind(address).await.unwrap();
    let serving = tokio::spawn(platform::server::serve(
        listener,
        router,
        stop.clone().cancelled_owned(),
    ));
    (stop, serving)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_down_during_the_erasure_erases_when_it_runs_again() {
    let broker = Broker::start().await;
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .unwrap();
    let mut setup = Setup::new(Backend::Postgres);
    setup.amqp_url = Some(broker.url());
    setup
        .external
        .insert(Service::Notifications, vec![format!("http://{address}")]);
    let app = TestApp::spawn_with(setup).await;
    let (stop, serving) = start_notifications(&app, &broker, address).await;

    let history = build_history(&app).await;
    check_export(&app, &history).await;
    let me = history.patient.patient_id.unwrap();

    // The notification service stops; the erasure goes ahead without it.
    stop.cancel();
    serving.await.unwrap().unwrap();
    app.delete(&format!("/api/patients/{me}")).await.expect(204);
    scan::wait_until_clean(&app, &[Service::Notifications]).await;
    app.login(EMAIL, "zelda-quillfeather-2026")
        .await
        .expect(401);
    let kept = scan::findings(&app, &[]).await;
    assert!(
        kept.iter().all(|f| f.starts_with("notifications:")) && !kept.is_empty(),
        "only the stopped service still holds the patient's data: {kept:?}"
    );
    // An export needs every service: with one down it is a 503, never a partial document.
    let other = app.register_patient(73).await;
    let path = format!("/api/patients/{}/export", other.patient_id.unwrap());
    app.call(Some(&other.token), Method::GET, &path, None)
        .await
        .expect(503);

    // Back again: the event waited in its queue.
    let (stop, _serving) = start_notifications(&app, &broker, address).await;
    scan::wait_until_clean(&app, &[]).await;
    app.call(Some(&other.token), Method::GET, &path, None)
        .await
        .expect(200);
    stop.cancel();
}
