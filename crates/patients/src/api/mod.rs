//! Routes of the patient service; each resource's handlers live in their own file.

mod appointments;
mod exists;
mod patients;
mod privacy;

use platform::schema::{Id, IdempotencyKey, SearchTerm};
use platform::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    // Parameter types are not collected from the paths; their components are listed here.
    components(schemas(Problem, FieldError, Id, IdempotencyKey, SearchTerm)),
    tags((name = "patients", description = "Patient profiles and the patient's booking entry point"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(patients::create, patients::list))
        .routes(routes!(patients::get, patients::update, privacy::erase))
        .routes(routes!(privacy::export))
        .routes(routes!(appointments::request))
        .routes(routes!(exists::exists))
}
