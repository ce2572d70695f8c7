//! The subscriber as `init` builds it, scoped to one test: a request continues its caller's
//! trace, passes it on, and its log lines carry the ids; an event's consumer continues the
//! trace of the request that committed it.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use axum::routing::get;
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracerProvider, ShouldSample, SpanData,
};
use serde_json::Value;
use tower::ServiceExt;
use tracing::Span;

use super::{LogFormat, subscriber, traces};
use crate::auth::Authenticator;
use crate::server::{Readiness, service_app};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Log lines written by the subscriber under test.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }

    fn with_message(&self, message: &str) -> Value {
        self.json()
            .into_iter()
            .find(|line| line["message"] == message)
            .unwrap_or_else(|| panic!("no log line {message:?}"))
    }
}

type Scoped = (
    tracing::subscriber::DefaultGuard,
    Lines,
    InMemorySpanExporter,
);

/// A JSON-logging subscriber whose spans end up in the returned exporter.
fn scoped() -> Scoped {
    scoped_sampling(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
}

fn scoped_sampling(sampler: impl ShouldSample + 'static) -> Scoped {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(exporter.clone())
        .build();
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = subscriber(
        LogFormat::Json,
        Some(provider.tracer("test")),
        move || writer.clone(),
        false,
    );
    (
        tracing::subscriber::set_default(subscriber),
        lines,
        exporter,
    )
}

#[test]
fn pretty_lines_for_a_file_have_no_colour_codes() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = subscriber(LogFormat::Pretty, None, move || writer.clone(), false);
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(request_id = "r-1", "booked");
    });
    let text = String::from_utf8(lines.0.lock().expect("not poisoned").clone()).expect("utf-8");
    assert!(text.contains("WARN") && text.contains("booked"), "{text:?}");
    assert!(text.contains("request_id=\"r-1\""), "{text:?}");
    assert!(!text.contains('\u{1b}'), "escape codes in {text:?}");
}

fn span_named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} among {spans:?}"))
}

/// What the handler would send on to the next service.
async fn pass_on() -> String {
    tracing::info!("handling");
    let mut headers = HeaderMap::new();
    traces::inject(&Span::current(), &mut headers);
    headers["traceparent"].to_str().expect("ascii").to_owned()
}

#[tokio::test]
async fn a_request_continues_the_callers_trace_and_logs_its_ids() {
    let (_guard, lines, exporter) = scoped();
    let app = service_app(
        "patients",
        Router::new().route("/things/{id}", get(pass_on)),
        Readiness::new(|| async { Ok(()) }),
        Authenticator::for_identity(&["http://127.0.0.1:9".to_owned()]),
    );
    let request = Request::get("/things/7")
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .body(Body::empty())
        .expect("a request");
    let response = app.oneshot(request).await.expect("infallible");
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .expect("a body");
    let sent = String::from_utf8(body.to_vec()).expect("utf-8");

    let spans = exporter.get_finished_spans().expect("spans");
    let server = span_named(&spans, "GET /things/{id}");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.span_context.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN);
    let server_span = server.span_context.span_id().to_string();
    // The next service's parent is this request's span, in the caller's trace.
    assert_eq!(sent, format!("00-{CALLER_TRACE}-{server_span}-01"));
    let logged = lines.with_message("handling");
    assert_eq!(logged["span"]["trace_id"], CALLER_TRACE, "{logged}");
    assert_eq!(logged["span"]["span_id"], server_span.as_str(), "{logged}");
    assert!(logged.get("spans").is_none(), "{logged}");
}

#[tokio::test]
async fn a_request_without_a_caller_starts_a_trace() {
    let (_guard, lines, exporter) = scoped();
    let app = service_app(
        "patients",
        Router::new().route("/things/{id}", get(pass_on)),
        Readiness::new(|| async { Ok(()) }),
        Authenticator::for_identity(&["http://127.0.0.1:9".to_owned()]),
    );
    let request = Request::get("/things/7")
        .header("traceparent", "not a trace context")
        .body(Body::empty())
        .expect("a request");
    app.oneshot(request).await.expect("infallible");

    let spans = exporter.get_finished_spans().expect("spans");
    let server = span_named(&spans, "GET /things/{id}");
    assert!(server.span_context.is_valid());
    assert_ne!(server.span_context.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(server.parent_span_id.to_string(), "0000000000000000");
    let logged = lines.with_message("handling");
    assert_eq!(
        logged["span"]["trace_id"],
        server.span_context.trace_id().to_string()
    );
}

#[tokio::test]
async fn health_checks_and_scrapes_are_not_traced() {
    let always = Sampler::AlwaysOn;
    let (_guard, _lines, exporter) = scoped_sampling(traces::ProbesUnsampled(Box::new(always)));
    let app = service_app(
        "patients",
        Router::new().route("/things/{id}", get(pass_on)),
        Readiness::new(|| async { Ok(()) }),
        Authenticator::for_identity(&["http://127.0.0.1:9".to_owned()]),
    );
    for path in ["/health/live", "/health/ready", "/metrics", "/things/7"] {
        let request = Request::get(path).body(Body::empty()).expect("a request");
        app.clone().oneshot(request).await.expect("infallible");
    }
    let spans = exporter.get_finished_spans().expect("spans");
    let names: Vec<&str> = spans.iter().map(|span| span.name.as_ref()).collect();
    assert_eq!(names, ["GET /things/{id}"]);
}

#[test]
fn an_event_consumer_continues_the_trace_that_committed_the_event() {
    let (_guard, lines, exporter) = scoped();
    let committed = tracing::info_span!("commit");
    let traceparent = committed.in_scope(|| traces::traceparent(&Span::current()));
    let traceparent = traceparent.expect("a traceparent inside a span");
    drop(committed);

    traces::consumer_span("billing", "InvoicePaid", "e-1", Some(&traceparent))
        .in_scope(|| tracing::info!("handled"));

    let spans = exporter.get_finished_spans().expect("spans");
    let commit = span_named(&spans, "commit");
    let consume = span_named(&spans, "InvoicePaid process");
    assert_eq!(consume.span_kind, SpanKind::Consumer);
    assert_eq!(
        consume.span_context.trace_id(),
        commit.span_context.trace_id()
    );
    assert_eq!(consume.parent_span_id, commit.span_context.span_id());
    let logged = lines.with_message("handled");
    assert_eq!(
        logged["span"]["trace_id"],
        commit.span_context.trace_id().to_string()
    );
}

#[test]
fn an_event_without_a_trace_gets_a_trace_of_its_own() {
    let (_guard, _lines, exporter) = scoped();
    assert_eq!(traces::traceparent(&Span::none()), None);
    traces::consumer_span("billing", "InvoicePaid", "e-1", Some("00-garbage")).in_scope(|| {});
    let spans = exporter.get_finished_spans().expect("spans");
    let consume = span_named(&spans, "InvoicePaid process");
    assert!(consume.span_context.is_valid());
    assert_eq!(consume.parent_span_id.to_string(), "0000000000000000");
}

/// Handles every event without writing anything but the inbox row.
struct Accept;

impl crate::events::Handler for Accept {
    fn handle<'a>(
        &'a self,
        _conn: &'a mut sqlx::AnyConnection,
        _event: &'a crate::outbox::Envelope,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn each_event_of_a_batch_is_handled_in_its_own_trace() {
    static NO_MIGRATIONS: crate::db::Migrations = crate::db::Migrations {
        sqlite: &sqlx::migrate!("./tests/no-migrations"),
        postgres: &sqlx::migrate!("./tests/no-migrations"),
    };
    let test = crate::testing::TestDatabase::sqlite(&NO_MIGRATIONS).await;
    let (_guard, _lines, exporter) = scoped();
    let traces = ["0af7651916cd43dd8448eb211c80319c", CALLER_TRACE];
    let events: Vec<crate::outbox::Envelope> = traces
        .iter()
        .map(|trace| crate::outbox::Envelope {
            id: uuid::Uuid::now_v7(),
            event_type: "Happened".to_owned(),
            occurred_at: jiff::Timestamp::now(),
            source: "test".to_owned(),
            data: serde_json::json!({}),
            traceparent: Some(format!("00-{trace}-{CALLER_SPAN}-01")),
        })
        .collect();
    let batch: Vec<&crate::outbox::Envelope> = events.iter().collect();

    crate::events::deliver_batch(&test.db, "test", &Accept, &batch)
        .await
        .expect("delivered");

    let spans = exporter.get_finished_spans().expect("spans");
    let handled: Vec<String> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Consumer)
        .inspect(|span| assert_eq!(span.parent_span_id.to_string(), CALLER_SPAN))
        .map(|span| span.span_context.trace_id().to_string())
        .collect();
    assert_eq!(handled, traces);
}
