//! The gateway: the one entry point. It routes each `/api` path to the service that owns it,
//! balancing over that service's instances, and serves the merged OpenAPI document and its
//! rendering. It holds no state of its own.

mod client;
mod config;
mod docs;
mod error;
mod headers;
mod health;
mod proxy;
mod upstream;

use std::sync::Arc;

use axum::Router;
use platform::auth::Authenticator;
use platform::config::Service;
use platform::server::service_app;

pub use config::GatewayConfig;

use crate::proxy::{Backend, Proxy};
use crate::upstream::Upstream;

/// Which service owns which path prefix; a prefix covers itself and every path below it.
/// Other paths are left to the platform's 404 fallback.
const ROUTES: [(&str, Service); 5] = [
    ("/api/patients", Service::Patients),
    ("/api/doctors", Service::Doctors),
    ("/api/appointments", Service::Appointments),
    ("/api/auth", Service::Identity),
    ("/.well-known/jwks.json", Service::Identity),
];

/// The gateway's whole application, with health, metrics, request ids and problem+json.
pub fn router(config: GatewayConfig) -> Router {
    let auth = Authenticator::for_identity(&config.instances(Service::Identity));
    let client = client::build(config.upstream_timeout);
    let proxy = Arc::new(Proxy {
        client: client.clone(),
        max_body_bytes: config.max_body_bytes,
        timeout: config.upstream_timeout,
    });
    let upstreams: Vec<Arc<Upstream>> = ROUTES
        .iter()
        .map(|&(_, service)| Arc::new(Upstream::new(service, config.instances(service))))
        .collect();
    let api = ROUTES.iter().zip(&upstreams).fold(
        docs::routes(config.openapi),
        |api, (&(prefix, _), upstream)| {
            let backend = Backend {
                proxy: proxy.clone(),
                upstream: upstream.clone(),
            };
            api.merge(proxy::routes(prefix, backend))
        },
    );
    service_app(
        Service::Gateway.name(),
        api,
        health::readiness(client, upstreams),
        auth,
    )
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

    /// A gateway whose every backend is a closed port: a routed path answers 503 naming the
    /// service it went to, an unrouted one 404.
    async fn answer(path: &str) -> (StatusCode, Problem) {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            format!("http://{}", listener.local_addr().expect("an address"))
        };
        let config = GatewayConfig {
            upstreams: ROUTES
                .iter()
                .map(|&(_, service)| (service, vec![closed.clone()]))
                .collect(),
            max_body_bytes: 1024,
            upstream_timeout: Duration::from_secs(2),
            openapi: utoipa::openapi::OpenApi::default(),
        };
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
    async fn routes_each_prefix_and_everything_below_it_to_its_service() {
        let cases = [
            ("/api/patients", "patients"),
            ("/api/patients/", "patients"),
            ("/api/patients/7/export?x=1", "patients"),
            ("/api/doctors/3/schedule", "doctors"),
            ("/api/appointments", "appointments"),
        ];
        for (path, service) in cases {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let detail = problem.detail.unwrap_or_default();
            assert_eq!(
                detail,
                format!("The {service} service is not available."),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn leaves_other_paths_to_the_not_found_fallback() {
        for path in ["/api/patientsx", "/api/auth/login", "/api", "/patients/1"] {
            let (status, problem) = answer(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(problem.instance.as_deref(), Some(path), "{path}");
        }
    }
}
