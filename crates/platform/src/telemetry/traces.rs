//! OpenTelemetry traces. Every request is a server span whose parent is the caller's W3C
//! `traceparent`; every call to another service (platform client, gateway proxy) is a client
//! span whose context goes out in `traceparent`; an event carries the context of the request
//! that committed it, and its consumer's span continues that trace. Spans are exported over
//! OTLP (HTTP/protobuf) only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; without it, ids are still made and passed on,
//! so the logs of one request carry one trace id across every service.

use std::collections::HashMap;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::Context;
use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
};
use tracing::Span;
use tracing::field::{Empty, display};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::server::REQUEST_ID;

const TRACEPARENT: &str = "traceparent";

/// Where finished spans go.
pub enum SpanExport {
    /// OTLP when `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` is set, else nowhere.
    FromEnv,
    /// A provider the caller built (a test's in-memory exporter).
    Provider(SdkTracerProvider),
}

/// The tracer provider for `export`; `service_name` names the process unless
/// `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` does.
pub(super) fn provider(
    export: SpanExport,
    service_name: &str,
) -> anyhow::Result<SdkTracerProvider> {
    let provider = match export {
        SpanExport::Provider(provider) => return Ok(provider),
        SpanExport::FromEnv => SdkTracerProvider::builder().with_resource(resource(service_name)),
    };
    if endpoint_configured() {
        // Reads the endpoint, headers, timeout and compression from the standard variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        // The sampler comes from `OTEL_TRACES_SAMPLER` (default: parent-based, always on).
        let sampler = opentelemetry_sdk::trace::Config::default().sampler;
        Ok(provider
            .with_sampler(ProbesUnsampled(sampler))
            .with_batch_exporter(exporter)
            .build())
    } else {
        // Nothing is recorded unless a caller asked for it (a sampled `traceparent`), so that
        // a downstream service that exports still sees the caller's decision.
        let sampler = Sampler::ParentBased(Box::new(Sampler::AlwaysOff));
        Ok(provider
            .with_sampler(ProbesUnsampled(Box::new(sampler)))
            .build())
    }
}

/// Health checks and scrapes (every few seconds, from the gateway, the orchestrator and
/// Prometheus) are not traced; every other span is sampled as the wrapped sampler says.
#[derive(Debug, Clone)]
pub(super) struct ProbesUnsampled(pub(super) Box<dyn ShouldSample>);

const PROBES: [&str; 3] = ["/health/live", "/health/ready", "/metrics"];

impl ShouldSample for ProbesUnsampled {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let probe = *kind == SpanKind::Server
            && attributes.iter().any(|kv| {
                kv.key.as_str() == "http.route" && PROBES.contains(&kv.value.as_str().as_ref())
            });
        if probe {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: parent
                    .map(|cx| cx.span().span_context().trace_state().clone())
                    .unwrap_or_default(),
            };
        }
        self.0
            .should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

fn endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

fn resource(service_name: &str) -> Resource {
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|attributes| attributes.contains("service.name="));
    let builder = Resource::builder();
    if named {
        builder.build()
    } else {
        builder.with_service_name(service_name.to_owned()).build()
    }
}

/// The span of one request to `service`, continuing the caller's trace. Its name and route are
/// set once routing has matched ([`name_request_span`]).
pub fn request_span(service: &'static str, req: &Request) -> Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The path only: query strings may carry search terms (names).
    let span = tracing::info_span!("request", service, method = %req.method(),
        path = %req.uri().path(), request_id = %id, otel.kind = "server", otel.name = Empty,
        http.route = Empty, http.response.status_code = Empty, otel.status_code = Empty,
        trace_id = Empty, span_id = Empty);
    adopt_parent(&span, extract(req.headers()));
    span
}

/// Names the request's span by its route template (`POST /api/appointments/{id}/approve`),
/// gives its log lines the trace and span ids, and records the answer's status.
pub async fn name_request_span(req: Request, next: Next) -> Response {
    let span = Span::current();
    match req.extensions().get::<MatchedPath>() {
        Some(route) => {
            span.record("otel.name", format!("{} {}", req.method(), route.as_str()));
            span.record("http.route", route.as_str());
        }
        None => {
            span.record("otel.name", req.method().as_str());
        }
    }
    record_ids(&span);
    let response = next.run(req).await;
    span.record("http.response.status_code", response.status().as_u16());
    if response.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}

/// The span of one call to `peer`; its context goes out with the request ([`inject`]).
pub fn client_span(peer: &str, method: &axum::http::Method) -> Span {
    tracing::info_span!("call", otel.kind = "client",
        otel.name = %format_args!("{method} {peer}"), peer.service = peer,
        http.request.method = %method, http.response.status_code = Empty)
}

/// The span of one event's handling by `consumer`, continuing the trace of the request that
/// committed the event when it carries one.
pub fn consumer_span(
    consumer: &str,
    event_type: &str,
    event_id: &str,
    traceparent: Option<&str>,
) -> Span {
    let span = tracing::info_span!("consume", otel.kind = "consumer",
        otel.name = %format_args!("{event_type} process"), consumer, event_type, event_id,
        trace_id = Empty, span_id = Empty);
    if let Some(traceparent) = traceparent {
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
        adopt_parent(&span, TraceContextPropagator::new().extract(&carrier));
    }
    record_ids(&span);
    span
}

/// The trace context the caller sent in `traceparent`/`tracestate`.
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Puts `span`'s context into `headers` (replacing whatever a client sent), so that the callee
/// continues the trace.
pub fn inject(span: &Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// `span`'s context as a W3C `traceparent`, to travel with an event; `None` without a trace.
pub fn traceparent(span: &Span) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove(TRACEPARENT)
}

fn adopt_parent(span: &Span, parent: Context) {
    if parent.span().span_context().is_valid() {
        // Fails only when tracing is off (no OpenTelemetry layer): nothing to continue then.
        let _ = span.set_parent(parent);
    }
}

/// Writes the span's trace and span ids into its `trace_id`/`span_id` fields, which every log
/// line inside it shows. This starts the OpenTelemetry span: its parent must be set by now.
fn record_ids(span: &Span) {
    let context = span.context();
    let ids = context.span().span_context().clone();
    if ids.is_valid() {
        span.record("trace_id", display(ids.trace_id()));
        span.record("span_id", display(ids.span_id()));
    }
}
