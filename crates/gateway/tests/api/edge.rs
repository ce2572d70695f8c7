//! What browsers are told: security headers on every answer, the docs' own policy, and CORS
//! (closed unless origins are configured).

use axum::http::{HeaderValue, Method, StatusCode};
use platform::security::{API_CSP, DOCS_CSP};
use reqwest::header::CONTENT_TYPE;

use crate::support::{TestGateway, config, every_service, spawn, stand_in};

const APP_ORIGIN: &str = "https://app.example.org";

fn assert_browser_guards(response: &reqwest::Response, csp: &str) {
    let headers = response.headers();
    let path = response.url().path();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    assert_eq!(headers["content-security-policy"], csp, "{path}");
}

#[tokio::test]
async fn api_answers_are_guarded_and_never_stored() {
    let gateway = TestGateway::in_front_of(&spawn(stand_in()).await).await;

    let forwarded = gateway.get("/api/patients/1").await;
    let refused = gateway
        .anonymous(Method::GET, "/api/patients/1")
        .send()
        .await
        .unwrap();
    let unknown = gateway.get("/api/nothing-here").await;
    let document = gateway
        .anonymous(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap();

    for (response, status) in [
        (forwarded, StatusCode::CREATED),
        (refused, StatusCode::UNAUTHORIZED),
        (unknown, StatusCode::NOT_FOUND),
        (document, StatusCode::OK),
    ] {
        assert_eq!(response.status(), status, "{}", response.url());
        assert_browser_guards(&response, API_CSP);
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    let health = gateway
        .anonymous(Method::GET, "/health/live")
        .send()
        .await
        .unwrap();
    assert_browser_guards(&health, API_CSP);
}

/// The docs page must still work under its policy: everything it loads comes from the gateway
/// itself, and no script is inline.
#[tokio::test]
async fn docs_render_under_their_own_policy() {
    let gateway = TestGateway::in_front_of(&spawn(stand_in()).await).await;

    let page = gateway
        .anonymous(Method::GET, "/docs/")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_browser_guards(&page, DOCS_CSP);
    let html = page.text().await.unwrap();

    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{html}");
    let mut assets = Vec::new();
    for tag in scripts {
        let (attributes, rest) = tag.split_once('>').unwrap();
        assert!(
            rest.trim_start().starts_with("</script>"),
            "inline script: {tag}"
        );
        assets.push(attribute(attributes, "src"));
    }
    for tag in html.split("<link").skip(1) {
        let attributes = tag.split_once('>').unwrap().0;
        if attributes.contains("stylesheet") {
            assets.push(attribute(attributes, "href"));
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for asset in assets {
        assert!(
            !asset.contains("//"),
            "{asset} is not from the gateway itself"
        );
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let response = gateway.anonymous(Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let kind = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            kind.contains("javascript") || kind.contains("css"),
            "{path}: {kind}"
        );
        assert_browser_guards(&response, DOCS_CSP);
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    // The initializer fetches the document from the same origin (`connect-src 'self'`).
    let init = gateway
        .anonymous(Method::GET, "/docs/swagger-initializer.js")
        .send()
        .await
        .unwrap();
    assert!(init.text().await.unwrap().contains("/api/openapi.json"));
}

fn attribute<'a>(attributes: &'a str, name: &str) -> &'a str {
    let start = attributes
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {attributes}"))
        + name.len()
        + 2;
    let length = attributes[start..].find('"').unwrap();
    &attributes[start..start + length]
}

fn preflight(gateway: &TestGateway, origin: &str) -> reqwest::RequestBuilder {
    gateway
        .anonymous(Method::OPTIONS, "/api/appointments")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,idempotency-key",
        )
}

#[tokio::test]
async fn cors_is_closed_by_default() {
    let gateway = TestGateway::in_front_of(&spawn(stand_in()).await).await;

    let answer = preflight(&gateway, APP_ORIGIN).send().await.unwrap();
    assert!(!answer.headers().contains_key("access-control-allow-origin"));
    let get = gateway
        .request(Method::GET, "/api/doctors")
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::CREATED);
    assert!(!get.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn cors_opens_to_the_configured_origins_only() {
    let upstream = spawn(stand_in()).await;
    let mut config = config(every_service(&[&upstream]));
    config.cors_origins = vec![
        HeaderValue::from_static(APP_ORIGIN),
        HeaderValue::from_static("http://localhost:5173"),
    ];
    let gateway = TestGateway::start(config).await;

    let answer = preflight(&gateway, APP_ORIGIN).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let headers = answer.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for header in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(allowed.contains(header), "{allowed}");
    }
    assert!(!headers.contains_key("access-control-allow-credentials"));

    let get = gateway
        .request(Method::GET, "/api/doctors")
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::CREATED);
    assert_eq!(get.headers()["access-control-allow-origin"], APP_ORIGIN);
    let exposed = get.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let stranger = preflight(&gateway, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !stranger
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
