//! A service whose dependencies are down answers 503 problems, quickly, and writes nothing.

use platform::events::EventBus;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use platform::config::{ClinicConfig, Service};
use serde_json::json;

use crate::helpers::{Backend, TestApp, monday_at};

/// A loopback address nothing listens on.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test]
async fn booking_with_its_dependencies_down_is_a_503_problem() {
    let system = TestApp::spawn(Backend::Sqlite).await;
    let data = tempfile::tempdir().unwrap();
    let down = closed_port_url().await;
    // A second appointment service whose patient and doctor services are unreachable.
    let config = appointments::Config {
        database_url: format!("sqlite://{}", data.path().join("a.db").display()).into(),
        patients_urls: vec![down.clone()],
        doctors_urls: vec![down],
        identity_urls: vec![system.urls[&Service::Identity].clone()],
        clinic: ClinicConfig::default(),
        call_timeout: Duration::from_secs(1),
        idempotency_ttl: Duration::from_secs(24 * 3600),
    };
    let bus = EventBus::new(None, contracts::events::TOPOLOGY);
    let app = appointments::app(config, &bus, &CancellationToken::new())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(platform::server::serve(
        listener,
        app,
        std::future::pending(),
    ));

    let body = json!({"patientId": 1, "doctorId": 1, "appointmentDate": monday_at("09:00")});
    for _ in 0..8 {
        let started = Instant::now();
        let reply = system
            .request_to(
                &base,
                reqwest::Method::POST,
                "/api/appointments",
                Some(&body),
            )
            .await
            .expect(503);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains("service is unavailable"), "{detail}");
        assert!(
            !detail.contains("127.0.0.1"),
            "no internal addresses leak: {detail}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    let list = system
        .request_to(&base, reqwest::Method::GET, "/api/appointments", None)
        .await
        .expect(200);
    assert_eq!(list.body["total"], 0);
}
