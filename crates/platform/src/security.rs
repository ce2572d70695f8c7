//! Response headers that tell browsers how to treat carebook's answers, sent by every service
//! (and the gateway) from `server::service_app`.
//!
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`
//!   on every response: no content sniffing, no framing (clickjacking), no URLs with ids leaking
//!   to other sites.
//! - `Cache-Control: no-store` on `/api` responses: they may carry PHI, which must not stay in
//!   browser or proxy caches. A handler that set its own `Cache-Control` keeps it.
//! - `Content-Security-Policy`: nothing may load or run (`default-src 'none'`) on API answers, so
//!   a JSON body that a browser is tricked into rendering cannot execute anything. `/docs` (Swagger
//!   UI) gets a policy that allows its own scripts and styles from the same origin. A handler or
//!   upstream that set its own policy keeps it.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// For API answers (JSON, problem+json, plain text): nothing may load, nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// For Swagger UI at `/docs`: its scripts, styles and the OpenAPI document come from the same
/// origin. Swagger UI sets inline `style` attributes as it renders (hence `'unsafe-inline'` for
/// styles only; scripts stay `'self'`) and its stylesheet embeds icons as `data:` SVGs.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Adds the headers above to the response of `req`.
pub async fn headers(req: Request, next: Next) -> Response {
    let kind = PathKind::of(req.uri().path());
    let mut response = next.run(req).await;
    apply(kind, response.headers_mut());
    response
}

/// The headers of an answer given before any route was found (a request the HTTP server could
/// not parse): those of an API answer.
pub fn protocol_error_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    apply(PathKind::Api, &mut headers);
    headers
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    Api,
    Docs,
    Other,
}

impl PathKind {
    fn of(path: &str) -> Self {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/api") {
            Self::Api
        } else if under("/docs") {
            Self::Docs
        } else {
            Self::Other
        }
    }
}

fn apply(kind: PathKind, headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let csp = match kind {
        PathKind::Docs => DOCS_CSP,
        PathKind::Api | PathKind::Other => API_CSP,
    };
    insert_if_absent(headers, header::CONTENT_SECURITY_POLICY, csp);
    if kind == PathKind::Api {
        insert_if_absent(headers, header::CACHE_CONTROL, "no-store");
    }
}

fn insert_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers
        .entry(name)
        .or_insert_with(|| HeaderValue::from_static(value));
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn answer(path: &str) -> HeaderMap {
        let app = Router::new()
            .route("/api/patients/1", get(|| async { "{}" }))
            .route(
                "/api/records/1/attachment",
                get(|| async { ([(header::CACHE_CONTROL, "private, max-age=60")], "bytes") }),
            )
            .route("/docs/", get(|| async { "<html></html>" }))
            .route("/health/live", get(|| async { "UP" }))
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(axum::middleware::from_fn(headers));
        let request = Request::get(path)
            .body(Body::empty())
            .expect("a valid request");
        let response = app.oneshot(request).await.expect("infallible");
        response.headers().clone()
    }

    fn value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn every_response_is_neither_sniffed_nor_framed_nor_referred() {
        for path in ["/api/patients/1", "/docs/", "/health/live", "/nowhere"] {
            let headers = answer(path).await;
            assert_eq!(value(&headers, "x-content-type-options"), Some("nosniff"));
            assert_eq!(value(&headers, "x-frame-options"), Some("DENY"));
            assert_eq!(value(&headers, "referrer-policy"), Some("no-referrer"));
        }
    }

    #[tokio::test]
    async fn api_answers_are_not_stored_and_may_run_nothing() {
        for path in ["/api/patients/1", "/api/unknown"] {
            let headers = answer(path).await;
            assert_eq!(value(&headers, "cache-control"), Some("no-store"), "{path}");
            assert_eq!(
                value(&headers, "content-security-policy"),
                Some(API_CSP),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_handler_keeps_its_own_cache_policy() {
        let headers = answer("/api/records/1/attachment").await;
        assert_eq!(
            value(&headers, "cache-control"),
            Some("private, max-age=60")
        );
    }

    #[tokio::test]
    async fn docs_may_load_their_own_assets_and_are_cacheable() {
        let headers = answer("/docs/").await;
        assert_eq!(value(&headers, "content-security-policy"), Some(DOCS_CSP));
        assert_eq!(value(&headers, "cache-control"), None);
    }

    #[test]
    fn classifies_paths_by_whole_segments() {
        assert_eq!(PathKind::of("/api"), PathKind::Api);
        assert_eq!(PathKind::of("/api/x"), PathKind::Api);
        assert_eq!(PathKind::of("/apix"), PathKind::Other);
        assert_eq!(PathKind::of("/docs"), PathKind::Docs);
        assert_eq!(PathKind::of("/docs/swagger-ui.css"), PathKind::Docs);
        assert_eq!(PathKind::of("/docsx"), PathKind::Other);
        assert_eq!(PathKind::of("/health/ready"), PathKind::Other);
    }
}
