//! The gateway terminating TLS itself, with a self-signed certificate made for the test.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use gateway::TlsConfig;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::{config, every_service, spawn, stand_in, token};

struct Certificate {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Certificate {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Certificate {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
    }
}

/// A client that trusts only `certificate` and finds `localhost` at `address`.
fn client(certificate: &Certificate, address: SocketAddr) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(certificate.cert_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([root])
        .resolve("localhost", address)
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_the_api_over_tls_and_stops_gracefully() {
    let certificate = self_signed();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert, &certificate.cert_pem).unwrap();
    std::fs::write(&key, &certificate.key_pem).unwrap();
    let tls = TlsConfig::from_pem_files(&cert, &key).unwrap();

    let upstream = spawn(stand_in()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = gateway::router(config(every_service(&[&upstream])));
    let stopping = async {
        let _ = stopped.await;
    };
    let plan = platform::server::ShutdownPlan::IMMEDIATE;
    let server = tokio::spawn(gateway::serve(listener, app, Some(tls), stopping, plan));
    let base = format!("https://localhost:{}", address.port());
    let https = client(&certificate, address);

    let response = https
        .get(format!("{base}/api/patients/3"))
        .bearer_auth(token(3))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let seen: Value = response.json().await.unwrap();
    // The limiter and the proxy see the TCP peer, and the upstream learns the client used TLS.
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{address}/health/live"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let after = client(&certificate, address).get(&base).send().await;
    assert!(after.is_err(), "still serving after shutdown");
}

#[test]
fn refuses_a_key_that_is_not_the_certificates() {
    let (one, other) = (self_signed(), self_signed());
    let mismatched = TlsConfig::from_pem(one.cert_pem.as_bytes(), other.key_pem.as_bytes());
    assert!(mismatched.is_err());
    let garbage = TlsConfig::from_pem(b"not a certificate", one.key_pem.as_bytes());
    assert!(garbage.is_err());
    assert!(TlsConfig::from_pem(one.cert_pem.as_bytes(), one.key_pem.as_bytes()).is_ok());
}
