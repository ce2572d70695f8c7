//! The gateway on a real socket in front of a stand-in upstream on another: what crosses, what
//! is refused, and how failures of the upstream are answered.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::{any, get};
use platform::config::Service;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::support::{
    MAX_BODY, NOT_FOUND_BODY, TestGateway, closed_port, config, every_service, jwks, problem,
    spawn, stand_in, with_identity,
};

#[tokio::test]
async fn forwards_method_path_query_headers_and_body() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let response = gateway
        .request(Method::PUT, "/api/patients/7/notes?q=a%20b&page=2")
        .header("x-custom", "kept")
        .header("proxy-authorization", "Basic dropped")
        .header(CONTENT_TYPE, "text/plain")
        .body("hello upstream")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-upstream"], "stand-in");
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["path"], "/api/patients/7/notes");
    assert_eq!(seen["query"], "q=a%20b&page=2");
    assert_eq!(seen["body"], "hello upstream");
    let headers = &seen["headers"];
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["content-length"], "14");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["host"], upstream.trim_start_matches("http://"));
    assert!(headers.get("proxy-authorization").is_none());
}

#[tokio::test]
async fn passes_an_upstream_problem_through_unchanged() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let response = gateway.get("/api/doctors/404").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    assert_eq!(response.text().await.unwrap(), NOT_FOUND_BODY);
}

#[tokio::test]
async fn the_upstream_and_the_client_see_the_same_request_id() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let minted = gateway.get("/api/doctors").await;
    let client_side = minted.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let seen: Value = minted.json().await.unwrap();
    assert!(!client_side.is_empty());
    assert_eq!(seen["headers"]["x-request-id"], client_side.as_str());

    let chosen = gateway
        .request(Method::GET, "/api/appointments")
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.headers()["x-request-id"], "client-chosen-id");
    let seen: Value = chosen.json().await.unwrap();
    assert_eq!(seen["headers"]["x-request-id"], "client-chosen-id");
}

#[tokio::test]
async fn an_unknown_api_path_is_a_not_found_problem() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let body = problem(gateway.get("/api/unknown/1").await, 404).await;

    assert_eq!(body["instance"], "/api/unknown/1");
}

#[tokio::test]
async fn an_oversize_body_is_refused_with_413() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let response = gateway
        .request(Method::POST, "/api/patients")
        .body(vec![b'a'; MAX_BODY + 1])
        .send()
        .await
        .unwrap();
    problem(response, 413).await;

    // Without a declared length the limit applies as the chunks arrive.
    let raw = post_chunked(&gateway.url, "/api/auth/register", 4, 512).await;
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("application/problem+json"), "{raw}");
}

/// reqwest cannot send a chunked body here (no `stream` feature), so this speaks HTTP by hand
/// (without a token, so to a public path).
async fn post_chunked(base: &str, path: &str, chunks: usize, chunk_len: usize) -> String {
    let address = base.trim_start_matches("http://").to_owned();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for _ in 0..chunks {
        request.push_str(&format!("{chunk_len:x}\r\n{}\r\n", "a".repeat(chunk_len)));
    }
    request.push_str("0\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_slow_upstream_is_a_gateway_timeout() {
    let upstream = spawn(stand_in()).await;
    let mut config = config(every_service(&[&upstream]));
    config.upstream_timeout = Duration::from_millis(200);
    let gateway = TestGateway::start(config).await;

    let started = Instant::now();
    let body = problem(gateway.get("/api/appointments/slow").await, 504).await;

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        body["detail"],
        "The appointments service did not answer in time."
    );
}

#[tokio::test]
async fn a_closed_upstream_is_unavailable_without_revealing_where_it_is() {
    let upstream = spawn(stand_in()).await;
    let closed = closed_port();
    let mut upstreams = every_service(&[&upstream]);
    upstreams.retain(|(service, _)| *service != Service::Doctors);
    upstreams.push((Service::Doctors, vec![closed.clone()]));
    let gateway = TestGateway::start(config(upstreams)).await;

    let body = problem(gateway.get("/api/doctors/1").await, 503).await;

    assert_eq!(body["detail"], "The doctors service is not available.");
    let port = closed.rsplit(':').next().unwrap();
    assert!(!body.to_string().contains(port), "{body}");

    let ready = problem(gateway.get("/health/ready").await, 503).await;
    assert!(
        ready["detail"].as_str().unwrap().contains("doctors"),
        "{ready}"
    );
}

#[tokio::test]
async fn a_refused_instance_is_passed_over_for_a_live_one() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::start(config(every_service(&[&closed_port(), &upstream]))).await;

    for _ in 0..4 {
        assert_eq!(
            gateway.get("/api/patients").await.status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(gateway.get("/health/ready").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_that_was_sent_is_never_sent_to_another_instance() {
    // The first instance reads the request and hangs up without answering.
    let rude = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let rude_url = format!("http://{}", rude.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in rude.incoming().flatten() {
            let _ = stream.read(&mut [0; 4096]);
        }
    });
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let counting = Router::new().route(
        "/api/{*rest}",
        any(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { "acted" }
        }),
    );
    let second = spawn(counting).await;
    // The key set comes from a well-behaved identity.
    let identity = spawn(stand_in()).await;
    let upstreams = with_identity(every_service(&[&rude_url, &second]), &identity);
    let gateway = TestGateway::start(config(upstreams)).await;

    // Instances are picked at random: send until one request meets the rude instance. That
    // one is answered 502 and never reaches the other; every other one reached it once.
    for answered in 0..64 {
        let response = gateway
            .request(Method::POST, "/api/appointments")
            .body("{}")
            .send()
            .await
            .unwrap();
        if response.status() == 502 {
            let body = problem(response, 502).await;
            assert_eq!(body["detail"], "The appointments service failed to answer.");
            assert_eq!(hits.load(Ordering::SeqCst), answered);
            return;
        }
        assert_eq!(response.status(), 200);
    }
    panic!("no request was sent to the first instance");
}

#[tokio::test]
async fn serves_the_openapi_document_and_its_rendering() {
    let upstream = spawn(stand_in()).await;
    let gateway = TestGateway::in_front_of(&upstream).await;

    let document = gateway.get("/api/openapi.json").await;
    assert_eq!(document.status(), StatusCode::OK);
    let document: Value = document.json().await.unwrap();
    assert_eq!(document["info"]["title"], "carebook test");

    let docs = gateway.get("/docs").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}

/// Answers every `/api` path with its own name; identity also publishes the key set.
fn named(service: Service) -> Router {
    let name = service.name();
    let api = Router::new().route(
        "/api/{*rest}",
        any(move || async move { axum::Json(json!({ "service": name })) }),
    );
    if service == Service::Identity {
        api.route(
            "/.well-known/jwks.json",
            get(|| async { axum::Json(jwks()) }),
        )
    } else {
        api
    }
}

#[tokio::test]
async fn routes_each_prefix_and_everything_below_it_to_its_service() {
    let mut upstreams = Vec::new();
    for service in Service::BACKENDS {
        upstreams.push((service, vec![spawn(named(service)).await]));
    }
    let gateway = TestGateway::start(config(upstreams)).await;

    for (path, service) in [
        ("/api/patients", "patients"),
        ("/api/patients/", "patients"),
        ("/api/patients/7/export?x=1", "patients"),
        ("/api/doctors/3/schedule", "doctors"),
        ("/api/appointments", "appointments"),
        ("/api/auth/me", "identity"),
    ] {
        let response = gateway.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["service"], service, "{path}");
    }
    let keys: Value = gateway
        .anonymous(Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["kty"], "OKP");
}

#[tokio::test]
async fn an_api_request_without_a_valid_token_never_reaches_the_upstream() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let counting = stand_in().route(
        "/api/patients",
        get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { "acted" }
        }),
    );
    let gateway = TestGateway::in_front_of(&spawn(counting).await).await;

    let missing = gateway
        .anonymous(Method::GET, "/api/patients")
        .send()
        .await
        .unwrap();
    problem(missing, 401).await;
    let forged = gateway
        .anonymous(Method::GET, "/api/patients")
        .bearer_auth("e30.e30.c2ln")
        .send()
        .await
        .unwrap();
    problem(forged, 401).await;

    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(gateway.get("/api/patients").await.status(), StatusCode::OK);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
