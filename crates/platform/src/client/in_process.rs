//! Services of one process (`carebook up`) calling each other without a loopback socket. The
//! composition registers each service's router under the URL it listens on, for as long as it
//! serves there; a call to a registered URL goes to that router, which sees it as the socket
//! would have brought it (the same method, path and headers, loopback as the peer).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use tower::ServiceExt;

/// What a service called in-process sees as its peer (another service or the gateway, on
/// loopback), as `ConnectInfo`.
pub const LOOPBACK_PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// The largest answer taken from a service in this process (its answers are JSON documents).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Each registration's router, by URL, with the registration's number.
type Registry = RwLock<HashMap<String, (u64, Router)>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(RwLock::default)
}

/// Calls to `base` (e.g. `http://127.0.0.1:8082`, as callers are configured) go to `router`
/// until the returned registration is dropped: keep it where the listener on `base` is served,
/// so that the port, once closed and perhaps reused, is no longer answered here.
#[must_use = "dropping the registration ends it"]
pub fn register(base: String, router: Router) -> Registration {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut routers = registry().write().unwrap_or_else(PoisonError::into_inner);
    routers.insert(base.clone(), (id, router));
    Registration { base, id }
}

/// Ends its router's registration when dropped (a later one for the same URL stays).
#[derive(Debug)]
pub struct Registration {
    base: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut routers = registry().write().unwrap_or_else(PoisonError::into_inner);
        if routers
            .get(&self.base)
            .is_some_and(|(id, _)| *id == self.id)
        {
            routers.remove(&self.base);
        }
    }
}

/// The router serving `base` in this process, if one does.
pub(super) fn router(base: &str) -> Option<Router> {
    let routers = registry().read().unwrap_or_else(PoisonError::into_inner);
    routers.get(base).map(|(_, router)| router.clone())
}

/// Hands `request` to `router` and takes its whole answer, within the request's timeout.
/// `Err` says why there is no answer.
pub(super) async fn call(
    router: Router,
    request: reqwest::Request,
) -> Result<reqwest::Response, &'static str> {
    let timeout = request.timeout().copied().unwrap_or(Duration::MAX);
    let mut local = http::Request::new(Body::from(
        request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(Bytes::copy_from_slice)
            .unwrap_or_default(),
    ));
    *local.method_mut() = request.method().clone();
    let target = match request.url().query() {
        Some(query) => format!("{}?{query}", request.url().path()),
        None => request.url().path().to_owned(),
    };
    *local.uri_mut() = target.parse().map_err(|_| "request failed")?;
    *local.headers_mut() = request.headers().clone();
    local.extensions_mut().insert(ConnectInfo(LOOPBACK_PEER));
    let answered = async {
        let Ok(response) = router.oneshot(local).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ANSWER_BYTES)
            .await
            .map_err(|_| "request failed")?;
        Ok(reqwest::Response::from(http::Response::from_parts(
            parts, bytes,
        )))
    };
    tokio::time::timeout(timeout, answered)
        .await
        .map_err(|_| "timed out")?
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::http::{HeaderMap, HeaderValue};
    use axum::routing::get;
    use serde_json::{Value, json};

    use super::*;
    use crate::client::{Forwarded, ServiceClient};
    use crate::error::ApiError;

    /// A loopback URL nothing listens on.
    fn closed_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!("http://{}", listener.local_addr().expect("an address"))
    }

    fn echo() -> Router {
        let handler = |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            Json(json!({
                "peer": peer.to_string(),
                "authorization": header("authorization"),
                "requestId": header("x-request-id"),
            }))
        };
        Router::new().route("/api/things/{id}", get(handler))
    }

    #[tokio::test]
    async fn a_registered_url_is_answered_in_this_process_until_the_registration_ends() {
        let base = closed_url();
        let registration = register(base.clone(), echo());
        let client =
            ServiceClient::new("things", vec![base], Duration::from_secs(1)).expect("a client");
        let request_id = HeaderValue::from_static("in-process-7");
        let forwarded = Forwarded::service("t0k3n", Some(&request_id));

        let answer: Option<Value> = client
            .get("/api/things/1?full=true", &forwarded)
            .await
            .expect("an answer from the router");
        let answer = answer.expect("found");
        assert_eq!(answer["peer"], "127.0.0.1:0");
        assert_eq!(answer["authorization"], "Bearer t0k3n");
        assert_eq!(answer["requestId"], "in-process-7");

        drop(registration);
        let refused = client.get::<Value>("/api/things/1", &forwarded).await;
        assert!(
            matches!(refused, Err(ApiError::Unavailable(_))),
            "after the registration the closed port answers: {refused:?}"
        );
    }
}
