//! The gateway: the one entry point. It routes each `/api` path to the service that owns it,
//! balancing over that service's instances, and serves the merged OpenAPI document and its
//! rendering. It guards the edge: rate limits per client and per user, CORS, optional TLS.
//! Its only state is the rate limits' buckets (in memory, or shared in Redis).

mod audit;
mod budget;
mod client;
mod config;
mod cors;
mod docs;
mod error;
mod headers;
mod health;
mod in_process;
pub mod limit;
mod proxy;
mod stream;
mod tls;
mod upstream;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use platform::auth::Authenticator;
use platform::config::Service;
use platform::server::{ShutdownPlan, service_app};
use tokio::net::TcpListener;

pub use config::GatewayConfig;
pub use limit::{RateLimiter, RateLimits, RedisSettings, TrustedProxies};
pub use tls::{TlsConfig, serve_tls};
pub use upstream::Balancing;

use crate::proxy::{Backend, Proxy};
use crate::upstream::Upstream;

/// Which service owns which path prefix; a prefix covers itself and every path below it.
/// Other `/api` paths are left to the platform's 404 fallback; every other path is a page of the
/// web app ([`PAGES`]).
const ROUTES: [(&str, Service); 10] = [
    ("/api/patients", Service::Patients),
    ("/api/doctors", Service::Doctors),
    ("/api/appointments", Service::Appointments),
    ("/api/notifications", Service::Notifications),
    ("/api/webhooks", Service::Notifications),
    ("/api/billing", Service::Billing),
    ("/api/records", Service::Records),
    ("/api/analytics", Service::Analytics),
    ("/api/auth", Service::Identity),
    ("/.well-known/jwks.json", Service::Identity),
];

/// The web app serves every path no API route, `/docs` or the gateway's own endpoints claim.
const PAGES: Service = Service::Web;

/// Inside identity's prefix but never routed from outside: service tokens (the most privileged
/// there are) are for services, which ask an identity instance directly.
const NOT_ROUTED: &str = "/api/auth/service-token";

/// The gateway's whole application, with health, metrics, request ids, problem+json, security
/// headers, rate limits and (when configured) CORS. Needs no runtime to build: a Redis
/// connection is made at the first request.
pub fn router(config: GatewayConfig) -> Router {
    let auth = Authenticator::for_identity(&config.instances(Service::Identity));
    let trails = audit::Trails::new(|s| config.instances(s), config.upstream_timeout);
    let client = client::build(
        config.upstream_timeout,
        config.balancing.idle_connection_timeout,
    );
    let proxy = Arc::new(Proxy {
        client: client.clone(),
        max_body_bytes: config.max_body_bytes,
        timeout: config.upstream_timeout,
    });
    let upstreams: Vec<Arc<Upstream>> = ROUTES
        .iter()
        .map(|&(_, service)| {
            let instances = config.instances(service);
            let upstream = Upstream::new(service, instances, config.balancing, client.clone());
            Arc::new(upstream)
        })
        .collect();
    let pages = Arc::new(Upstream::new(
        PAGES,
        config.instances(PAGES),
        config.balancing,
        client.clone(),
    ));
    let api = ROUTES.iter().zip(&upstreams).fold(
        docs::routes(config.openapi),
        |api, (&(prefix, _), upstream)| {
            let backend = Backend {
                proxy: proxy.clone(),
                upstream: upstream.clone(),
                // Records take files: their uploads stream through, up to the upload limit.
                streamed: (upstream.service() == Service::Records)
                    .then_some(config.max_upload_bytes),
                in_process: config.in_process(upstream.service()),
            };
            api.merge(proxy::routes(prefix, backend))
        },
    );
    let not_found = || async { platform::ApiError::NotFound("No such resource.".to_owned()) };
    let api = api
        .merge(audit::routes(trails))
        .route(NOT_ROUTED, axum::routing::any(not_found))
        // An unknown API path is an API 404, not a page.
        .route("/api", axum::routing::any(not_found))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .merge(proxy::pages(Backend {
            proxy: proxy.clone(),
            upstream: pages.clone(),
            // A record's file goes through a page's form too.
            streamed: Some(config.max_upload_bytes),
            in_process: config.in_process(PAGES),
        }));
    let upstreams: Vec<Arc<Upstream>> = upstreams.into_iter().chain([pages]).collect();
    let enforcement = Arc::new(limit::Enforcement {
        limiter: match config.redis {
            Some(redis) => RateLimiter::shared(config.rate_limits, redis),
            None => RateLimiter::in_memory(config.rate_limits),
        },
        trusted: config.trusted_proxies,
    });
    // Inside the platform's authentication, so the limiter sees the caller's `Principal`.
    let api = api.layer(middleware::from_fn_with_state(enforcement, limit::enforce));
    let app = service_app(
        Service::Gateway.name(),
        api,
        health::readiness(client, upstreams).gated(config.start_gate),
        auth,
    );
    cors::allow(app, &config.cors_origins)
}

/// Serves `app` until `shutdown` completes, then shuts down by `plan` (readiness fails first
/// while requests are still served, then in-flight requests finish): over TLS when `tls` is
/// given, plain HTTP otherwise.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    plan: ShutdownPlan,
) -> std::io::Result<()> {
    match tls {
        Some(tls) => serve_tls(listener, app, tls, shutdown, plan).await,
        None => platform::server::serve_with_plan(listener, app, shutdown, plan).await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use platform::Problem;
    use tower::ServiceExt;

    use super::*;

    /// A gateway whose every backend is a closed port; requests carry no token. (Routing of
    /// authenticated requests is tested over real sockets in `tests/api/proxy.rs`.)
    async fn answer(path: &str) -> (StatusCode, Problem) {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            format!("http://{}", listener.local_addr().expect("an address"))
        };
        let upstreams = ROUTES
            .iter()
            .map(|&(_, service)| service)
            .chain([PAGES])
            .map(|service| (service, vec![closed.clone()]))
            .collect();
        let mut config = GatewayConfig::new(upstreams, "{}");
        config.upstream_timeout = Duration::from_secs(2);
        let request = Request::get(path)
            .body(Body::empty())
            .expect("a valid request");
        let response = router(config).oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let problem = serde_json::from_slice(&body).expect("a problem+json body");
        (status, problem)
    }

    #[tokio::test]
    async fn refuses_api_paths_without_a_token_at_the_edge() {
        for path in ["/api/patients", "/api/doctors/3", "/api/auth/me", "/api/x"] {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(problem.instance.as_deref(), Some(path), "{path}");
        }
    }

    #[tokio::test]
    async fn routes_the_public_identity_paths_to_the_identity_service() {
        for path in [
            "/api/auth/login",
            "/api/auth/register",
            "/.well-known/jwks.json",
        ] {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(
                problem.detail.as_deref(),
                Some("The identity service is not available."),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn answers_unknown_api_paths_with_a_problem() {
        for path in ["/api", "/api/auth/service-token"] {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(problem.instance.as_deref(), Some(path), "{path}");
        }
    }

    #[tokio::test]
    async fn sends_every_other_path_to_the_web_app() {
        for path in ["/", "/patients/1", "/.well-known/other", "/assets/app.css"] {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(
                problem.detail.as_deref(),
                Some("The web service is not available."),
                "{path}"
            );
        }
    }
}
