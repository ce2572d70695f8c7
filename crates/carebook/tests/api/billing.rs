//! Billing end to end, through the gateway, on both backends: approvals become invoices at the
//! configured fee, cancellations and no-shows follow the fee policy, payments happen once, a
//! redelivered event changes nothing, and bad input changes nothing.

use std::collections::HashMap;
use std::time::Duration;

use platform::config::{ClinicConfig, Service};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::events::eventually;
use crate::helpers::{Account, Backend, Setup, TestApp, monday_at};

macro_rules! on_both_backends_billed {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::spawn($crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::spawn($crate::helpers::Backend::Postgres).await).await;
                }
            )*
        }
    };
}

on_both_backends_billed!(
    invoices_follow_appointments_at_the_configured_fee,
    cancellations_and_no_shows_follow_the_fee_policy,
    payment_is_once_by_the_patient_or_admin,
    a_redelivered_event_bills_nothing_twice,
);

const FEE: i64 = 12345;
/// 40 % of [`FEE`], rounded down.
const LATE_FEE: i64 = 4938;

/// A clinic charging [`FEE`] CHF a visit and 40 % for a late cancellation or a no-show, whose
/// patients cancel late up to 60 days before (so next week's visits can be cancelled late).
async fn spawn(backend: Backend) -> TestApp {
    let mut setup = Setup::new(backend);
    setup.clinic = ClinicConfig {
        cancellation_window: Duration::from_secs(60 * 24 * 3600),
        ..ClinicConfig::default()
    };
    setup.billing_prices = Some(billing::PriceList {
        currency: "CHF".to_owned(),
        default_fee: FEE,
        doctor_fees: HashMap::new(),
        service_fees: HashMap::new(),
        late_fee_percent: 40,
    });
    TestApp::spawn_with(setup).await
}

/// The distributed mode: PostgreSQL, and the `billing` queue on RabbitMQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_through_rabbitmq() {
    let (app, _broker) = crate::events::spawn(crate::events::Mode::Distributed, |mut setup| {
        setup.billing_prices = Some(billing::PriceList {
            default_fee: FEE,
            ..billing::PriceList::default()
        });
        setup
    })
    .await;
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let visit = app
        .book_approved(patient, doctor, &monday_at("09:00"))
        .await;
    let invoice = invoice_when(&app, visit, |_| true).await;
    assert_eq!(
        (&invoice["amount"], &invoice["currency"]),
        (&json!(FEE), &json!("EUR"))
    );
    app.delete(&format!("/api/appointments/{visit}"))
        .await
        .expect(200);
    invoice_when(&app, visit, |i| i["paymentStatus"] == "VOID").await;
}

/// Every invoice, as ADMIN sees them.
async fn invoices(app: &TestApp) -> Vec<Value> {
    let page = app.get("/api/billing/invoices?size=100").await.expect(200);
    page.body["items"].as_array().unwrap().clone()
}

/// The invoice of `appointment` once `ready` holds for it.
pub async fn invoice_when(
    app: &TestApp,
    appointment: i64,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    eventually(
        &format!("the invoice of appointment {appointment}"),
        || async {
            invoices(app)
                .await
                .into_iter()
                .find(|i| i["appointmentId"] == appointment && ready(i))
        },
    )
    .await
}

async fn as_user(
    app: &TestApp,
    who: &Account,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> crate::helpers::Reply {
    app.call(Some(&who.token), method, path, body).await
}

async fn invoices_follow_appointments_at_the_configured_fee(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let me = patient.patient_id.unwrap();
    let visit = app.book_approved(me, doctor, &monday_at("09:00")).await;
    let pending = invoice_when(app, visit, |_| true).await;
    assert_eq!(pending["amount"], FEE);
    assert_eq!(pending["currency"], "CHF");
    assert_eq!(pending["paymentStatus"], "PENDING");
    assert_eq!(pending["kind"], "VISIT");
    assert_eq!(pending["patientId"], me);
    assert!(pending.get("paidAt").is_none());
    assert_eq!(invoices(app).await.len(), 1);
    assert_eq!(app.outbox_types(Service::Billing).await, ["InvoiceCreated"]);
}

async fn cancellations_and_no_shows_follow_the_fee_policy(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let me = patient.patient_id.unwrap();
    // Cancelled in time (by the clinic): void.
    let timely = app.book_approved(me, doctor, &monday_at("10:00")).await;
    invoice_when(app, timely, |_| true).await;
    app.delete(&format!("/api/appointments/{timely}"))
        .await
        .expect(200);
    invoice_when(app, timely, |i| i["paymentStatus"] == "VOID").await;

    // Cancelled late by the patient: the fee remains to pay.
    let late = app.book_approved(me, doctor, &monday_at("11:00")).await;
    invoice_when(app, late, |_| true).await;
    let path = format!("/api/appointments/{late}");
    let cancelled = as_user(app, &patient, Method::DELETE, &path, None)
        .await
        .expect(200);
    assert_eq!(cancelled.body["lateCancellation"], true);
    let fee = invoice_when(app, late, |i| i["kind"] == "LATE_CANCELLATION_FEE").await;
    assert_eq!(
        (&fee["amount"], &fee["paymentStatus"]),
        (&json!(LATE_FEE), &json!("PENDING"))
    );

    // Missed: the no-show fee.
    let missed = app.book_approved(me, doctor, &monday_at("13:00")).await;
    invoice_when(app, missed, |_| true).await;
    app.post(&format!("/api/appointments/{missed}/no-show"), &json!({}))
        .await
        .expect(200);
    let fee = invoice_when(app, missed, |i| i["kind"] == "NO_SHOW_FEE").await;
    assert_eq!(
        (&fee["amount"], &fee["paymentStatus"]),
        (&json!(LATE_FEE), &json!("PENDING"))
    );

    // Awaiting approval: not invoiced.
    let requested = app
        .book(me, doctor, &monday_at("14:00"))
        .await
        .expect(201)
        .id();
    assert_eq!(invoices(app).await.len(), 3);
    assert!(
        invoices(app)
            .await
            .iter()
            .all(|i| i["appointmentId"] != requested)
    );

    // Filters, and a status that does not exist.
    let voided = app
        .get("/api/billing/invoices?paymentStatus=VOID")
        .await
        .expect(200);
    assert_eq!(voided.body["total"], 1);
    let mine = app
        .get(&format!("/api/billing/invoices?patientId={me}"))
        .await
        .expect(200);
    assert_eq!(mine.body["total"], 3);
    let bad = app
        .get("/api/billing/invoices?paymentStatus=LOST")
        .await
        .expect(400);
    assert_eq!(bad.headers["content-type"], "application/problem+json");
    let types = app.outbox_types(Service::Billing).await;
    assert_eq!(types.iter().filter(|t| *t == "InvoiceCreated").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "InvoiceUpdated").count(), 3);
}

async fn payment_is_once_by_the_patient_or_admin(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let stranger = app.register_patient(2).await;
    let me = patient.patient_id.unwrap();
    let visit = app.book_approved(me, doctor, &monday_at("09:00")).await;
    let id = invoice_when(app, visit, |_| true).await["id"]
        .as_i64()
        .unwrap();
    let pay = format!("/api/billing/invoices/{id}/pay");
    let get = format!("/api/billing/invoices/{id}");

    // Bad input and someone else's invoice: a problem, and nothing changes.
    for body in [
        json!({"paymentType": "BITCOIN"}),
        json!({}),
        json!({"paymentType": 1}),
    ] {
        let refused = as_user(app, &patient, Method::POST, &pay, Some(&body))
            .await
            .expect(400);
        assert_eq!(refused.headers["content-type"], "application/problem+json");
    }
    let card = json!({"paymentType": "CARD"});
    as_user(app, &stranger, Method::POST, &pay, Some(&card))
        .await
        .expect(404);
    as_user(app, &stranger, Method::GET, &get, None)
        .await
        .expect(404);
    let theirs = format!("/api/billing/invoices?patientId={me}");
    as_user(app, &stranger, Method::GET, &theirs, None)
        .await
        .expect(403);
    let seen = as_user(app, &stranger, Method::GET, "/api/billing/invoices", None)
        .await
        .expect(200);
    assert_eq!(seen.body["total"], 0);
    app.post("/api/billing/invoices/999999/pay", &card)
        .await
        .expect(404);
    assert_eq!(
        app.get(&get).await.expect(200).body["paymentStatus"],
        "PENDING"
    );

    // The patient sees and pays their own, once.
    let own = as_user(app, &patient, Method::GET, "/api/billing/invoices", None)
        .await
        .expect(200);
    assert_eq!(own.body["total"], 1);
    let paid = as_user(app, &patient, Method::POST, &pay, Some(&card))
        .await
        .expect(200);
    assert_eq!(paid.body["paymentStatus"], "PAID");
    assert_eq!(paid.body["paymentType"], "CARD");
    assert!(paid.body["paidAt"].is_string());
    let again = json!({"paymentType": "CASH"});
    as_user(app, &patient, Method::POST, &pay, Some(&again))
        .await
        .expect(409);
    app.post(&pay, &again).await.expect(409);
    let stored = as_user(app, &patient, Method::GET, &get, None)
        .await
        .expect(200);
    assert_eq!(stored.body["paymentType"], "CARD");

    // ADMIN pays any; a void invoice cannot be paid.
    let other = app.book_approved(me, doctor, &monday_at("10:00")).await;
    let other_id = invoice_when(app, other, |_| true).await["id"]
        .as_i64()
        .unwrap();
    app.delete(&format!("/api/appointments/{other}"))
        .await
        .expect(200);
    invoice_when(app, other, |i| i["paymentStatus"] == "VOID").await;
    app.post(&format!("/api/billing/invoices/{other_id}/pay"), &card)
        .await
        .expect(409);
    let types = app.outbox_types(Service::Billing).await;
    assert_eq!(types.iter().filter(|t| *t == "InvoicePaid").count(), 1);
}

async fn a_redelivered_event_bills_nothing_twice(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let first = app
        .book_approved(patient, doctor, &monday_at("09:00"))
        .await;
    invoice_when(app, first, |_| true).await;
    // The broker delivers at least once: have the relay publish the approval again.
    let mut conn = sqlx::AnyConnection::connect(&app.database_urls[&Service::Appointments])
        .await
        .unwrap();
    let republished = sqlx::query(
        "UPDATE outbox SET published_at = NULL WHERE event_type = 'AppointmentApproved'",
    )
    .execute(&mut conn)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(republished, 1);
    // Events of one queue are handled in order: once this later one shows, the repeat was seen.
    let second = app
        .book_approved(patient, doctor, &monday_at("10:00"))
        .await;
    invoice_when(app, second, |_| true).await;
    let (again,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(published_at) FROM outbox WHERE event_type = 'AppointmentApproved'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(again.is_some(), "the approval was published again");
    let all = invoices(app).await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter().filter(|i| i["appointmentId"] == first).count(),
        1
    );
    let types = app.outbox_types(Service::Billing).await;
    assert_eq!(types, ["InvoiceCreated", "InvoiceCreated"]);
}
