//! The HTTP client the gateway forwards with.
//!
//! hyper-util's pooled legacy client rather than reqwest: it speaks the same `http`/`hyper`
//! types as axum, so requests and responses cross without conversion, and it streams the
//! upstream's response body straight through (the workspace's reqwest has no streaming feature).
//! Its errors also tell a failed connect (nothing sent, safe to try another instance) from a
//! failure after sending. Backends speak plain HTTP/1.1 inside the deployment, so no TLS here.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Request bodies are buffered (and size-checked) before forwarding, so a refused connection
/// can be retried on another instance with the same bytes; file uploads stream through
/// (`crate::stream`).
pub(crate) type HttpClient = Client<HttpConnector, ProxyBody>;

/// A forwarded request's body: buffered bytes, or a size-limited stream.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A connection should open in far less than a request may take; past this the instance is
/// treated as unreachable and another one gets the request.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client whose idle pooled connections are closed after `idle_timeout`: before a backend's
/// own keep-alive timeout or its leaving would race them (see [`crate::Balancing`]).
pub(crate) fn build(upstream_timeout: Duration, idle_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(upstream_timeout.min(MAX_CONNECT_TIMEOUT)));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(idle_timeout)
        .pool_timer(TokioTimer::new())
        .build(connector)
}
