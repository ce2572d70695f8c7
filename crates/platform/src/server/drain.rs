//! Graceful shutdown in three steps, so whatever balances over several instances (the gateway,
//! a Kubernetes Service) stops picking this one before it goes away:
//!
//! 1. **Drain.** On the signal, `/health/ready` answers 503 at once, while every other request
//!    is still served, each answer with `Connection: close` so callers do not keep a pooled
//!    connection to an instance that is leaving. This lasts [`ShutdownPlan::drain`], longer than
//!    the balancers' health-check interval.
//! 2. **Stop accepting**: take the connections already queued, serve the open ones a little
//!    longer ([`ShutdownPlan::linger`]) so a request already sent is answered, then close the
//!    idle ones and let the requests in flight finish, for at most [`ShutdownPlan::grace`].
//! 3. **Exit**: the caller then stops its background work (event consumers close their channel,
//!    so the broker hands the deliveries they held, unacknowledged, to another instance).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::config::parse_var;
use crate::error::ApiError;

/// How long each step of a graceful shutdown may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownPlan {
    /// From the signal until the listener closes: readiness fails, requests are still served.
    pub drain: Duration,
    /// After the listener closed: how long requests in flight may take to finish.
    pub grace: Duration,
}

impl ShutdownPlan {
    pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

    /// What `from_env` reads when nothing is set.
    pub const DEFAULT: Self = Self {
        drain: Self::DEFAULT_DRAIN,
        grace: Self::DEFAULT_GRACE,
    };

    /// No drain: stop accepting at the signal (one process with nothing balancing over it).
    pub const IMMEDIATE: Self = Self {
        drain: Duration::ZERO,
        grace: Self::DEFAULT_GRACE,
    };

    /// How long a caller keeps an idle pooled connection to an instance of another service:
    /// half the drain (at most 30 s), so that a connection left idle through a callee's whole
    /// drain is dropped by its caller before the callee closes it on leaving. A request
    /// written onto it just as the callee closed it would fail unanswered, and a `POST` is
    /// not sent again. Callers and callees of one deployment share the drain setting.
    pub fn idle_connection_timeout(&self) -> Duration {
        const MAX: Duration = Duration::from_secs(30);
        if self.drain.is_zero() {
            MAX
        } else {
            (self.drain / 2).min(MAX)
        }
    }

    /// After the listener closed, how long the open connections are still served before idle
    /// ones are closed: the drain, at most one second (none without a drain). A connection
    /// accepted as the drain ended may carry a request not read yet; closing it as idle would
    /// leave that request unanswered.
    pub fn linger(&self) -> Duration {
        self.drain.min(Duration::from_secs(1))
    }

    /// `CAREBOOK_SHUTDOWN_DRAIN_MS` (default 5000) and `CAREBOOK_SHUTDOWN_GRACE_SECS`
    /// (default 30).
    pub fn from_env() -> anyhow::Result<Self> {
        let drain = parse_var::<u64>("CAREBOOK_SHUTDOWN_DRAIN_MS")?
            .map_or(Self::DEFAULT_DRAIN, Duration::from_millis);
        let grace = parse_var::<u64>("CAREBOOK_SHUTDOWN_GRACE_SECS")?
            .map_or(Self::DEFAULT_GRACE, Duration::from_secs);
        Ok(Self { drain, grace })
    }
}

/// Whether this process is leaving; shared by the server loop and the routes it serves.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn begin(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `app` answering 503 on `/health/ready` once draining began, and `Connection: close` on
    /// everything else from then on.
    pub fn wrap(&self, app: Router) -> Router {
        app.layer(middleware::from_fn_with_state(self.clone(), while_draining))
    }
}

async fn while_draining(State(draining): State<Draining>, req: Request, next: Next) -> Response {
    if !draining.is_draining() {
        return next.run(req).await;
    }
    let mut response = if req.uri().path() == "/health/ready" {
        ApiError::Unavailable("The instance is shutting down.".to_owned()).into_response()
    } else {
        next.run(req).await
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Waits out the drain step: marks `draining`, then lets `plan.drain` pass while requests are
/// still accepted and served.
pub async fn drain(draining: &Draining, plan: ShutdownPlan) {
    draining.begin();
    if !plan.drain.is_zero() {
        tracing::info!(
            drain_ms = plan.drain.as_millis() as u64,
            "draining before shutdown"
        );
        // The point of this step is time itself: balancers notice the failing readiness.
        tokio::time::sleep(plan.drain).await;
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(draining: &Draining) -> Router {
        let app = Router::new()
            .route("/health/ready", get(|| async { "UP" }))
            .route("/api/x", get(|| async { "x" }));
        draining.wrap(app)
    }

    async fn call(app: Router, path: &str) -> Response {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap()
    }

    #[test]
    fn callers_drop_idle_connections_within_half_the_drain() {
        let drain = |ms| ShutdownPlan {
            drain: Duration::from_millis(ms),
            ..ShutdownPlan::DEFAULT
        };
        let ms = |plan: ShutdownPlan| plan.idle_connection_timeout().as_millis();
        assert_eq!(ms(ShutdownPlan::DEFAULT), 2_500);
        assert_eq!(ms(drain(500)), 250);
        assert_eq!(ms(drain(600_000)), 30_000);
        // Nothing drains: no callee leaves under a caller's pooled connection.
        assert_eq!(ms(ShutdownPlan::IMMEDIATE), 30_000);
    }

    #[tokio::test]
    async fn serves_normally_until_draining() {
        let draining = Draining::new();
        let ready = call(app(&draining), "/health/ready").await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert!(!ready.headers().contains_key(header::CONNECTION));
    }

    #[tokio::test]
    async fn readiness_fails_first_and_requests_are_still_served() {
        let draining = Draining::new();
        draining.begin();
        let ready = call(app(&draining), "/health/ready").await;
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let api = call(app(&draining), "/api/x").await;
        assert_eq!(api.status(), StatusCode::OK);
        assert_eq!(api.headers()[header::CONNECTION], "close");
    }
}
