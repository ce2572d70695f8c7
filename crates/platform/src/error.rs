//! One error type for every service, answered as `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Result alias used by handlers, domain functions and stores.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problem+json body of every 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<Option<String>>) -> Self {
        let slug = match status.as_u16() {
            400 => "bad-request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not-found",
            405 => "method-not-allowed",
            409 => "conflict",
            413 => "payload-too-large",
            415 => "unsupported-media-type",
            422 => "unprocessable-entity",
            429 => "too-many-requests",
            502 => "bad-gateway",
            503 => "service-unavailable",
            504 => "gateway-timeout",
            s if s >= 500 => "internal-error",
            _ => "client-error",
        };
        Self {
            kind: format!("urn:carebook:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            errors: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = Some(errors);
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status_code(), body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // Kept so the server middleware can fill in `instance` without reparsing the body.
        response.extensions_mut().insert(self);
        response
    }
}

/// Everything a request can fail with; each variant's doc names its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: one entry per field that failed validation.
    #[error("request failed validation")]
    Invalid(Vec<FieldError>),
    /// 400: the body or a parameter could not be read at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 401: missing, invalid or expired credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// 404: the resource in the path does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 422: a referenced entity does not exist or cannot be used.
    #[error("unprocessable")]
    Unprocessable(Vec<FieldError>),
    /// 503: a dependency (database, another service) is down.
    #[error("{0}")]
    Unavailable(String),
    /// The answer of another service, passed on unchanged.
    #[error("upstream problem {}", .0.status)]
    Upstream(Box<Problem>),
    /// 500: a bug or an unexpected failure; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        Self::Unprocessable(vec![FieldError::new(field, message)])
    }

    pub fn to_problem(&self) -> Problem {
        match self {
            Self::Invalid(errors) => Problem::new(
                StatusCode::BAD_REQUEST,
                "One or more fields are invalid.".to_owned(),
            )
            .with_errors(errors.clone()),
            Self::Malformed(detail) => Problem::new(StatusCode::BAD_REQUEST, detail.clone()),
            Self::Unauthorized(detail) => Problem::new(StatusCode::UNAUTHORIZED, detail.clone()),
            Self::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "You are not allowed to do this.".to_owned(),
            ),
            Self::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND, detail.clone()),
            Self::Conflict(detail) => Problem::new(StatusCode::CONFLICT, detail.clone()),
            Self::Unprocessable(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "A referenced entity does not exist or cannot be used.".to_owned(),
            )
            .with_errors(errors.clone()),
            Self::Unavailable(detail) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail.clone())
            }
            Self::Upstream(problem) => (**problem).clone(),
            Self::Internal(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred.".to_owned(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            // The cause goes to the log (never to the client); ids only, no PHI reaches here.
            tracing::error!(error = %format!("{err:#}"), "internal error");
        }
        self.to_problem().into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable("The database is not reachable.".to_owned())
            }
            other => Self::Internal(other.into()),
        }
    }
}
