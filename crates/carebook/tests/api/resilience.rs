//! A service whose dependencies are down answers 503 problems, quickly, and writes nothing.

use std::time::{Duration, Instant};

use platform::config::ClinicConfig;
use serde_json::json;

use crate::helpers::monday_at;

/// A loopback address nothing listens on.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test]
async fn booking_with_its_dependencies_down_is_a_503_problem() {
    let data = tempfile::tempdir().unwrap();
    let down = closed_port_url().await;
    let app = appointments::app(appointments::Config {
        database_url: format!("sqlite://{}", data.path().join("a.db").display()).into(),
        patients_urls: vec![down.clone()],
        doctors_urls: vec![down],
        clinic: ClinicConfig::default(),
        call_timeout: Duration::from_secs(1),
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(platform::server::serve(
        listener,
        app,
        std::future::pending(),
    ));

    let http = reqwest::Client::new();
    let body = json!({"patientId": 1, "doctorId": 1, "appointmentDate": monday_at("09:00")});
    for _ in 0..8 {
        let started = Instant::now();
        let reply = http
            .post(format!("{base}/api/appointments"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 503);
        assert_eq!(reply.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = reply.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("service is unavailable"), "{detail}");
        assert!(
            !detail.contains("127.0.0.1"),
            "no internal addresses leak: {detail}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    let list: serde_json::Value = http
        .get(format!("{base}/api/appointments"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
}
