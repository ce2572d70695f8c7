//! One booking is one trace: the gateway's span, the appointment service's, the patient and
//! doctor lookups it makes, and the notification service's handling of the event the booking
//! committed all share the trace id the client sent, each span the child of the one before.
//!
//! In the embedded mode (SQLite, in-process bus) and the distributed one (PostgreSQL,
//! RabbitMQ). And the business metrics a booking moves.
//!
//! Its own test binary, because it owns the process's one global subscriber: every span of the
//! whole system ends up in the in-memory exporter installed here.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;

/// The api tests' fixtures, for a fresh RabbitMQ vhost (their self-tests run here too).
#[allow(dead_code)]
#[path = "../api/fixtures/mod.rs"]
mod fixtures;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use platform::telemetry::{self, Telemetry};
use serde_json::json;

use fixtures::rabbitmq::TestVhost;
use helpers::{Backend, Setup, TestApp, monday_at};

/// The client's own span in the trace it starts.
const CLIENT_SPAN: &str = "b7ad6b7169203331";

/// Every span the process finishes, from the first test on.
fn exporter() -> &'static InMemorySpanExporter {
    static INSTALLED: OnceLock<(InMemorySpanExporter, Telemetry)> = OnceLock::new();
    let (exporter, _) = INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        (exporter, telemetry::init_for_tests(provider))
    });
    exporter
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

/// The spans of `trace`, once one of them is `wanted`.
async fn trace_with(trace: &str, wanted: impl Fn(&SpanData) -> bool) -> Vec<SpanData> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans: Vec<SpanData> = exporter()
            .get_finished_spans()
            .expect("the exporter answers")
            .into_iter()
            .filter(|span| span.span_context.trace_id().to_string() == trace)
            .collect();
        if spans.iter().any(&wanted) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "no such span in the trace: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The one server span of `service` named `name` in `spans`.
fn server<'a>(spans: &'a [SpanData], service: &str, name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .filter(|s| attribute(s, "service").as_deref() == Some(service) && s.name == name)
        .collect();
    assert_eq!(found.len(), 1, "{service} {name}: {spans:#?}");
    found[0]
}

/// Whether `ancestor` is `span`'s parent, grandparent, ... within `spans`.
fn descends_from(spans: &[SpanData], span: &SpanData, ancestor: &SpanData) -> bool {
    let mut parent = span.parent_span_id;
    while parent != SpanId::INVALID {
        if parent == ancestor.span_context.span_id() {
            return true;
        }
        match spans.iter().find(|s| s.span_context.span_id() == parent) {
            Some(next) => parent = next.parent_span_id,
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    exporter();
    let app = TestApp::spawn(Backend::Sqlite).await;
    one_booking_is_one_trace(&app, "0af7651916cd43dd8448eb211c80319c").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_through_rabbitmq() {
    exporter();
    let vhost = TestVhost::create().await;
    let mut setup = Setup::new(Backend::Postgres);
    setup.amqp_url = Some(vhost.amqp_url());
    let app = TestApp::spawn_with(setup).await;
    one_booking_is_one_trace(&app, "5b8efff798038103d269b633813fc60c").await;
}

/// The gateway's span, the appointment service's, its patient and doctor lookups and the
/// notification consumer's handling of `AppointmentRequested` form one trace.
async fn one_booking_is_one_trace(app: &TestApp, trace: &str) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;

    let booked = app
        .http
        .post(format!("{}/api/appointments", app.gateway))
        .bearer_auth(&app.admin_token)
        .header("traceparent", format!("00-{trace}-{CLIENT_SPAN}-01"))
        .json(&json!({"patientId": patient, "doctorId": doctor,
            "appointmentDate": monday_at("10:00"), "description": "check-up"}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(booked.status(), 201);

    let consumed = |s: &SpanData| {
        s.span_kind == SpanKind::Consumer
            && attribute(s, "consumer").as_deref() == Some("notifications")
            && s.name == "AppointmentRequested process"
    };
    let spans = trace_with(trace, consumed).await;

    let gateway = server(&spans, "gateway", "POST /api/appointments");
    assert_eq!(gateway.parent_span_id.to_string(), CLIENT_SPAN);
    let appointments = server(&spans, "appointments", "POST /api/appointments");
    assert_eq!(appointments.parent_span_id, gateway.span_context.span_id());
    // The lookups the booking made: each a client span of the appointment service's request,
    // answered by the other service's server span.
    for service in ["patients", "doctors"] {
        let looked_up = spans.iter().any(|lookup| {
            lookup.span_kind == SpanKind::Server
                && attribute(lookup, "service").as_deref() == Some(service)
                && spans.iter().any(|call| {
                    call.span_context.span_id() == lookup.parent_span_id
                        && call.span_kind == SpanKind::Client
                        && attribute(call, "peer.service").as_deref() == Some(service)
                        && call.end_time <= appointments.end_time
                        && descends_from(&spans, call, appointments)
                })
        });
        assert!(
            looked_up,
            "no {service} lookup of the booking in {spans:#?}"
        );
    }
    let consumer = spans.iter().find(|s| consumed(s)).expect("found above");
    assert!(
        descends_from(&spans, consumer, appointments),
        "the consumer's span continues the booking's: {consumer:#?}"
    );
}

/// The business metrics a booking moves, as the process's `/metrics` shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_and_its_events_show_in_the_business_metrics() {
    exporter();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    app.book(patient, doctor, &monday_at("11:00"))
        .await
        .expect(201);
    app.book(patient, doctor, &monday_at("11:00"))
        .await
        .expect(409);

    let deadline = Instant::now() + Duration::from_secs(60);
    let wanted = [
        r#"bookings_total{outcome="booked"}"#,
        r#"bookings_total{outcome="conflict"}"#,
        r#"events_published_total{source="appointments",type="AppointmentRequested"}"#,
        r#"events_delivery_delay_seconds_bucket{consumer="notifications""#,
        r#"events_queue_depth{queue="notifications"}"#,
        r#"outbox_pending_events{service="appointments"}"#,
        r#"outbox_oldest_pending_age_seconds{service="appointments"}"#,
        r#"notification_deliveries_total{channel="IN_APP",status="SENT"}"#,
    ];
    loop {
        let scraped = app
            .http
            .get(format!("{}/metrics", app.gateway))
            .send()
            .await
            .expect("the gateway answers")
            .text()
            .await
            .expect("a body");
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|series| !scraped.contains(series))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing {missing:?} in:\n{scraped}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
