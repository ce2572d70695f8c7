//! Cross-origin access from browsers: closed unless `CAREBOOK_CORS_ORIGINS` lists origins.
//!
//! Without CORS headers a browser page from another origin cannot read any answer; with them,
//! only the listed origins (exact `scheme://host[:port]`, never `*`) may call the API. Tokens
//! travel in the `Authorization` header, not cookies, so credentials mode stays off.

use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use platform::server::REQUEST_ID;
use tower_http::cors::{AllowOrigin, CorsLayer};

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Browsers may cache a preflight answer this long.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Parses `CAREBOOK_CORS_ORIGINS`: comma-separated origins, blanks ignored.
pub(crate) fn parse_origins(list: &str) -> anyhow::Result<Vec<HeaderValue>> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(parse_origin)
        .collect()
}

fn parse_origin(origin: &str) -> anyhow::Result<HeaderValue> {
    let uri: Uri = origin
        .parse()
        .with_context(|| format!("CAREBOOK_CORS_ORIGINS: {origin} is not an origin"))?;
    let shape_ok = matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.authority().is_some_and(|a| !a.as_str().contains('@'))
        // `http` reports an absent path as "/"; a written "/" is refused below.
        && uri.path_and_query().is_none_or(|pq| matches!(pq.as_str(), "" | "/"));
    ensure!(
        shape_ok && !origin.ends_with('/'),
        "CAREBOOK_CORS_ORIGINS: {origin} is not an origin (scheme://host[:port], no path)"
    );
    HeaderValue::from_str(origin)
        .with_context(|| format!("CAREBOOK_CORS_ORIGINS: {origin} is not an origin"))
}

/// `app` answering cross-origin requests and preflights from `origins`; unchanged when none.
///
/// Outside the platform's layers on purpose: a preflight carries no token and must be
/// answered before authentication would refuse it.
pub(crate) fn allow(app: Router, origins: &[HeaderValue]) -> Router {
    if origins.is_empty() {
        return app;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            IDEMPOTENCY_KEY,
            REQUEST_ID,
        ])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::LOCATION])
        .max_age(PREFLIGHT_MAX_AGE);
    app.layer(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_list_of_exact_origins() {
        let origins =
            parse_origins(" https://app.example.org , http://localhost:5173,,").expect("valid");
        assert_eq!(
            origins,
            ["https://app.example.org", "http://localhost:5173"]
        );
        assert!(parse_origins("").expect("valid").is_empty());
    }

    #[test]
    fn refuses_what_a_browser_would_never_send_as_an_origin() {
        for bad in [
            "*",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "https://user@app.example.org",
            "ftp://app.example.org",
            "https://app.example.org?x=1",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
