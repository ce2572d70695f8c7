//! The scripted clinic: 240 appointments over three days, six doctors in four specialities,
//! every outcome the lifecycle allows, some invoices paid, 66 new patients, three records.

use std::collections::HashMap;

use futures::StreamExt;
use jiff::ToSpan;
use platform::config::Service;
use platform::events::EventBus;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::expected::{self, OUTCOMES, Outcome, Planned};
use super::{ZONE, caught_up, clinic, figures, on_analytics_db, stored_events};
use crate::events::{Mode, eventually};
use crate::helpers::{Account, Backend, Setup, TestApp, doctor_body, next_monday};

const APPOINTMENTS: u32 = 240;
const DOCTORS: usize = 6;
const PATIENTS: u32 = 60;
const CONCURRENCY: usize = 8;
/// Each doctor's speciality at registration; the last doctor changes to [`RENAMED`] later.
const SPECIALITIES: [&str; DOCTORS] = [
    "Cardiology",
    "Cardiology",
    "Dermatology",
    "Dermatology",
    "Paediatrics",
    "Dermatology",
];
const RENAMED: &str = "Neurology";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_follow_the_script_on_sqlite() {
    let app = TestApp::spawn_with(clinic(Setup::new(Backend::Sqlite))).await;
    run(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_follow_the_script_on_postgres() {
    let app = TestApp::spawn_with(clinic(Setup::new(Backend::Postgres))).await;
    run(&app).await;
}

/// PostgreSQL and RabbitMQ, with a second analytics consumer sharing the `analytics` queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_follow_the_script_with_two_consumers_on_rabbitmq() {
    let (app, broker) = crate::events::spawn(Mode::Distributed, clinic).await;
    let broker = broker.unwrap();
    let shutdown = CancellationToken::new();
    let bus = EventBus::new(Some(&broker.url()), contracts::events::TOPOLOGY);
    let config = ::analytics::Config {
        database_url: app.database_urls[&Service::Analytics].clone().into(),
        identity_urls: vec![app.urls[&Service::Identity].clone()],
        clinic: clinic(Setup::new(Backend::Postgres)).clinic,
    };
    let _second = ::analytics::app(config, &bus, &shutdown).await.unwrap();
    run(&app).await;
    shutdown.cancel();
}

async fn run(app: &TestApp) {
    let plan = script(app).await;
    caught_up(app).await;
    assert_figures(app, &plan).await;

    // Rebuilt from the outboxes into emptied read models: the same figures.
    let clear: Vec<String> = ::analytics::TABLES
        .iter()
        .map(|t| format!("DELETE FROM {t}"))
        .collect();
    on_analytics_db(app, &clear.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (from, to) = range(&plan);
    let emptied = figures(app, &format!("/api/analytics/summary?from={from}&to={to}")).await;
    assert_eq!(emptied["appointments"]["total"], 0);
    rebuild(app).await;
    assert_figures(app, &plan).await;

    // Every event delivered again, shuffled, past the inbox: on top of the figures, then into
    // emptied read models (appointments before their doctors, payments before invoices).
    let mut clear_all = clear.clone();
    clear_all.push("DELETE FROM inbox".to_owned());
    for statements in [vec!["DELETE FROM inbox".to_owned()], clear_all] {
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        on_analytics_db(app, &statements).await;
        let mut events = stored_events(app).await;
        events.shuffle(&mut rand::rngs::StdRng::seed_from_u64(11));
        for batch in events.chunks(100) {
            app.bus().publish(batch).await.unwrap();
        }
        caught_up(app).await;
        assert_figures(app, &plan).await;
    }
}

/// The first and last day of the whole script: from yesterday (clinic time; invoices and
/// registrations count today) to the last appointment's day.
fn range(plan: &[Planned]) -> (String, String) {
    let zone = platform::time::parse_zone(ZONE).unwrap();
    let today = jiff::Timestamp::now().to_zoned(zone).date();
    let last = plan.iter().map(|p| p.day.clone()).max().unwrap();
    ((today - 1.day()).to_string(), last)
}

async fn assert_figures(app: &TestApp, plan: &[Planned]) {
    let (from, to) = range(plan);
    let all: Vec<&Planned> = plan.iter().collect();
    let patients = i64::from(PATIENTS) + DOCTORS as i64;
    let whole = expected::summary(&all, expected::revenue(plan), (patients, 3));
    let path = format!("/api/analytics/summary?from={from}&to={to}");
    assert_summary(&figures(app, &path).await, &whole);

    // The first appointment day alone: its appointments, no invoices or registrations.
    let monday = next_monday().to_string();
    let of_monday: Vec<&Planned> = plan.iter().filter(|p| p.day == monday).collect();
    let path = format!("/api/analytics/summary?from={monday}&to={monday}");
    let expected = expected::summary(&of_monday, (0, 0), (0, 0));
    assert_summary(&figures(app, &path).await, &expected);

    let grouped =
        |by: &str| format!("/api/analytics/appointments?groupBy={by}&from={from}&to={to}");
    let by_day = expected::groups(plan, |p| (p.day.clone(), p.day.clone()));
    assert_eq!(figures(app, &grouped("day")).await, by_day);
    let by_doctor = expected::groups(plan, |p| (p.doctor_id, p.doctor_id.to_string()));
    assert_eq!(figures(app, &grouped("doctor")).await, by_doctor);
    // By the doctor's place in the script: ids follow the order the registrations finished.
    let speciality = |p: &Planned| {
        if p.doctor_index == DOCTORS - 1 {
            RENAMED.to_owned()
        } else {
            SPECIALITIES[p.doctor_index].to_owned()
        }
    };
    let by_speciality = expected::groups(plan, |p| {
        let s = speciality(p);
        (s.clone(), s)
    });
    assert_eq!(figures(app, &grouped("speciality")).await, by_speciality);
}

/// Equal, the rates within rounding of their decimal form.
#[track_caller]
fn assert_summary(actual: &Value, expected: &Value) {
    let (mut actual, mut expected) = (actual.clone(), expected.clone());
    for rate in ["cancellationRate", "noShowRate", "lateCancellationRate"] {
        let a = actual[rate].take().as_f64().unwrap();
        let e = expected[rate].take().as_f64().unwrap();
        assert!((a - e).abs() < 1e-9, "{rate}: {a} != {e}");
    }
    assert_eq!(actual, expected);
}

/// Runs `carebook analytics-rebuild` against the system's databases.
async fn rebuild(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_carebook"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CAREBOOK_") {
            command.env_remove(name);
        }
    }
    for service in super::PUBLISHERS.into_iter().chain([Service::Analytics]) {
        let key = format!("CAREBOOK_{}_DATABASE_URL", service.name().to_uppercase());
        command.env(key, &app.database_urls[&service]);
    }
    command
        .arg("analytics-rebuild")
        .env("CAREBOOK_DATA_DIR", dir.path())
        .env("CAREBOOK_TIMEZONE", ZONE)
        .env("CAREBOOK_DB_MAX_CONNECTIONS", "2");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("analytics read models rebuilt"), "{stdout}");
}

/// A request to a service's own port (the bulk stays clear of the gateway's rate limits).
async fn direct(app: &TestApp, service: Service, method: Method, path: &str, body: Option<&Value>) {
    app.request_to(&app.urls[&service], method, path, body)
        .await
        .expect(200);
}

/// Plays the script; what it did to each appointment.
async fn script(app: &TestApp) -> Vec<Planned> {
    let doctors: Vec<i64> = futures::stream::iter(0..DOCTORS)
        .map(|d| async move {
            let mut body = doctor_body(d as u32 + 1);
            body["speciality"] = json!(SPECIALITIES[d]);
            let doctors = &app.urls[&Service::Doctors];
            app.request_to(doctors, Method::POST, "/api/doctors", Some(&body))
                .await
                .expect(201)
                .id()
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let patients: Vec<i64> = futures::stream::iter(1..=PATIENTS)
        .map(|n| async move {
            let body = crate::helpers::patient_body(n);
            let patients = &app.urls[&Service::Patients];
            app.request_to(patients, Method::POST, "/api/patients", Some(&body))
                .await
                .expect(201)
                .id()
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut registered = Vec::new();
    for n in 0..DOCTORS as u32 {
        registered.push(app.register_patient(PATIENTS + 1 + n).await);
    }

    let plan: Vec<Planned> = futures::stream::iter(0..APPOINTMENTS)
        .map(|k| book(app, k, &doctors, &patients, &registered))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    futures::stream::iter(&plan)
        .for_each_concurrent(CONCURRENCY, |p| decide(app, p))
        .await;
    let approved = plan
        .iter()
        .filter(|p| p.outcome.is_approved_first())
        .count();
    let invoices = invoices_when(app, |all| all.len() == approved).await;
    assert_eq!(invoices.len(), approved);

    futures::stream::iter(&plan)
        .for_each_concurrent(CONCURRENCY, |p| {
            settle(app, p, p.registered.map(|r| &registered[r]))
        })
        .await;
    let fees = plan.iter().filter(|p| p.outcome.is_fee()).count();
    let voided = plan
        .iter()
        .filter(|p| p.outcome == Outcome::CancelledInTime)
        .count();
    let invoices = invoices_when(app, |all| {
        let fee = all.iter().filter(|i| i["kind"] != "VISIT").count();
        let void = all.iter().filter(|i| i["paymentStatus"] == "VOID").count();
        (fee, void) == (fees, voided)
    })
    .await;
    let by_appointment: HashMap<i64, i64> = invoices
        .iter()
        .map(|i| {
            (
                i["appointmentId"].as_i64().unwrap(),
                i["id"].as_i64().unwrap(),
            )
        })
        .collect();
    futures::stream::iter(plan.iter().filter(|p| p.outcome.is_paid()))
        .for_each_concurrent(CONCURRENCY, |p| {
            let path = format!("/api/billing/invoices/{}/pay", by_appointment[&p.id]);
            let body = json!({"paymentType": "CASH"});
            async move { direct(app, Service::Billing, Method::POST, &path, Some(&body)).await }
        })
        .await;

    for (n, patient) in patients.iter().take(3).enumerate() {
        let record = json!({"patientId": patient, "doctorId": doctors[n], "recordType": "NOTE",
                            "title": "Visit note", "content": "Seen and advised."});
        app.post("/api/records", &record).await.expect(201);
    }
    // The last doctor changes speciality: every appointment of theirs moves with them.
    let last = doctors[DOCTORS - 1];
    let mut body = doctor_body(DOCTORS as u32);
    body["speciality"] = json!(RENAMED);
    app.put(&format!("/api/doctors/{last}"), &body)
        .await
        .expect(200);
    plan
}

/// Books appointment `k`: doctor `k % 6` at their `k / 6`-th slot from Monday 09:00 clinic
/// time; a patient-cancelled one for a registered patient, the others for patient `k % 60`.
async fn book(
    app: &TestApp,
    k: u32,
    doctors: &[i64],
    patients: &[i64],
    registered: &[Account],
) -> Planned {
    let outcome = OUTCOMES[(k as usize * 7) % OUTCOMES.len()];
    let (d, slot) = (k as usize % DOCTORS, k / DOCTORS as u32);
    let day = next_monday() + jiff::Span::new().days(i64::from(slot / 16));
    let minutes = 9 * 60 + (slot % 16) * 30;
    let start = format!("{day}T{:02}:{:02}:00", minutes / 60, minutes % 60);
    let owner = (outcome == Outcome::CancelledLate).then_some(d);
    let patient = match owner {
        Some(r) => registered[r].patient_id.unwrap(),
        None => patients[k as usize % patients.len()],
    };
    let booking = json!({"patientId": patient, "doctorId": doctors[d],
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
    Planned {
        id: booked.id(),
        day: day.to_string(),
        doctor_id: doctors[d],
        doctor_index: d,
        outcome,
        registered: owner,
    }
}

/// The doctor's decision (or the clinic's withdrawal) on a booked appointment.
async fn decide(app: &TestApp, planned: &Planned) {
    let body = json!({"appointmentId": planned.id});
    match planned.outcome {
        Outcome::Requested => {}
        Outcome::Rejected => {
            let path = "/api/doctors/appointments/reject";
            direct(app, Service::Doctors, Method::POST, path, Some(&body)).await;
        }
        Outcome::Withdrawn => {
            let path = format!("/api/appointments/{}", planned.id);
            direct(app, Service::Appointments, Method::DELETE, &path, None).await;
        }
        _ => {
            let path = "/api/doctors/appointments/approve";
            direct(app, Service::Doctors, Method::POST, path, Some(&body)).await;
        }
    }
}

/// What happens to an approved appointment once billing invoiced it.
async fn settle(app: &TestApp, planned: &Planned, owner: Option<&Account>) {
    let id = planned.id;
    let path = match planned.outcome {
        Outcome::Completed | Outcome::CompletedPaid => format!("/api/appointments/{id}/complete"),
        Outcome::NoShow | Outcome::NoShowFeePaid => format!("/api/appointments/{id}/no-show"),
        Outcome::CancelledInTime => format!("/api/appointments/{id}"),
        Outcome::CancelledLate => {
            let url = format!("{}/api/appointments/{id}", app.urls[&Service::Appointments]);
            let token = &owner.unwrap().token;
            let response = app
                .http
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let cancelled = crate::helpers::read(response).await.expect(200);
            assert_eq!(cancelled.body["lateCancellation"], true);
            return;
        }
        _ => return,
    };
    let method = match planned.outcome {
        Outcome::CancelledInTime => Method::DELETE,
        _ => Method::POST,
    };
    let body = json!({});
    let body = (method == Method::POST).then_some(&body);
    direct(app, Service::Appointments, method, &path, body).await;
}

/// Every invoice (from the billing service's own port) once `ready` holds for them all.
async fn invoices_when(app: &TestApp, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually("billing to follow the script", || async {
        let mut all = Vec::new();
        for page in 0.. {
            let path = format!("/api/billing/invoices?size=100&page={page}");
            let reply = app
                .request_to(&app.urls[&Service::Billing], Method::GET, &path, None)
                .await
                .expect(200);
            let items = reply.body["items"].as_array().unwrap().clone();
            let done = items.len() < 100;
            all.extend(items);
            if done {
                break;
            }
        }
        ready(&all).then_some(all)
    })
    .await
}
