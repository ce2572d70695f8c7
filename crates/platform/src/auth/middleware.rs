use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::verifier::TokenVerifier;
use crate::error::ApiError;

/// Authenticates every `/api` request: a valid bearer token becomes a [`super::Principal`] in
/// the request's extensions; a missing one is 401 except on the few public paths; an invalid
/// one is always 401.
#[derive(Debug, Clone)]
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
    public: &'static [&'static str],
}

/// Paths anyone may call without a token (API.md "Conventions").
pub const PUBLIC_PATHS: &[&str] = &[
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/service-token",
    "/api/openapi.json",
    // The payment provider's webhook: it proves itself by its signature, not by a token.
    "/api/billing/webhooks/payments",
];

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self {
            verifier,
            public: PUBLIC_PATHS,
        }
    }

    /// Verifies tokens against the keys of the given identity service instances.
    pub fn for_identity(identity_urls: &[String]) -> Self {
        Self::new(Arc::new(TokenVerifier::new(identity_urls)))
    }

    pub fn verifier(&self) -> &Arc<TokenVerifier> {
        &self.verifier
    }

    pub async fn authenticate(self, mut req: Request, next: Next) -> Response {
        let path = req.uri().path();
        if !path.starts_with("/api/") {
            return next.run(req).await;
        }
        let public = self.public.contains(&path);
        match bearer_token(&req) {
            Some(Ok(token)) => match self.verifier.verify(token).await {
                Ok(principal) => {
                    req.extensions_mut().insert(principal);
                }
                Err(err) => return challenge(err),
            },
            Some(Err(())) => return challenge(malformed()),
            None if public => {}
            None => {
                return challenge(ApiError::Unauthorized(
                    "Authentication is required: send `Authorization: Bearer <token>`.".to_owned(),
                ));
            }
        }
        next.run(req).await
    }
}

fn malformed() -> ApiError {
    ApiError::Unauthorized("The Authorization header must be `Bearer <token>`.".to_owned())
}

/// `Some(Err)` when an Authorization header is there but is not a bearer token.
fn bearer_token(req: &Request) -> Option<Result<&str, ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Some(token.ok_or(()))
}

fn challenge(err: ApiError) -> Response {
    let mut response = err.into_response();
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"carebook\""),
        );
    }
    response
}
