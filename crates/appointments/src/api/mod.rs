//! Routes of the appointment service; each group of handlers lives in its own file.

mod bookings;
mod lifecycle;
mod queries;

use platform::schema::{Id, IdempotencyKey, Instant, OptionalReason};
use platform::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    // Parameter types are not collected from the paths; their components are listed here.
    components(schemas(Problem, FieldError, Id, IdempotencyKey, Instant, OptionalReason)),
    tags((name = "appointments", description = "Bookings and their lifecycle"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(bookings::create, queries::list))
        .routes(routes!(queries::busy))
        .routes(routes!(queries::patient_ids))
        .routes(routes!(queries::get, bookings::update, lifecycle::cancel))
        .routes(routes!(lifecycle::approve))
        .routes(routes!(lifecycle::reject))
        .routes(routes!(lifecycle::complete))
        .routes(routes!(lifecycle::no_show))
}
