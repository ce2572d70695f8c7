//! Routes of the notification service.

pub(crate) mod notifications;

use platform::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    // Parameter types are not collected from the paths; their components are listed here.
    components(schemas(Problem, FieldError, platform::schema::Id)),
    tags((name = "notifications", description = "Notifications to patients and doctors"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(notifications::list, notifications::create))
}
