//! The merged OpenAPI document at `/api/openapi.json` and Swagger UI rendering it at `/docs`.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use utoipa_swagger_ui::{Config, SwaggerUi};

pub(crate) const OPENAPI_PATH: &str = "/api/openapi.json";

/// Serves `openapi` (the document's JSON) as it is. Swagger UI's assets are compiled in
/// (`vendored`), so nothing is fetched at build or run time; it redirects `/docs` to `/docs/`.
pub(crate) fn routes(openapi: &'static str) -> Router {
    let document = get(move || async move { ([(CONTENT_TYPE, "application/json")], openapi) });
    Router::new()
        .route(OPENAPI_PATH, document)
        .merge(SwaggerUi::new("/docs").config(Config::from(OPENAPI_PATH)))
}
