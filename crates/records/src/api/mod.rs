//! Routes of the record service; writes and reads live in their own files.

mod create;
mod read;
mod upload;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contracts::records::{Attachment, MedicalRecord, NewRecord, RecordType, RecordUpload};
use platform::{ApiError, FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    components(schemas(Problem, FieldError, MedicalRecord, Attachment, NewRecord, RecordType, RecordUpload)),
    tags((name = "records", description = "Medical records and their files, encrypted at rest"))
)]
struct ApiDoc;

/// Multipart framing and the `record` part on top of the largest file.
const FORM_OVERHEAD: usize = 1024 * 1024;

pub fn routes(max_upload_bytes: u64) -> OpenApiRouter<AppState> {
    let body_limit = usize::try_from(max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(FORM_OVERHEAD);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create::create).layer(DefaultBodyLimit::max(body_limit)))
        .routes(routes!(read::list))
        .routes(routes!(read::download))
}

/// A refusal that is not one of [`ApiError`]'s statuses (413, 415), or an [`ApiError`].
#[derive(Debug)]
pub(crate) enum Refusal {
    Api(ApiError),
    Status(StatusCode, FieldError),
}

impl Refusal {
    pub(crate) fn too_large(limit: u64) -> Self {
        let message = format!("must be at most {} MB", limit / (1024 * 1024));
        Self::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            FieldError::new("file", message),
        )
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FieldError::new("file", message),
        )
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(err: anyhow::Error) -> Self {
        Self::Api(ApiError::Internal(err))
    }
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Api(err) => err.into_response(),
            Self::Status(status, error) => Problem::new(status, error.message.clone())
                .with_errors(vec![error])
                .into_response(),
        }
    }
}
