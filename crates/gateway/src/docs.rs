//! The merged OpenAPI document at `/api/openapi.json` and Swagger UI rendering it at `/docs`.

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub(crate) const OPENAPI_PATH: &str = "/api/openapi.json";

/// Swagger UI's assets are compiled in (`vendored`), so nothing is fetched at build or run time.
/// It serves the document itself at `OPENAPI_PATH`, and redirects `/docs` to `/docs/`.
pub(crate) fn routes(openapi: OpenApi) -> Router {
    SwaggerUi::new("/docs").url(OPENAPI_PATH, openapi).into()
}
