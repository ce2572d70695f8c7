use platform::config::Service;
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

async fn every_response_carries_a_request_id(app: &TestApp) {
    let fresh = app
        .http
        .get(format!("{}/api/patients", app.gateway))
        .send()
        .await
        .unwrap();
    assert!(fresh.headers().contains_key("x-request-id"));
    let echoed = app
        .http
        .get(format!("{}/api/nothing-here", app.gateway))
        .bearer_auth(&app.admin_token)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 404);
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    assert_eq!(echoed.headers()["content-type"], "application/problem+json");
}

async fn unknown_routes_and_methods_are_problems(app: &TestApp) {
    app.get("/api/unknown").await.expect(404);
    // Any other path is a page of the web app: its 404 is a page, not a problem.
    let page = app.get("/nope").await;
    assert_eq!(page.status, 404);
    let content_type = page.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    app.request(Method::PATCH, "/api/patients", Some(&json!({})))
        .await
        .expect(405);
}

async fn oversize_bodies_are_refused(app: &TestApp) {
    let huge = json!({"name": "x".repeat(2 * 1024 * 1024)});
    app.post("/api/patients", &huge).await.expect(413);
}

async fn services_answer_health_and_metrics(app: &TestApp) {
    for (service, base) in &app.urls {
        for path in ["/health/live", "/health/ready"] {
            let reply = app.request_to(base, Method::GET, path, None).await;
            assert_eq!(reply.status, 200, "{service} {path}");
        }
        app.request_to(base, Method::GET, "/api/doctors", None)
            .await;
        let metrics = app
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("http_requests_total"), "{service}");
        assert!(
            metrics.contains("http_request_duration_seconds_bucket"),
            "{service}"
        );
    }
    // Each service also serves its own paths directly.
    let doctors = &app.urls[&Service::Doctors];
    app.request_to(doctors, Method::GET, "/api/doctors", None)
        .await
        .expect(200);
}

async fn documents_every_api_path(app: &TestApp) {
    let doc = app.get("/api/openapi.json").await.expect(200);
    let paths = doc.body["paths"].as_object().unwrap();
    for path in [
        "/api/patients",
        "/api/patients/{id}",
        "/api/patients/appointments",
        "/api/doctors",
        "/api/doctors/{id}",
        "/api/doctors/{id}/schedule",
        "/api/doctors/{id}/time-off",
        "/api/doctors/{id}/slots",
        "/api/doctors/appointments/approve",
        "/api/doctors/appointments/reject",
        "/api/appointments",
        "/api/appointments/{id}",
        "/api/appointments/{id}/complete",
        "/api/appointments/{id}/no-show",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let docs = app
        .http
        .get(format!("{}/docs/", app.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

on_both_backends!(
    every_response_carries_a_request_id,
    unknown_routes_and_methods_are_problems,
    oversize_bodies_are_refused,
    services_answer_health_and_metrics,
    documents_every_api_path,
);
