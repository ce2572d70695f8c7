//! Routes of the identity service; each use case's handlers live in their own file.

mod account;
mod client;
mod jwks;
mod login;
mod register;
mod service_token;
mod session;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use contracts::identity::TokenPair;
use platform::{ApiError, FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::store::User;

#[derive(OpenApi)]
#[openapi(
    components(schemas(Problem, FieldError)),
    tags((name = "identity", description = "Accounts, logins and tokens"))
)]
struct ApiDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(session::refresh))
        .routes(routes!(session::logout))
        .routes(routes!(account::me))
        .routes(routes!(service_token::issue))
}

/// The key set lives outside `/api`: it is public and not part of the API document.
pub fn well_known(api: Router<AppState>) -> Router<AppState> {
    api.route("/.well-known/jwks.json", get(jwks::jwks))
}

/// Token answers must not be stored by any cache (RFC 6749 §5.1).
const NO_STORE: [(HeaderName, HeaderValue); 1] =
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];

/// A token pair, marked not to be cached.
type TokenAnswer = ([(HeaderName, HeaderValue); 1], axum::Json<TokenPair>);

/// Why a login or refresh was refused.
#[derive(Debug)]
pub enum Refusal {
    Api(ApiError),
    /// 429: too many failed logins; try again after this long.
    Locked(Duration),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(err: anyhow::Error) -> Self {
        Self::Api(ApiError::Internal(err))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Api(err) => err.into_response(),
            Self::Locked(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let detail = format!("Too many failed logins; try again in {seconds} seconds.");
                let mut response =
                    Problem::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                response
            }
        }
    }
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("The e-mail address or the password is wrong.".to_owned())
}

/// The pair a login or refresh answers for `user`.
async fn token_pair(
    state: &AppState,
    user: &User,
    refresh_token: String,
) -> platform::Result<TokenPair> {
    let subject = crate::tokens::access::Subject {
        user_id: user.id,
        role: user.role.into(),
        patient_id: user.patient_id,
        doctor_id: user.doctor_id,
    };
    Ok(TokenPair {
        access_token: state.sign(&subject, state.access_ttl).await?,
        token_type: "Bearer".to_owned(),
        expires_in: state.access_ttl.as_secs(),
        refresh_token,
        role: user.role,
        user_id: user.id,
        patient_id: user.patient_id,
        doctor_id: user.doctor_id,
    })
}
