//! Handing a request to a service that runs in this process (the embedded mode): its router
//! gets the request as a socket would have brought it — the same headers, the gateway's
//! loopback address as the peer — without the loopback connection, its parsing and its
//! wake-ups. The service's own middleware (authentication, request log, problem+json) runs
//! as it does for any caller.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use http_body_util::Limited;
use platform::client::in_process::LOOPBACK_PEER;
use tower::ServiceExt;

use crate::error::ProxyError;
use crate::proxy::{Backend, Outgoing, declared_length, has_body, into_client_response, read_body};

pub(crate) async fn forward(
    backend: &Backend,
    router: Router,
    request: Request,
) -> Result<Response, ProxyError> {
    let (parts, body) = request.into_parts();
    let (outgoing, body) = match backend.streamed {
        // An upload streams into the service as it arrives, within the upload limit.
        Some(limit) if has_body(&parts.headers) => {
            if declared_length(&parts.headers).is_some_and(|length| length > limit as u64) {
                return Err(ProxyError::TooLarge { limit });
            }
            (
                Outgoing::new(parts, None),
                Body::new(Limited::new(body, limit)),
            )
        }
        _ => {
            let body = read_body(&parts.headers, body, backend.proxy.max_body_bytes).await?;
            (Outgoing::new(parts, Some(body.len())), Body::from(body))
        }
    };
    let request_id = outgoing.request_id();
    let mut request = outgoing.into_local(body);
    request.extensions_mut().insert(ConnectInfo(LOOPBACK_PEER));
    let service = backend.upstream.service();
    let response = tokio::time::timeout(backend.proxy.timeout, router.oneshot(request))
        .await
        .map_err(|_| {
            tracing::warn!(%service, "in-process service timed out");
            ProxyError::Timeout(service)
        })?;
    let Ok(response) = response;
    Ok(into_client_response(response, request_id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Json;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use http_body_util::BodyExt;
    use platform::config::Service;
    use serde_json::{Value, json};

    use std::net::SocketAddr;

    use super::*;
    use crate::{GatewayConfig, router};

    /// A gateway whose every instance URL is a closed port, with identity's login in this
    /// process: it echoes what it received and counts its calls.
    fn gateway(calls: Arc<AtomicUsize>) -> Router {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            format!("http://{}", listener.local_addr().expect("an address"))
        };
        let echo = post(
            move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: String| {
                calls.fetch_add(1, Ordering::SeqCst);
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let echoed = json!({
                    "peer": peer.to_string(),
                    "proto": header("x-forwarded-proto"),
                    "connection": header("connection"),
                    "length": header("content-length"),
                    "body": body,
                });
                async move { Json(echoed) }
            },
        );
        let service = Router::new().route("/api/auth/login", echo);
        let upstreams = Service::BACKENDS
            .into_iter()
            .map(|service| (service, vec![closed.clone()]))
            .collect();
        let mut config = GatewayConfig::new(upstreams, "{}");
        config.max_body_bytes = 16;
        config.in_process = vec![(Service::Identity, service)];
        router(config)
    }

    async fn send(gateway: Router, body: &'static str) -> (StatusCode, HeaderMap, Value) {
        let request = Request::post("/api/auth/login?next=1")
            .header("connection", "keep-alive")
            .header("x-request-id", "in-process-1")
            .header("content-length", body.len())
            .body(Body::from(body))
            .expect("a valid request");
        let response = gateway.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("a body").to_bytes();
        let json = serde_json::from_slice(&bytes).expect("a JSON body");
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn a_service_in_this_process_gets_the_request_as_a_socket_would_bring_it() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (status, headers, echoed) = send(gateway(calls.clone()), r#"{"a":1}"#).await;
        // Its instance URL is a closed port: the answer came from the router itself.
        assert_eq!(status, StatusCode::OK, "{echoed}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(echoed["peer"], "127.0.0.1:0");
        assert_eq!(echoed["proto"], "http");
        assert_eq!(echoed["connection"], Value::Null, "hop-by-hop headers stop");
        assert_eq!(echoed["length"], "7");
        assert_eq!(echoed["body"], r#"{"a":1}"#);
        assert_eq!(headers["x-request-id"], "in-process-1");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_before_the_service_sees_it() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (status, _, problem) = send(gateway(calls.clone()), r#"{"far":"too long"}"#).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
