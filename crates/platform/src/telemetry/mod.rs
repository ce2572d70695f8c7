//! Logs, traces and metrics, set up once per process.

mod metrics;
#[cfg(test)]
mod tests;
pub mod traces;

use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use metrics::{prometheus, record_metrics};
pub use traces::SpanExport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    /// `CAREBOOK_LOG_FORMAT`, else the given default.
    pub fn from_env(default: LogFormat) -> LogFormat {
        match crate::config::var("CAREBOOK_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            _ => default,
        }
    }
}

/// Keeps the span exporter of [`init`] alive; dropping it sends the spans still buffered.
#[must_use = "dropping the guard shuts the span exporter down"]
pub struct Telemetry(Option<SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("span export did not shut down cleanly: {err}");
        }
    }
}

/// Installs the global subscriber: logs in `format`, and traces as `export` says, under the
/// resource name `service_name` unless `OTEL_SERVICE_NAME` gives one. Later calls (tests start
/// many apps) change nothing.
pub fn init(format: LogFormat, export: SpanExport, service_name: &str) -> Telemetry {
    let provider = traces::provider(export, service_name).unwrap_or_else(|err| {
        // Logs are not up yet; the process still runs, its spans go nowhere.
        eprintln!("cannot set up span export, traces are off: {err:#}");
        SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .build()
    });
    // The standard switch: no spans, no trace ids, nothing passed on (e.g. to measure the cost).
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let tracer = (!disabled).then(|| provider.tracer("carebook"));
    let colours = std::io::stdout().is_terminal();
    let installed = subscriber(format, tracer, std::io::stdout, colours).try_init();
    Telemetry(installed.is_ok().then_some(provider))
}

/// For a test binary that checks traces: `provider` gets every span; JSON log lines go to the
/// test harness, which shows them for failed tests only. Later calls change nothing.
pub fn init_for_tests(provider: SdkTracerProvider) -> Telemetry {
    let tracer = provider.tracer("carebook");
    let subscriber = subscriber(
        LogFormat::Json,
        Some(tracer),
        tracing_subscriber::fmt::TestWriter::new,
        false,
    );
    Telemetry(subscriber.try_init().is_ok().then_some(provider))
}

/// Log lines in `format` to `writer`, and the spans to `tracer` (none: no OpenTelemetry at all).
/// Pretty lines are coloured only for a terminal (`colours`): a log file or a pipe gets plain
/// text, without escape codes to strip or to format.
fn subscriber<W>(
    format: LogFormat,
    tracer: Option<Tracer>,
    writer: W,
    colours: bool,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Without context activation a request's span stays open to naming until routing has
    // matched (`traces::name_request_span`); parents follow the `tracing` span tree.
    let otel = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
    });
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper_util=warn"));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match format {
        // A line carries the span it was logged in (a request's, with its request and trace
        // ids), not the list of every span around it, which repeats that one on most lines.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(colours)
            .with_writer(writer)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(otel)
        .with(filter)
}

/// [`init`] with traces as the environment says, for the whole life of the process (tests).
pub fn init_logging(format: LogFormat) {
    static KEPT: OnceLock<Telemetry> = OnceLock::new();
    KEPT.get_or_init(|| init(format, SpanExport::FromEnv, "carebook"));
}
