//! Rate limits kept in the gateway's memory, seen over HTTP: tiny limits, so no test waits.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::http::{Method, StatusCode};
use gateway::{RateLimits, TrustedProxies};
use reqwest::header::RETRY_AFTER;

use crate::support::{TestGateway, config, every_service, problem, spawn, stand_in, token};

fn limits(per_minute: u32, login_per_minute: u32) -> RateLimits {
    RateLimits {
        per_minute: NonZeroU32::new(per_minute).unwrap(),
        login_per_minute: NonZeroU32::new(login_per_minute).unwrap(),
    }
}

async fn gateway_with(limits: RateLimits) -> TestGateway {
    let upstream = spawn(stand_in()).await;
    let mut config = config(every_service(&[&upstream]));
    config.rate_limits = limits;
    TestGateway::start(config).await
}

/// A client whose connections come from `source` (any 127.0.0.0/8 address is local on Linux).
fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(source))
        .build()
        .unwrap()
}

/// `Retry-After` is `seconds`, less the (whole) seconds the test itself took on a busy machine.
fn assert_retry_after(response: &reqwest::Response, seconds: u64) {
    let value: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (seconds - 5..=seconds).contains(&value),
        "Retry-After: {value}"
    );
}

async fn status(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn an_address_over_its_limit_gets_429_with_retry_after() {
    let gateway = gateway_with(limits(3, 3)).await;

    for _ in 0..3 {
        let response = gateway.get("/api/doctors").await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let refused = gateway.get("/api/doctors").await;

    // 3 per minute: the bucket has room again a third of a minute after the first request.
    assert_retry_after(&refused, 20);
    assert!(refused.headers().contains_key("x-request-id"));
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let body = problem(refused, 429).await;
    assert_eq!(body["instance"], "/api/doctors");
    assert_eq!(body["type"], "urn:carebook:problem:too-many-requests");
}

#[tokio::test]
async fn anonymous_requests_count_against_their_address_too() {
    let gateway = gateway_with(limits(2, 2)).await;

    let openapi = || gateway.anonymous(Method::GET, "/api/openapi.json");
    assert_eq!(status(openapi()).await, StatusCode::OK);
    assert_eq!(status(openapi()).await, StatusCode::OK);
    problem(openapi().send().await.unwrap(), 429).await;
}

#[tokio::test]
async fn a_forwarded_for_header_does_not_make_a_new_client() {
    let gateway = gateway_with(limits(1, 1)).await;

    assert_eq!(
        status(gateway.request(Method::GET, "/api/doctors")).await,
        StatusCode::CREATED
    );
    let spoofed = gateway
        .anonymous(Method::GET, "/api/openapi.json")
        .header("x-forwarded-for", "203.0.113.50")
        .header("x-real-ip", "203.0.113.50");
    assert_eq!(status(spoofed).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_user_is_limited_across_addresses_and_others_are_not() {
    let gateway = gateway_with(limits(3, 3)).await;
    let (first, second) = (client_from([127, 0, 0, 1]), client_from([127, 0, 0, 2]));
    let as_user = |client: &reqwest::Client, user: i64| {
        client
            .get(format!("{}/api/doctors", gateway.url))
            .bearer_auth(token(user))
    };

    // User 7 spends the limit from two addresses, neither of which is at its own limit.
    assert_eq!(status(as_user(&first, 7)).await, StatusCode::CREATED);
    assert_eq!(status(as_user(&first, 7)).await, StatusCode::CREATED);
    assert_eq!(status(as_user(&second, 7)).await, StatusCode::CREATED);
    let refused = as_user(&second, 7).send().await.unwrap();
    assert_retry_after(&refused, 20);
    problem(refused, 429).await;

    // User 8 at the second address still gets through.
    assert_eq!(status(as_user(&second, 8)).await, StatusCode::CREATED);
}

#[tokio::test]
async fn credential_endpoints_have_a_stricter_limit_per_address() {
    let gateway = gateway_with(limits(100, 2)).await;
    let login = || {
        gateway
            .anonymous(Method::POST, "/api/auth/login")
            .json(&serde_json::json!({"email": "a@example.org", "password": "wrong"}))
    };

    assert_eq!(status(login()).await, StatusCode::CREATED);
    assert_eq!(status(login()).await, StatusCode::CREATED);
    let refused = login().send().await.unwrap();
    assert_retry_after(&refused, 30);
    problem(refused, 429).await;
    let register = gateway
        .anonymous(Method::POST, "/api/auth/register")
        .json(&serde_json::json!({}));
    assert_eq!(status(register).await, StatusCode::TOO_MANY_REQUESTS);

    // The rest of the API is still open to that address.
    assert_eq!(
        status(gateway.request(Method::GET, "/api/doctors")).await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn health_and_metrics_are_never_limited() {
    let gateway = gateway_with(limits(1, 1)).await;
    gateway.get("/api/doctors").await;

    for path in ["/health/live", "/metrics", "/health/live"] {
        let response = gateway.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_trusted_proxys_clients_each_have_their_own_budget() {
    let upstream = spawn(stand_in()).await;
    let mut config = config(every_service(&[&upstream]));
    config.rate_limits = limits(2, 2);
    config.trusted_proxies = TrustedProxies::parse("127.0.0.7").unwrap();
    let gateway = TestGateway::start(config).await;
    let openapi_for = |http: &reqwest::Client, browser: &str| {
        http.get(format!("{}/api/openapi.json", gateway.url))
            .header("x-forwarded-for", browser)
    };

    // The web app (127.0.0.7) calls for two browsers: each has its own two requests.
    let proxy = client_from([127, 0, 0, 7]);
    for browser in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(status(openapi_for(&proxy, browser)).await, StatusCode::OK);
        assert_eq!(status(openapi_for(&proxy, browser)).await, StatusCode::OK);
    }
    problem(
        openapi_for(&proxy, "203.0.113.1").send().await.unwrap(),
        429,
    )
    .await;

    // Anyone else is counted by their own address, whatever they write in the header.
    let stranger = client_from([127, 0, 0, 8]);
    assert_eq!(
        status(openapi_for(&stranger, "203.0.113.1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(openapi_for(&stranger, "203.0.113.3")).await,
        StatusCode::OK
    );
    problem(
        openapi_for(&stranger, "203.0.113.4").send().await.unwrap(),
        429,
    )
    .await;
}
