//! What every service's HTTP server has in common: health, metrics, request ids, request logs,
//! problem+json for every error (the HTTP server's own protocol errors too, see [`crate::wire`]),
//! security headers, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::auth::Authenticator;
use crate::db::Db;
use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::events::EventBus;
use crate::telemetry::traces;
use crate::wire::Guarded;
use crate::{request_id, security, telemetry};

mod drain;
mod start_gate;
#[cfg(test)]
mod tests;
pub use drain::{Draining, ShutdownPlan, drain};
pub use start_gate::StartGate;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Answers `/health/ready`: `Err` names the dependency that is down.
#[derive(Clone)]
pub struct Readiness(Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>);

impl Readiness {
    pub fn new<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(check())))
    }

    pub fn database(db: Db) -> Self {
        Self::new(move || {
            let db = db.clone();
            async move {
                db.ping()
                    .await
                    .map_err(|_| "database unreachable".to_owned())
            }
        })
    }

    /// The database, and the message broker when events go through one.
    pub fn database_and_bus(db: Db, bus: EventBus) -> Self {
        Self::new(move || {
            let (db, bus) = (db.clone(), bus.clone());
            async move {
                db.ping()
                    .await
                    .map_err(|_| "database unreachable".to_owned())?;
                bus.check().await
            }
        })
    }
}

/// Wraps a service's API routes with the shared endpoints and middleware; every `/api` request
/// is authenticated by `auth`.
pub fn service_app(
    service: &'static str,
    api: Router,
    readiness: Readiness,
    auth: Authenticator,
) -> Router {
    // Install the recorder before the first request is counted, not at the first scrape.
    telemetry::prometheus();
    api.route("/health/live", get(live))
        .route("/health/ready", get(ready).with_state(readiness))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::NotFound("No such resource.".to_owned()) })
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(middleware::from_fn(move |req, next| {
            auth.clone().authenticate(req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            telemetry::record_metrics(service, req, next)
        }))
        .layer(middleware::from_fn(traces::name_request_span))
        .layer(
            ServiceBuilder::new()
                // Outermost, so every answer gets them, even a caught panic's.
                .layer(middleware::from_fn(security::headers))
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                ]))
                // Drops a client's unacceptable id before anything records it.
                .layer(middleware::from_fn(request_id::assign))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(move |req: &Request| traces::request_span(service, req))
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                }))
                .layer(middleware::from_fn(problem_details)),
        )
}

/// Serves until `shutdown` completes, then finishes the requests in flight. Handlers see the
/// peer as `ConnectInfo<SocketAddr>`; every connection is [`Guarded`] (problem+json for the
/// HTTP server's own protocol errors, lingering close).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_plan(listener, app, shutdown, ShutdownPlan::IMMEDIATE).await
}

/// [`serve`], shutting down by `plan` (see [`drain`](self::drain())): once `shutdown`
/// completes, readiness fails while requests are still served for the drain period; then the
/// listener closes and the requests in flight get the grace period to finish.
pub async fn serve_with_plan(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    plan: ShutdownPlan,
) -> std::io::Result<()> {
    let draining = Draining::new();
    let app = draining.wrap(app);
    let http = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let serve_connection = |stream: TcpStream, peer: SocketAddr| {
        let app = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let connection = http.serve_connection_with_upgrades(
            TokioIo::new(Guarded::new(stream)),
            TowerToHyperService::new(app),
        );
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    };
    let stop = async move {
        shutdown.await;
        drain(&draining, plan).await;
    };
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: pause rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        serve_connection(stream, peer);
    }
    close_listener(listener, serve_connection);
    finish_in_flight(graceful, plan).await;
    Ok(())
}

/// Closes `listener`, first handing `serve` every connection still waiting in its queue: the
/// kernel completed those, so their clients may have sent a request already, and closing the
/// listener under them would reset them unanswered (a `POST` the client cannot send again).
pub fn close_listener(listener: TcpListener, mut serve: impl FnMut(TcpStream, SocketAddr)) {
    // Tokio's listener is non-blocking: this ends at the first empty queue.
    let Ok(listener) = listener.into_std() else {
        return;
    };
    while let Ok((stream, peer)) = listener.accept() {
        if stream.set_nonblocking(true).is_ok()
            && let Ok(stream) = TcpStream::from_std(stream)
        {
            serve(stream, peer);
        }
    }
}

/// After the listener closed: for [`ShutdownPlan::linger`], the open connections are served as
/// before (while draining, each answer closes its connection), so a request already on its way
/// over a connection accepted during the drain is read and answered; then idle connections
/// close at once and the requests in flight get `plan.grace` to finish.
pub async fn finish_in_flight(graceful: GracefulShutdown, plan: ShutdownPlan) {
    let linger_until = tokio::time::Instant::now() + plan.linger();
    while graceful.count() > 0 && tokio::time::Instant::now() < linger_until {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if tokio::time::timeout(plan.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = plan.grace.as_secs(),
            "requests still in flight after the grace period; stopping anyway"
        );
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "UP"}))
}

async fn ready(State(readiness): State<Readiness>) -> Response {
    match (readiness.0)().await {
        Ok(()) => Json(serde_json::json!({"status": "UP"})).into_response(),
        Err(detail) => ApiError::Unavailable(detail).into_response(),
    }
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        telemetry::prometheus().render(),
    )
        .into_response()
}

/// Makes every 4xx/5xx a problem+json with `instance` set, including the plain-text answers of
/// extractors and of axum itself (405, 413, ...).
async fn problem_details(req: Request, next: Next) -> Response {
    let instance = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        // A problem already, or a page of the web app (an HTML answer is for a reader).
        None if is_problem_json(&parts.headers) || is_html(&parts.headers) => {
            return Response::from_parts(parts, body);
        }
        None => Problem::new(status, plain_text_detail(body).await),
    };
    problem.instance = Some(instance);
    let mut fresh = problem.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn is_problem_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

async fn plain_text_detail(body: Body) -> Option<String> {
    let bytes = body.collect().await.ok()?.to_bytes();
    let text = String::from_utf8(bytes.to_vec()).ok()?;
    let text = text.trim();
    (!text.is_empty() && text.len() <= 500).then(|| text.to_owned())
}
