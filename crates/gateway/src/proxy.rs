//! Forwarding a request to an instance of the service that owns its path, and its answer back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
use axum::response::Response;
use axum::routing::any;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use platform::client::IDEMPOTENCY_KEY;
use platform::server::REQUEST_ID;
use platform::telemetry::traces;

use crate::client::{HttpClient, ProxyBody};
use crate::error::ProxyError;
use crate::headers::{add_forwarded, strip_hop_by_hop};
use crate::tls::ViaTls;
use crate::upstream::{Instance, Outcome, Upstream};

/// What every forwarded request shares.
pub(crate) struct Proxy {
    pub(crate) client: HttpClient,
    pub(crate) max_body_bytes: usize,
    /// From sending until the upstream's response head; the body then streams on its own pace.
    pub(crate) timeout: Duration,
}

/// The state of one service's routes.
#[derive(Clone)]
pub(crate) struct Backend {
    pub(crate) proxy: Arc<Proxy>,
    pub(crate) upstream: Arc<Upstream>,
    /// Streams request bodies of up to this many bytes instead of buffering them (uploads).
    pub(crate) streamed: Option<usize>,
    /// The service's router when it runs in this process: requests go to it without a socket.
    pub(crate) in_process: Option<Router>,
}

/// The routes of one service: its prefix itself and every path below it, for any method.
pub(crate) fn routes(prefix: &str, backend: Backend) -> Router {
    let handler = any(forward).with_state(backend);
    Router::new()
        .route(prefix, handler.clone())
        .route(&format!("{prefix}/"), handler.clone())
        .route(&format!("{prefix}/{{*rest}}"), handler)
}

/// The web app's pages: every path the API routes, `/docs` and the gateway's own endpoints
/// leave (more specific routes win over the wildcard).
pub(crate) fn pages(backend: Backend) -> Router {
    let handler = any(forward).with_state(backend);
    Router::new()
        .route("/", handler.clone())
        .route("/{*rest}", handler)
}

async fn forward(State(backend): State<Backend>, request: Request) -> Result<Response, ProxyError> {
    if let Some(router) = backend.in_process.clone() {
        return crate::in_process::forward(&backend, router, request).await;
    }
    if let Some(limit) = backend.streamed
        && has_body(request.headers())
    {
        return crate::stream::forward(&backend, request, limit).await;
    }
    let Backend {
        proxy, upstream, ..
    } = backend;
    upstream.start().await;
    let (parts, body) = request.into_parts();
    let replayable = is_replayable(&parts.method, parts.uri.path(), &parts.headers);
    let body = read_body(&parts.headers, body, proxy.max_body_bytes).await?;
    let outgoing = Outgoing::new(parts, Some(body.len()));
    let sending = proxy.send(&upstream, &outgoing, body, replayable);
    let response = tokio::time::timeout(proxy.timeout, sending)
        .await
        .map_err(|_| {
            tracing::warn!(service = %upstream.service(), "upstream timed out");
            ProxyError::Timeout(upstream.service())
        })??;
    Ok(into_client_response(response, outgoing.request_id()))
}

/// Whether the client sends a body (an upload to stream) rather than none (a read).
pub(crate) fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// A buffered body as the client's body type.
fn buffered(body: Bytes) -> ProxyBody {
    Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The body's length as the client declared it, if it did.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
}

/// Reads the whole body, refusing more than `limit` bytes whether or not a length was declared.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ProxyError> {
    if declared_length(headers).is_some_and(|length| length > limit as u64) {
        return Err(ProxyError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ProxyError::TooLarge { limit })
        }
        Err(_) => Err(ProxyError::BrokenBody),
    }
}

/// The parts of the client's request that go to whichever instance is tried.
pub(crate) struct Outgoing {
    method: Method,
    path_and_query: PathAndQuery,
    headers: HeaderMap,
}

impl Outgoing {
    /// `body_len` is the length of a buffered body; a streamed one keeps the client's framing.
    pub(crate) fn new(parts: Parts, body_len: Option<usize>) -> Self {
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let mut headers = parts.headers;
        // A buffered body is forwarded whole, so it is framed by its length whatever the
        // client used; a streamed one without a length goes chunked.
        let has_body =
            headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING);
        strip_hop_by_hop(&mut headers);
        if let (true, Some(body_len)) = (has_body, body_len) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body_len));
        }
        add_forwarded(
            &mut headers,
            client_ip,
            parts.extensions.get::<ViaTls>().is_some(),
        );
        // The upstream's span is a child of this request's, whatever trace the client named.
        traces::inject(&tracing::Span::current(), &mut headers);
        let path_and_query = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Self {
            method: parts.method,
            path_and_query,
            headers,
        }
    }

    /// The id the platform layer gave the request (or the client's own).
    pub(crate) fn request_id(&self) -> Option<HeaderValue> {
        self.headers.get(REQUEST_ID).cloned()
    }

    /// `None` when the instance's base and the path do not make a URL.
    pub(crate) fn to(
        &self,
        instance: &Instance,
        body: ProxyBody,
    ) -> Option<hyper::Request<ProxyBody>> {
        let uri: Uri = format!("{}{}", instance.base(), self.path_and_query)
            .parse()
            .ok()?;
        let mut request = hyper::Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .version(Version::HTTP_11)
            .body(body)
            .ok()?;
        *request.headers_mut() = self.headers.clone();
        Some(request)
    }

    /// The request for a router in this process: the path alone names what it routes.
    pub(crate) fn into_local(self, body: Body) -> Request {
        let mut request = Request::new(body);
        *request.method_mut() = self.method;
        *request.uri_mut() = Uri::from(self.path_and_query);
        *request.headers_mut() = self.headers;
        request
    }
}

impl Proxy {
    /// Sends to one instance after another until one answers. Another instance is tried
    /// after a refused connection (nothing was sent), and, when the request may be replayed
    /// (`replayable`), after a broken exchange or a 502/503/504, within the retry budget.
    async fn send(
        &self,
        upstream: &Upstream,
        outgoing: &Outgoing,
        body: Bytes,
        replayable: bool,
    ) -> Result<hyper::Response<Incoming>, ProxyError> {
        let service = upstream.service();
        upstream.budget.deposit();
        let mut tried: Vec<Arc<Instance>> = Vec::new();
        let mut failure = ProxyError::Unavailable(service);
        // A failing answer is kept: if no other instance does better, it goes to the client.
        let mut failed_answer = None;
        while let Some(instance) = upstream.pick(&tried, Instant::now()) {
            tried.push(instance.clone());
            let base = instance.base();
            let Some(request) = outgoing.to(&instance, buffered(body.clone())) else {
                tracing::error!(%service, instance = base, "instance URL does not form a URL");
                instance.record(Outcome::Unreachable, Instant::now());
                continue;
            };
            let in_flight = instance.begin();
            let answer = self.client.request(request).await;
            drop(in_flight);
            let may_retry = || replayable && upstream.budget.withdraw();
            match answer {
                Ok(response) if is_failing(response.status()) => {
                    instance.record(Outcome::Failed, Instant::now());
                    if !may_retry() {
                        return Ok(response);
                    }
                    tracing::info!(%service, instance = base, status = response.status().as_u16(), "retrying on another instance");
                    failed_answer = Some(response);
                }
                Ok(response) => {
                    instance.record(Outcome::Answered, Instant::now());
                    return Ok(response);
                }
                Err(err) if err.is_connect() => {
                    tracing::warn!(%service, instance = base, error = ?err, "could not connect to upstream");
                    instance.record(Outcome::Unreachable, Instant::now());
                }
                Err(err) => {
                    tracing::warn!(%service, instance = base, error = ?err, "upstream failed");
                    instance.record(Outcome::Failed, Instant::now());
                    if !may_retry() {
                        return Err(ProxyError::BadGateway(service));
                    }
                    failure = ProxyError::BadGateway(service);
                }
            }
        }
        failed_answer.ok_or(failure)
    }
}

/// Answers that say the instance (or its own dependencies) failed rather than the request.
fn is_failing(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// POSTs whose service keeps the first answer per `Idempotency-Key` (bookings): sent again
/// with the same key, they replay it instead of acting twice.
const KEYED_POSTS: [&str; 2] = ["/api/appointments", "/api/patients/appointments"];

/// Whether sending the request twice does what sending it once does: the idempotent methods,
/// and a POST that carries an `Idempotency-Key` to a path that honours it.
pub(crate) fn is_replayable(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS => true,
        Method::POST => {
            headers.contains_key(IDEMPOTENCY_KEY)
                && KEYED_POSTS.contains(&path.trim_end_matches('/'))
        }
        _ => false,
    }
}

/// The upstream's answer as it came, minus hop-by-hop headers, under the request's id.
pub(crate) fn into_client_response<B>(
    response: hyper::Response<B>,
    request_id: Option<HeaderValue>,
) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if let Some(id) = request_id {
        parts.headers.insert(REQUEST_ID, id);
    }
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use platform::config::Service;

    use super::*;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, Infallible>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Body::from_stream(futures::stream::iter(chunks))
    }

    fn with_length(length: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static(length));
        headers
    }

    #[tokio::test]
    async fn reads_a_body_within_the_limit() {
        let body = read_body(&HeaderMap::new(), chunked(&[b"ab", b"cd"]), 4).await;
        assert_eq!(body, Ok(Bytes::from_static(b"abcd")));
    }

    #[tokio::test]
    async fn refuses_a_declared_length_over_the_limit_without_reading() {
        let body = read_body(&with_length("5"), Body::empty(), 4).await;
        assert_eq!(body, Err(ProxyError::TooLarge { limit: 4 }));
    }

    #[tokio::test]
    async fn refuses_a_chunked_body_that_grows_over_the_limit() {
        let body = read_body(&HeaderMap::new(), chunked(&[b"abc", b"de"]), 4).await;
        assert_eq!(body, Err(ProxyError::TooLarge { limit: 4 }));
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_a_bad_request() {
        let broken = futures::stream::iter([
            Ok(Bytes::from_static(b"a")),
            Err(std::io::Error::other("reset")),
        ]);
        let body = read_body(&HeaderMap::new(), Body::from_stream(broken), 4).await;
        assert_eq!(body, Err(ProxyError::BrokenBody));
    }

    #[test]
    fn the_outgoing_request_keeps_path_query_and_reframes_the_body() {
        let request = axum::http::Request::post("/api/patients/7?q=x")
            .header(TRANSFER_ENCODING, "chunked")
            .header("x-request-id", "r-1")
            .body(())
            .expect("a valid request");
        let (parts, ()) = request.into_parts();
        let outgoing = Outgoing::new(parts, Some(3));
        let upstream = Upstream::new(
            Service::Patients,
            vec!["http://p:1".to_owned()],
            crate::upstream::Balancing::default(),
            crate::client::build(Duration::from_secs(1), Duration::from_secs(30)),
        );
        let sent = outgoing
            .to(
                &upstream.instances()[0],
                buffered(Bytes::from_static(b"abc")),
            )
            .expect("a valid URL");
        assert_eq!(sent.uri(), "http://p:1/api/patients/7?q=x");
        assert_eq!(sent.method(), Method::POST);
        assert_eq!(
            sent.headers().get(CONTENT_LENGTH),
            Some(&HeaderValue::from(3))
        );
        assert!(!sent.headers().contains_key(TRANSFER_ENCODING));
        assert_eq!(outgoing.request_id(), Some(HeaderValue::from_static("r-1")));
    }
}
