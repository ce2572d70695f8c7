use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use crate::server::REQUEST_ID;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What a service passes on when it calls another on a client's behalf: the request id (so
/// logs of one request line up), the caller's credentials and the idempotency key.
#[derive(Debug, Clone, Default)]
pub struct Forwarded {
    request_id: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    idempotency_key: Option<HeaderValue>,
}

impl Forwarded {
    /// A call a service makes on its own behalf, with its own bearer token, inside the request
    /// `request_id` (if any).
    pub fn service(token: &str, request_id: Option<&HeaderValue>) -> Self {
        Self {
            request_id: request_id.cloned(),
            authorization: HeaderValue::try_from(format!("Bearer {token}")).ok(),
            idempotency_key: None,
        }
    }

    pub(super) fn apply(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(id) = &self.request_id {
            request = request.header(REQUEST_ID.as_str(), id.as_bytes());
        }
        if let Some(auth) = &self.authorization {
            request = request.header(header::AUTHORIZATION.as_str(), auth.as_bytes());
        }
        if let Some(key) = &self.idempotency_key {
            request = request.header(IDEMPOTENCY_KEY, key.as_bytes());
        }
        request
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Forwarded {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            request_id: parts.headers.get(REQUEST_ID).cloned(),
            authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
            idempotency_key: parts.headers.get(IDEMPOTENCY_KEY).cloned(),
        })
    }
}
