//! The HTTP client services use to ask each other questions: round-robin over instances (an
//! instance that refuses the connection is passed over for the next, whatever the method:
//! nothing was sent; one that said it is leaving is tried last), per-call timeout, bounded
//! jittered retries for idempotent calls, and a circuit breaker so a dead dependency fails fast
//! with 503 instead of tying up every request.

mod breaker;
mod forwarded;
pub mod in_process;
mod leaving;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub use breaker::CircuitBreaker;
pub use forwarded::{Forwarded, IDEMPOTENCY_KEY};
use leaving::Leaving;

use crate::error::{ApiError, Problem};
use crate::server::ShutdownPlan;
use crate::telemetry::traces;

const GET_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct ServiceClient {
    service: &'static str,
    bases: Arc<[String]>,
    next: Arc<AtomicUsize>,
    http: reqwest::Client,
    timeout: Duration,
    breaker: Arc<CircuitBreaker>,
    leaving: Arc<Leaving>,
}

/// The process's one `reqwest::Client`, shared by every caller of another service: one
/// connection pool, and one parse of the system's root certificates (each client built reads
/// and keeps its own copy). Timeouts are set per request; idle connections are dropped within
/// [`ShutdownPlan::idle_connection_timeout`].
pub fn shared_http() -> anyhow::Result<reqwest::Client> {
    static SHARED: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = SHARED.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(ShutdownPlan::from_env()?.idle_connection_timeout())
        .build()?;
    Ok(SHARED.get_or_init(|| client).clone())
}

impl ServiceClient {
    pub fn new(
        service: &'static str,
        bases: Vec<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !bases.is_empty(),
            "no URL configured for the {service} service"
        );
        let http = shared_http()?;
        let drain = ShutdownPlan::from_env()?.drain;
        Ok(Self {
            leaving: Arc::new(Leaving::new(bases.len(), drain)),
            service,
            bases: bases
                .iter()
                .map(|base| crate::config::without_dns_prefix(base).to_owned())
                .collect(),
            next: Arc::default(),
            http,
            timeout,
            breaker: Arc::new(CircuitBreaker::new(service, 5, Duration::from_secs(5))),
        })
    }

    /// GETs a resource; `Ok(None)` when it does not exist (404). Retried when safe.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        forwarded: &Forwarded,
    ) -> Result<Option<T>, ApiError> {
        let response = self.get_retried(path, forwarded).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        read_json(response).await.map(Some)
    }

    /// Asks whether a resource exists: a success (e.g. 204) is `true`, 404 `false`, any other
    /// answer the callee's problem. Retried when safe, like [`Self::get`].
    pub async fn exists(&self, path: &str, forwarded: &Forwarded) -> Result<bool, ApiError> {
        let response = self.get_retried(path, forwarded).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            status if status.is_success() => Ok(true),
            _ => read_json::<()>(response).await.map(|()| false),
        }
    }

    /// A GET, retried with backoff while the failure is transient.
    async fn get_retried(
        &self,
        path: &str,
        forwarded: &Forwarded,
    ) -> Result<reqwest::Response, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send(Method::GET, path, None::<&()>, forwarded).await {
                Err(Failure::Transient(_)) if attempt < GET_ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(failure) => return Err(self.failure_to_error(failure)),
                Ok(response) => return Ok(response),
            }
        }
    }

    /// POST/PUT/DELETE: sent once, never retried (the callee may have acted).
    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        forwarded: &Forwarded,
    ) -> Result<T, ApiError> {
        let response = self
            .send(method, path, body, forwarded)
            .await
            .map_err(|failure| self.failure_to_error(failure))?;
        read_json(response).await
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        forwarded: &Forwarded,
    ) -> Result<reqwest::Response, Failure> {
        if !self.breaker.allows() {
            return Err(Failure::BreakerOpen);
        }
        let span = traces::client_span(self.service, &method);
        let mut trace_headers = http::HeaderMap::new();
        traces::inject(&span, &mut trace_headers);
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut outcome = Err(Failure::Transient("no instance".to_owned()));
        for index in self.leaving.order(first) {
            let base = &self.bases[index];
            let mut request = forwarded
                .apply(self.http.request(method.clone(), format!("{base}{path}")))
                .timeout(self.timeout)
                .headers(trace_headers.clone());
            if let Some(body) = body {
                request = request.json(body);
            }
            let request = request
                .build()
                .map_err(|err| Failure::Transient(describe(&err)))?;
            let sent = match in_process::router(base) {
                Some(router) => in_process::call(router, request)
                    .instrument(span.clone())
                    .await
                    .map_err(|reason| Unanswered::Failed(reason.to_owned())),
                None => self
                    .http
                    .execute(request)
                    .instrument(span.clone())
                    .await
                    .map_err(Unanswered::from),
            };
            if let Ok(response) = &sent {
                span.record("http.response.status_code", response.status().as_u16());
                self.leaving.answered(index, response.headers());
            }
            outcome = match sent {
                Ok(response) if is_transient(response.status()) => Err(Failure::Transient(
                    format!("answered {}", response.status()),
                )),
                Ok(response) => Ok(response),
                // Refused or unreachable: the request never left, another instance may take it.
                Err(Unanswered::Refused(reason)) => {
                    outcome = Err(Failure::Transient(reason));
                    continue;
                }
                Err(Unanswered::Failed(reason)) => Err(Failure::Transient(reason)),
            };
            break;
        }
        self.breaker.record(outcome.is_ok());
        outcome
    }

    fn failure_to_error(&self, failure: Failure) -> ApiError {
        let service = self.service;
        match failure {
            Failure::BreakerOpen => {
                tracing::warn!(service, "circuit open, failing fast");
            }
            Failure::Transient(reason) => {
                tracing::warn!(service, %reason, "dependency call failed");
            }
        }
        ApiError::Unavailable(format!(
            "The {service} service is unavailable; try again shortly."
        ))
    }
}

enum Failure {
    Transient(String),
    BreakerOpen,
}

/// Why an instance gave no answer: refused (nothing was sent) or failed after sending.
enum Unanswered {
    Refused(String),
    Failed(String),
}

impl From<reqwest::Error> for Unanswered {
    fn from(err: reqwest::Error) -> Self {
        if err.is_connect() {
            Self::Refused(describe(&err))
        } else {
            Self::Failed(describe(&err))
        }
    }
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// Exponential backoff with full jitter: 0..25 ms, 0..50 ms, ...
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 25u64 << attempt.min(6);
    Duration::from_millis(rand::random_range(0..=cap_ms))
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection refused".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// A success decodes into `T`; a client error is the callee's problem, passed on.
async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|_| ApiError::Unavailable("A dependency closed the connection.".to_owned()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::Internal(anyhow::anyhow!("undecodable answer: {err}")));
    }
    let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| {
        Problem::new(
            axum::http::StatusCode::from_u16(status.as_u16())
                .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
            None,
        )
    });
    Err(ApiError::Upstream(Box::new(problem)))
}
