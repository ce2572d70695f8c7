//! What a run found: per mode, each scenario's figures next to their ceilings. Printed as a
//! table for people and as one line of JSON (the last line of the output) for machines.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct ModeReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub book: Option<Book>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<Read>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_delay: Option<EventDelay>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<Billing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytics: Option<Analytics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footprint: Option<Footprint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
    /// Scenarios that could not run or failed, with the reason.
    pub errors: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Book {
    /// Max-throughput bookings per second through the gateway, `concurrency` in flight.
    pub rps: f64,
    /// The same SQL, straight to the same databases, with the same concurrency.
    pub ceiling_rps: f64,
    pub ratio: f64,
    /// A booking's rows alone (insert, outbox event, audit row: one transaction) straight to
    /// the appointment database, with the same concurrency.
    pub raw_tx_ceiling_rps: f64,
    /// `rps` as a share of `raw_tx_ceiling_rps`.
    pub raw_tx_ratio: f64,
    /// Open loop at half of `rps`.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub fixed_rate_rps: f64,
    pub max_mode_p50_ms: f64,
    pub max_mode_p99_ms: f64,
    pub ceiling_p50_ms: f64,
    pub ceiling_p99_ms: f64,
    pub concurrency: usize,
    pub bookings: u64,
}

#[derive(Debug, Serialize)]
pub struct Endpoint {
    pub rps: f64,
    pub ceiling_rps: f64,
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ceiling_p99_ms: f64,
    pub work_ceiling_rps: f64,
    pub work_ratio: f64,
    pub work_ceiling_p99_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Read {
    /// A 50/50 mix of `GET /api/appointments/{id}` and `GET /api/doctors/{id}/slots`.
    pub rps: f64,
    /// The same requests to a minimal handler on the same HTTP stack returning the same bytes.
    pub ceiling_rps: f64,
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ceiling_p99_ms: f64,
    /// The reads' queries and audit rows sent straight to the same databases (no HTTP).
    pub work_ceiling_rps: f64,
    pub work_ratio: f64,
    pub work_ceiling_p99_ms: f64,
    pub concurrency: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<Endpoint>,
}

#[derive(Debug, Serialize)]
pub struct Gateway {
    /// Open loop at `latency_rate` requests per second.
    pub direct_p50_ms: f64,
    pub gateway_p50_ms: f64,
    pub added_p50_ms: f64,
    pub direct_p99_ms: f64,
    pub gateway_p99_ms: f64,
    pub added_p99_ms: f64,
    pub latency_rate: f64,
    /// Max throughput, `concurrency` in flight.
    pub direct_rps: f64,
    pub gateway_rps: f64,
    pub throughput_loss: f64,
    pub concurrency: usize,
}

#[derive(Debug, Serialize)]
pub struct EventDelay {
    /// From sending the approval to the notification's `createdAt` (when it was stored).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// From sending the approval until a poll of `GET /api/notifications` saw it.
    pub observed_p50_ms: f64,
    pub observed_p99_ms: f64,
    pub samples: u64,
    /// Probes that saw no notification within 10 s (counted as 10 s in the quantiles).
    pub missed: u64,
    /// Probes whose booking, approval or polling failed.
    pub failed: u64,
    /// The max booking rate the load is a share of.
    pub max_booking_rate: f64,
    /// Bookings per second in the background and probes per second: together 80% of the
    /// max booking rate.
    pub booking_rate: f64,
    pub probe_rate: f64,
    /// Bookings per second over a phase at max throughput and the wait until the notification
    /// consumer had handled their events and the delivery worker had sent what was due.
    pub sustainable_booking_rate: f64,
    /// The same probes while bookings and probes arrive at 80% of the sustainable rate.
    pub sustained_p50_ms: f64,
    pub sustained_p99_ms: f64,
    pub sustained_missed: u64,
    pub sustained_booking_rate: f64,
    /// Where the appointment events of that phase spent their time, from the services' own
    /// timestamps: commit to published (the relay), published to handled by the notification
    /// consumer (the broker and the consumer).
    pub sustained_events: u64,
    pub sustained_relay_p50_ms: f64,
    pub sustained_relay_p99_ms: f64,
    pub sustained_consumer_p50_ms: f64,
    pub sustained_consumer_p99_ms: f64,
    /// Events of earlier scenarios the consumer had not handled yet, waited for before
    /// measuring; what was left when the wait gave up.
    pub backlog_at_start: i64,
    /// Notifications due but undelivered then (also waited for).
    pub undelivered_at_start: i64,
    pub backlog_left: i64,
    /// The consumer's drain rate: events handled per second from a backlog of
    /// `consumer_backlog` events written at once (0 if it did not finish in time).
    pub consumer_events_per_s: f64,
    pub consumer_backlog: usize,
}

#[derive(Debug, Serialize)]
pub struct Billing {
    /// From the approval's response until `GET /api/billing/invoices` listed the invoice.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// From the approval's response to the invoice's `createdAt` (when billing stored it).
    pub created_p50_ms: f64,
    pub created_p99_ms: f64,
    pub samples: u64,
    /// Probes that saw no invoice within 10 s (counted as 10 s in the quantiles).
    pub missed: u64,
    /// Probes whose booking, approval or polling failed.
    pub failed: u64,
    /// Approvals per second (no other load).
    pub probe_rate: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Analytics {
    /// `GET /api/analytics/summary` over one year, keyed by the appointments in the read models.
    pub summary_p50_ms: BTreeMap<u64, f64>,
    pub summary_p99_ms: BTreeMap<u64, f64>,
    pub insert_seconds: BTreeMap<u64, f64>,
    pub rate: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Scale {
    /// Keyed by the number of appointments in the database.
    pub slots_p50_ms: BTreeMap<u64, f64>,
    pub slots_p99_ms: BTreeMap<u64, f64>,
    /// `GET /api/appointments?doctorId=…&from=…&to=…`: one doctor's week.
    pub agenda_p50_ms: BTreeMap<u64, f64>,
    pub agenda_p99_ms: BTreeMap<u64, f64>,
    /// `GET /api/appointments?doctorId=…`: the first page of one doctor's appointments.
    pub list_p50_ms: BTreeMap<u64, f64>,
    pub list_p99_ms: BTreeMap<u64, f64>,
    pub insert_seconds: BTreeMap<u64, f64>,
    pub rate: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Footprint {
    pub idle_rss_mb: BTreeMap<String, f64>,
    pub idle_rss_mb_max: f64,
    pub load_rss_mb: BTreeMap<String, f64>,
    pub load_rss_mb_max: f64,
    /// Start of the processes on existing data until every one is ready.
    pub cold_start_s: f64,
    /// The first start, on empty databases (migrations included).
    pub first_start_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Records {
    /// The uploaded file (MiB).
    pub file_mib: f64,
    /// The process measured: the records service's own, or the embedded mode's only one.
    pub process: String,
    /// The largest rise of that process's peak resident set during one upload over its resident
    /// set just before (MiB), and that rise per MiB of file (the target is under 3).
    pub rss_rise_mib: f64,
    pub rss_rise_per_file: f64,
    /// Each upload's rise, in order: direct, through the gateway, per round.
    pub rss_rises_mib: Vec<f64>,
    /// MB/s (10^6 bytes of the file per second), medians over the rounds.
    pub upload_mb_s: f64,
    pub direct_upload_mb_s: f64,
    /// The same bytes written to the blob store's directory, file and directory fsynced.
    pub ceiling_write_mb_s: f64,
    pub upload_ratio: f64,
    pub download_mb_s: f64,
    pub direct_download_mb_s: f64,
    /// The same bytes read back from that file.
    pub ceiling_read_mb_s: f64,
    pub download_ratio: f64,
    pub rounds: usize,
}

/// One target of the issue, checked against a figure of this run.
#[derive(Debug, Serialize)]
pub struct Target {
    pub mode: &'static str,
    pub name: String,
    pub value: f64,
    pub limit: String,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub bench: &'static str,
    pub quick: bool,
    pub commit: String,
    pub date: String,
    pub machine: String,
    /// `/proc/loadavg` before and after: the machine is shared, and this says how much.
    pub load_before: String,
    pub load_after: String,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedded: Option<ModeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed: Option<ModeReport>,
    pub targets: Vec<Target>,
}

/// Rounds for display and JSON: three significant decimals are all a noisy machine gives.
pub fn round(value: f64) -> f64 {
    if value.abs() >= 100.0 {
        (value * 10.0).round() / 10.0
    } else {
        (value * 1000.0).round() / 1000.0
    }
}

/// A quantile (0..1) of a histogram of microseconds, in milliseconds, rounded.
pub fn quantile_ms(histogram: &hdrhistogram::Histogram<u64>, quantile: f64) -> f64 {
    round(histogram.value_at_quantile(quantile) as f64 / 1000.0)
}

pub fn ratio(value: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        round(value / ceiling)
    } else {
        0.0
    }
}
