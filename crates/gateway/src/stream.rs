//! Forwarding an upload as it arrives, for the routes that take files (`/api/records`): a
//! 20 MB file passes through without the gateway holding it, while every other route keeps
//! the small buffered limit. Such a body can be sent once only, so it goes to one instance: a
//! refused connection is a 503 rather than a retry elsewhere.

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use http_body_util::{BodyExt, Limited};

use crate::error::ProxyError;
use crate::proxy::{Backend, Outgoing, declared_length, into_client_response};
use crate::upstream::Outcome;

/// An upload may take longer than a plain call before its answer starts.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) async fn forward(
    backend: &Backend,
    request: Request,
    limit: usize,
) -> Result<Response, ProxyError> {
    let (parts, body) = request.into_parts();
    if declared_length(&parts.headers).is_some_and(|length| length > limit as u64) {
        return Err(ProxyError::TooLarge { limit });
    }
    let outgoing = Outgoing::new(parts, None);
    let upstream = &backend.upstream;
    upstream.start().await;
    upstream.budget.deposit();
    let service = upstream.service();
    let instance = upstream
        .pick(&[], Instant::now())
        .ok_or(ProxyError::Unavailable(service))?;
    let body = Limited::new(body, limit).boxed_unsync();
    let request = outgoing
        .to(&instance, body)
        .ok_or(ProxyError::Unavailable(service))?;
    let timeout = backend.proxy.timeout.max(UPLOAD_TIMEOUT);
    let in_flight = instance.begin();
    let answer = tokio::time::timeout(timeout, backend.proxy.client.request(request)).await;
    drop(in_flight);
    let response = match answer {
        Err(_) => return Err(ProxyError::Timeout(service)),
        Ok(Ok(response)) => {
            instance.record(Outcome::Answered, Instant::now());
            response
        }
        Ok(Err(err)) if err.is_connect() => {
            tracing::warn!(%service, instance = instance.base(), error = ?err, "could not connect to upstream");
            instance.record(Outcome::Unreachable, Instant::now());
            return Err(ProxyError::Unavailable(service));
        }
        Ok(Err(err)) => {
            tracing::warn!(%service, instance = instance.base(), error = ?err, "upstream failed");
            instance.record(Outcome::Failed, Instant::now());
            return Err(ProxyError::BadGateway(service));
        }
    };
    Ok(into_client_response(response, outgoing.request_id()))
}
