//! The stylesheet and scripts, compiled into the binary: nothing is fetched from elsewhere.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

const CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");
/// htmx 2 (BSD Zero-Clause), vendored unmodified.
const HTMX_JS: &str = include_str!("../assets/htmx.min.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(|| async { asset("text/css", CSS) }))
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset("text/javascript", HTMX_JS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // Not personal: browsers may keep them for a while between deployments.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
}
