//! Answers given below the routes: requests the HTTP server cannot parse get a problem+json
//! with the security headers, and a client that writes a whole oversized body before reading
//! (as Python's `urllib` does) reads the 413 instead of a connection reset.

use std::time::Duration;

use platform::config::Service;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp};

/// Every byte the server sends for `request` until it closes the connection.
async fn exchange(base: &str, request: &[u8]) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .expect("no connection reset");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status, lower-cased head and JSON body of a raw answer.
fn parse(answer: &str) -> (u16, String, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
    let status = head[9..12].parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_lowercase(), body)
}

#[track_caller]
fn assert_problem(answer: &str, status: u16) {
    let (got, head, body) = parse(answer);
    assert_eq!(got, status, "{answer}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert_eq!(body["status"], status, "{answer}");
}

/// The gateway and a service behind it: both run the platform's server.
fn targets(app: &TestApp) -> [&str; 2] {
    [&app.gateway, &app.urls[&Service::Patients]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_requests_get_a_problem_with_the_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let long_uri = format!(
        "GET /api/{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let huge_header = format!(
        "GET /api/doctors HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "b".repeat(500_000)
    );
    for base in targets(&app) {
        let duplicate_length = "POST /api/patients HTTP/1.1\r\nhost: x\r\n\
            content-type: application/json\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}";
        assert_problem(&exchange(base, duplicate_length.as_bytes()).await, 400);
        assert_problem(
            &exchange(base, b"GET /api/doctors HTTP/1.1\r\nbad header\r\n\r\n").await,
            400,
        );
        assert_problem(&exchange(base, long_uri.as_bytes()).await, 414);
        assert_problem(&exchange(base, huge_header.as_bytes()).await, 431);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_a_30_mb_body_before_reading_gets_the_413() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = vec![b'x'; 30 * 1024 * 1024];
    for base in targets(&app) {
        // What urllib does: the head and the whole body, no `Expect: 100-continue`, and only
        // then the answer is read.
        let head = format!(
            "POST /api/patients HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            app.admin_token,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        assert_problem(&exchange(base, &request).await, 413);
    }
}
