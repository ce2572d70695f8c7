//! Webhooks: a receiver gets each subscribed event once, signed; private targets are refused
//! unless the deployment allows them.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Mode, eventually, in_both_modes, spawn};
use crate::helpers::{Backend, TestApp, monday_at};

const SECRET: &str = "a secret the receiver shares";

/// What the receiver got: one (headers, body) per request.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receive(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    received.lock().unwrap().push((headers, body));
    StatusCode::NO_CONTENT
}

/// A local HTTP receiver; its URL and what it received.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn verify(headers: &HeaderMap, body: &[u8]) {
    let timestamp = headers["x-carebook-timestamp"].to_str().unwrap();
    let signature = headers["x-carebook-signature"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, expected, "signature over timestamp.body");
}

async fn a_receiver_gets_each_subscribed_event_once_and_signed(mode: Mode) {
    let (url, received) = receiver().await;
    let (app, _broker) = spawn(mode, |setup| {
        setup.notifications(|config| config.allow_private_webhooks = true)
    })
    .await;
    let subscription = json!({"url": url, "secret": SECRET,
                              "events": ["AppointmentApproved", "AppointmentCancelled"]});
    let hook = app.post("/api/webhooks", &subscription).await.expect(201);
    assert_eq!(
        hook.body["events"],
        json!(["AppointmentApproved", "AppointmentCancelled"])
    );
    assert!(
        hook.body.get("secret").is_none(),
        "the secret is never shown again"
    );

    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let id = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    app.post(&format!("/api/appointments/{id}/approve"), &json!({}))
        .await
        .expect(200);
    app.delete(&format!("/api/appointments/{id}"))
        .await
        .expect(200);

    let log = format!("/api/webhooks/{}/deliveries", hook.id());
    let deliveries = eventually("two delivered events", || async {
        let page = app.get(&log).await.expect(200).body;
        let items = page["items"].as_array().unwrap().clone();
        (items.len() == 2 && items.iter().all(|d| d["status"] == "DELIVERED")).then_some(items)
    })
    .await;
    assert!(
        deliveries.iter().all(|d| d["attempts"] == 1),
        "{deliveries:?}"
    );

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "each event once");
    let mut types = Vec::new();
    for (headers, body) in &received {
        verify(headers, body);
        let envelope: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            headers["x-carebook-event"],
            envelope["type"].as_str().unwrap()
        );
        assert_eq!(envelope["data"]["appointmentId"], id);
        types.push(envelope["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["AppointmentApproved", "AppointmentCancelled"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_and_private_targets_are_refused_by_default() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ] {
        let refused = app
            .post(
                "/api/webhooks",
                &json!({"url": url, "events": ["AppointmentApproved"], "secret": SECRET}),
            )
            .await
            .expect(400);
        assert_eq!(refused.error_fields(), ["url"], "{url}");
    }
    let bad = app
        .post(
            "/api/webhooks",
            &json!({"url": "ftp://x", "events": ["NoSuchEvent"], "secret": "short"}),
        )
        .await
        .expect(400);
    assert_eq!(bad.error_fields(), ["url", "events", "secret"]);
    let listed = app.get("/api/webhooks").await.expect(200);
    assert_eq!(listed.body["total"], 0, "nothing was stored");
}

in_both_modes!(a_receiver_gets_each_subscribed_event_once_and_signed);
