//! Events end to end: appointment changes become notifications (in-app, e-mail to a real SMTP
//! server, SMS to a stand-in provider), reminders and webhook deliveries — in the embedded
//! mode (SQLite, in-process bus) and the distributed one (PostgreSQL, RabbitMQ) — and nothing
//! is lost or repeated when the broker goes away or a notification service dies.

mod faults;
mod flow;
mod instances;
mod reminders;
mod webhooks;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use platform::config::Service;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

use crate::fixtures::rabbitmq::{BROKER, TestVhost};
use crate::fixtures::tcp_proxy::TcpProxy;
use crate::helpers::{Backend, Setup, TestApp, next_monday};

/// How long anything asynchronous may take before a test gives up.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// The two ways carebook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite files, the in-process bus.
    Embedded,
    /// PostgreSQL, RabbitMQ (through a proxy the test can cut).
    Distributed,
}

/// Runs each named `async fn(Mode)` once per mode.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::events::Mode::Embedded).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::events::Mode::Distributed).await;
                }
            )*
        }
    };
}
pub(crate) use in_both_modes;

/// A fresh vhost on the shared RabbitMQ, reached through a proxy the test owns.
pub struct Broker {
    pub vhost: TestVhost,
    pub proxy: TcpProxy,
}

impl Broker {
    pub async fn start() -> Self {
        Self {
            vhost: TestVhost::create().await,
            proxy: TcpProxy::start(BROKER).await,
        }
    }

    /// The URL services use: through the proxy.
    pub fn url(&self) -> String {
        self.vhost.amqp_url_via(self.proxy.port())
    }
}

/// A system in `mode`; the broker (distributed mode) must outlive the app.
pub async fn spawn(mode: Mode, setup: impl FnOnce(Setup) -> Setup) -> (TestApp, Option<Broker>) {
    match mode {
        Mode::Embedded => (
            TestApp::spawn_with(setup(Setup::new(Backend::Sqlite))).await,
            None,
        ),
        Mode::Distributed => {
            let broker = Broker::start().await;
            let mut base = Setup::new(Backend::Postgres);
            base.amqp_url = Some(broker.url());
            (TestApp::spawn_with(setup(base)).await, Some(broker))
        }
    }
}

/// Polls `check` until it answers `Some`, or panics after [`PATIENCE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One stored notification, as the notification service's database has it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stored {
    pub recipient: (String, i64),
    pub kind: String,
    pub channel: String,
    pub appointment_id: Option<i64>,
    pub status: String,
}

/// Every notification row, read straight from the service's database.
pub async fn stored_notifications(database_url: &str) -> Vec<Stored> {
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let rows: Vec<(String, i64, String, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT recipient_type, recipient_id, kind, channel, appointment_id, status \
         FROM notifications ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    rows.into_iter()
        .map(
            |(kind_of, id, kind, channel, appointment_id, status)| Stored {
                recipient: (kind_of, id),
                kind,
                channel,
                appointment_id,
                status,
            },
        )
        .collect()
}

/// How often each (recipient, kind, channel, appointment) occurs; the exactly-once check.
pub fn occurrences(rows: &[Stored]) -> HashMap<(String, i64, String, String, Option<i64>), usize> {
    let mut counts = HashMap::new();
    for row in rows {
        let key = (
            row.recipient.0.clone(),
            row.recipient.1,
            row.kind.clone(),
            row.channel.clone(),
            row.appointment_id,
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// Waits until `expected` notifications are stored and none is PENDING any more; returns them.
pub async fn settled_notifications(app: &TestApp, expected: usize) -> Vec<Stored> {
    let url = app.database_urls[&Service::Notifications].clone();
    eventually(&format!("{expected} delivered notifications"), || {
        let url = url.clone();
        async move {
            let rows = stored_notifications(&url).await;
            let settled = rows.len() >= expected && rows.iter().all(|r| r.status != "PENDING");
            settled.then_some(rows)
        }
    })
    .await
}

/// Asserts every notification occurs exactly once and was sent.
#[track_caller]
pub fn assert_each_once_and_sent(rows: &[Stored]) {
    let repeated: Vec<_> = occurrences(rows)
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .collect();
    assert!(repeated.is_empty(), "notified more than once: {repeated:?}");
    let unsent: Vec<_> = rows.iter().filter(|r| r.status != "SENT").collect();
    assert!(unsent.is_empty(), "not sent: {unsent:?}");
}

/// Creates `doctors` doctors and `patients` patients as the admin, then books and approves
/// `count` appointments among them on distinct free slots, `concurrency` requests at a time.
/// Every booking and approval must succeed. Returns the appointment ids. The bulk goes to the
/// services' own ports: through the gateway, one admin would soon meet its rate limit.
pub async fn book_and_approve(
    app: &TestApp,
    (doctors, patients): (u32, u32),
    count: u32,
    concurrency: usize,
) -> Vec<i64> {
    assert!(doctors <= patients && count <= doctors * 16 * 5);
    let doctor_ids = futures::stream::iter(1..=doctors)
        .map(|n| app.create_doctor(n))
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let patient_ids = futures::stream::iter(1..=patients)
        .map(|n| app.create_patient(n))
        .buffered(concurrency)
        .collect::<Vec<_>>()
        .await;
    futures::stream::iter(0..count)
        .map(|k| {
            // Slot k/doctors of the week for doctor k%doctors; at one time every doctor sees
            // a different patient, so no patient is double-booked either.
            let (d, slot) = (k % doctors, k / doctors);
            let p = (slot * doctors + d) % patients;
            let start = slot_start(slot);
            let (doctor, patient) = (doctor_ids[d as usize], patient_ids[p as usize]);
            async move {
                let booking = json!({"patientId": patient, "doctorId": doctor,
                                     "appointmentDate": start, "description": "check-up"});
                let appointments = &app.urls[&Service::Appointments];
                let booked = app
                    .request_to(
                        appointments,
                        Method::POST,
                        "/api/appointments",
                        Some(&booking),
                    )
                    .await
                    .expect(201);
                let id = booked.id();
                let approve = json!({"appointmentId": id});
                let path = "/api/doctors/appointments/approve";
                app.request_to(
                    &app.urls[&Service::Doctors],
                    Method::POST,
                    path,
                    Some(&approve),
                )
                .await
                .expect(200);
                id
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// The `n`-th 30-minute slot of the default working week (Mon–Fri 09:00–17:00 UTC).
pub fn slot_start(n: u32) -> String {
    let (day, slot) = (n / 16, n % 16);
    let date = next_monday() + jiff::Span::new().days(i64::from(day % 5));
    let minutes = 9 * 60 + slot * 30;
    format!("{date}T{:02}:{:02}:00Z", minutes / 60, minutes % 60)
}
