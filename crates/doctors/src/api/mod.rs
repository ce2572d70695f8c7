//! Routes of the doctor service; each resource's handlers live in their own file.

mod availability;
mod decisions;
mod doctors;
mod schedule;
mod slots;
mod time_off;

use platform::schema::{Date, Id, Instant, SearchTerm, VisitMinutes};
use platform::{ApiError, FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    // Parameter types are not collected from the paths; their components are listed here.
    components(schemas(Problem, FieldError, Date, Id, Instant, SearchTerm, VisitMinutes)),
    tags((name = "doctors", description = "Doctor profiles, working hours, time off, free slots and decisions on appointments"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(doctors::create, doctors::list))
        .routes(routes!(doctors::get, doctors::update))
        .routes(routes!(schedule::get, schedule::replace))
        .routes(routes!(time_off::create, time_off::list))
        .routes(routes!(slots::list))
        .routes(routes!(availability::get))
        .routes(routes!(decisions::approve))
        .routes(routes!(decisions::reject))
}

fn doctor_not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Doctor {id} does not exist."))
}
