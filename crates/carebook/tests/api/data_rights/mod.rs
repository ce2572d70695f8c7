//! The patient's data rights end to end: a copy of everything held about them, erasure in
//! every service (searched for in every endpoint and in every byte of every database), and
//! the retention of what the law makes the clinic keep.

mod distributed;
mod scan;

use jiff::{SignedDuration, Timestamp};
use platform::config::Service;
use platform::time::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::events::eventually;
use crate::helpers::{Account, TestApp, monday_at};
use crate::records::{form, pdf, upload};

/// The patient's personal data, distinctive enough that any copy left behind is found.
pub const NAME: &str = "Zelda Quillfeather";
pub const EMAIL: &str = "zelda.quillfeather@example.org";
pub const PHONE: &str = "+44 20 7946 0777";
pub const PHONE_E164: &str = "+442079460777";
pub const ADDRESS: &str = "77 Forgotten Lane";

/// What must be found nowhere after the erasure.
pub fn needles() -> Vec<String> {
    [NAME, EMAIL, PHONE, PHONE_E164, ADDRESS]
        .into_iter()
        .flat_map(|s| [s.to_owned(), s.to_lowercase()])
        .collect()
}

/// Registers the patient and signs them in.
pub async fn register_zelda(app: &TestApp) -> Account {
    let body = json!({"name": NAME, "email": EMAIL, "password": "zelda-quillfeather-2026",
                      "phone": PHONE, "dob": "1975-05-05", "address": ADDRESS});
    app.call(None, Method::POST, "/api/auth/register", Some(&body))
        .await
        .expect(201);
    let tokens = app
        .login(EMAIL, "zelda-quillfeather-2026")
        .await
        .expect(200)
        .body;
    Account {
        user_id: tokens["userId"].as_i64().unwrap(),
        patient_id: tokens["patientId"].as_i64(),
        doctor_id: None,
        token: tokens["accessToken"].as_str().unwrap().to_owned(),
        refresh_token: tokens["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// What the patient has in every service: an approved appointment whose description names
/// them, the notifications it caused, a record with a file, a paid invoice.
pub struct History {
    pub patient: Account,
    pub doctor: Account,
    pub appointment: i64,
    pub record: i64,
    pub invoice: i64,
    pub file: Vec<u8>,
}

pub async fn build_history(app: &TestApp) -> History {
    let patient = register_zelda(app).await;
    let doctor = app.register_doctor(71).await;
    let me = patient.patient_id.unwrap();
    let booking = json!({"patientId": me, "doctorId": doctor.doctor_id,
        "appointmentDate": monday_at("10:00"),
        "description": format!("{NAME} of {ADDRESS}: knee pain")});
    let appointment = app
        .call(
            Some(&patient.token),
            Method::POST,
            "/api/appointments",
            Some(&booking),
        )
        .await
        .expect(201)
        .id();
    let approve = json!({"appointmentId": appointment});
    app.call(
        Some(&doctor.token),
        Method::POST,
        "/api/doctors/appointments/approve",
        Some(&approve),
    )
    .await
    .expect(200);
    crate::records::care_status_is(app, appointment, "APPROVED").await;
    let file = pdf(4096);
    let record = json!({"patientId": me, "recordType": "IMAGING", "title": "Knee X-ray",
                        "content": "No fracture."})
    .to_string();
    let record = upload(
        app,
        &doctor.token,
        form(Some(&record), Some(("knee.pdf", "application/pdf", &file))),
    )
    .await
    .expect(201)
    .id();
    let invoice = eventually("the visit's invoice", || async {
        let list = format!("/api/billing/invoices?patientId={me}");
        let reply = app
            .call(Some(&patient.token), Method::GET, &list, None)
            .await;
        reply.body["items"][0]["id"].as_i64()
    })
    .await;
    let pay = format!("/api/billing/invoices/{invoice}/pay");
    app.call(
        Some(&patient.token),
        Method::POST,
        &pay,
        Some(&json!({"paymentType": "CARD"})),
    )
    .await
    .expect(200);
    // Every notification about the visit delivered (rendered, naming the patient) first.
    eventually(
        "the patient's and the doctor's notifications sent",
        || async {
            let all = app
                .get("/api/notifications?size=100")
                .await
                .expect(200)
                .body;
            let items = all["items"].as_array().cloned().unwrap_or_default();
            let mine = items
                .iter()
                .filter(|n| n["recipientType"] == "PATIENT" && n["recipientId"] == me)
                .count();
            let pending = items.iter().any(|n| n["status"] == "PENDING");
            (mine >= 2 && !pending).then_some(())
        },
    )
    .await;
    History {
        patient,
        doctor,
        appointment,
        record,
        invoice,
        file,
    }
}

/// The export holds every part of the history, and its file downloads.
pub async fn check_export(app: &TestApp, history: &History) {
    let me = history.patient.patient_id.unwrap();
    let path = format!("/api/patients/{me}/export");
    let export = app
        .call(Some(&history.patient.token), Method::GET, &path, None)
        .await
        .expect(200)
        .body;
    assert_eq!(export["patientId"], me);
    assert_eq!(export["account"]["email"], EMAIL);
    assert_eq!(export["profile"]["name"], NAME);
    assert_eq!(export["profile"]["address"], ADDRESS);
    assert_eq!(export["appointments"][0]["id"], history.appointment);
    assert!(
        export["appointments"][0]["description"]
            .as_str()
            .unwrap()
            .contains(NAME)
    );
    let notifications = export["notifications"].as_array().unwrap();
    assert!(notifications.len() >= 2, "{export}");
    assert!(notifications.iter().all(|n| n["recipientId"] == me));
    let record = &export["records"][0];
    assert_eq!(record["id"], history.record);
    assert_eq!(record["content"], "No fracture.");
    assert_eq!(record["attachment"]["fileName"], "knee.pdf");
    let link = record["fileUrl"].as_str().unwrap();
    let invoice = &export["invoices"][0];
    assert_eq!(invoice["id"], history.invoice);
    assert_eq!(invoice["paymentStatus"], "PAID");
    assert_eq!(invoice["paymentType"], "CARD");
    let services: Vec<&str> = export["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["service"].as_str().unwrap())
        .collect();
    for service in [
        "patients",
        "appointments",
        "records",
        "billing",
        "notifications",
    ] {
        assert!(services.contains(&service), "{service} in {services:?}");
    }
    let file = app
        .http
        .get(format!("{}{link}", app.gateway))
        .bearer_auth(&history.patient.token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().to_vec() == history.file);
    // Each service's part is for services only: not routed by the gateway, and refused to
    // anyone but a SERVICE caller on the service's own port.
    let internal = format!("/api/internal/patients/{me}/export");
    app.call(Some(&history.patient.token), Method::GET, &internal, None)
        .await
        .expect(404);
    app.get(&internal).await.expect(404);
    for service in [
        Service::Identity,
        Service::Appointments,
        Service::Notifications,
        Service::Records,
        Service::Billing,
    ] {
        // A service the test runs itself has no URL here.
        if let Some(base) = app.urls.get(&service) {
            let direct = app.request_to(base, Method::GET, &internal, None);
            direct.await.expect(403);
        }
    }
    // The export itself is on the trail.
    let trail = app
        .get(&format!("/api/audit?patientId={me}&size=100"))
        .await
        .expect(200)
        .body;
    assert!(
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"] == format!("patient/{me}/export") && e["outcome"] == "SUCCESS"),
        "{trail}"
    );
}

/// Every endpoint that answered about the patient before, as the admin and as their doctor.
async fn endpoint_answers(app: &TestApp, history: &History) -> Vec<(String, Value)> {
    let me = history.patient.patient_id.unwrap();
    let mut answers = Vec::new();
    for path in [
        format!("/api/patients/{me}"),
        format!("/api/patients?q={}", "Zelda"),
        "/api/patients?size=100".to_owned(),
        format!("/api/appointments/{}", history.appointment),
        format!("/api/appointments?patientId={me}"),
        "/api/notifications?size=100".to_owned(),
        format!("/api/records/{me}"),
        format!("/api/billing/invoices?patientId={me}"),
        format!("/api/audit?patientId={me}&size=100"),
        "/api/auth/me".to_owned(),
    ] {
        answers.push((path.clone(), app.get(&path).await.body));
        let doctor = app
            .call(Some(&history.doctor.token), Method::GET, &path, None)
            .await;
        answers.push((format!("{path} (doctor)"), doctor.body));
    }
    answers
}

async fn export_and_erasure_reach_every_service(app: &TestApp) {
    let history = build_history(app).await;
    let me = history.patient.patient_id.unwrap();
    check_export(app, &history).await;

    // Someone else's export or erasure, and an unknown patient.
    let other = app.register_patient(72).await;
    for (method, path) in [
        (Method::GET, format!("/api/patients/{me}/export")),
        (Method::DELETE, format!("/api/patients/{me}")),
    ] {
        app.call(Some(&other.token), method.clone(), &path, None)
            .await
            .expect(403);
        app.call(Some(&history.doctor.token), method, &path, None)
            .await
            .expect(403);
    }
    // A patient does not erase themselves: they ask the clinic.
    let own = format!("/api/patients/{me}");
    app.call(Some(&history.patient.token), Method::DELETE, &own, None)
        .await
        .expect(403);
    app.get("/api/patients/999999/export").await.expect(404);
    app.delete("/api/patients/999999").await.expect(404);

    app.delete(&own).await.expect(204);
    scan::wait_until_clean(app, &[]).await;

    // No endpoint tells anything about the patient any more.
    for (path, body) in endpoint_answers(app, &history).await {
        let text = body.to_string();
        for needle in needles() {
            assert!(!text.contains(&needle), "{needle} in {path}: {text}");
        }
    }
    app.get(&own).await.expect(404);
    app.get(&format!("{own}/export")).await.expect(404);
    // What the law keeps is still there, by id only: the paid invoice and the record.
    let invoice = app
        .get(&format!("/api/billing/invoices/{}", history.invoice))
        .await
        .expect(200)
        .body;
    assert_eq!(invoice["paymentStatus"], "PAID");
    assert!(invoice["amount"].as_i64().unwrap() > 0);
    let records = app
        .get(&format!("/api/records/{me}"))
        .await
        .expect(200)
        .body;
    assert_eq!(records["items"][0]["id"], history.record);
    let appointment = app
        .get(&format!("/api/appointments/{}", history.appointment))
        .await
        .expect(200)
        .body;
    assert_eq!(appointment["description"], "");

    // The account is gone for good: no login, no refresh.
    app.login(EMAIL, "zelda-quillfeather-2026")
        .await
        .expect(401);
    let refresh = json!({"refreshToken": history.patient.refresh_token});
    app.call(None, Method::POST, "/api/auth/refresh", Some(&refresh))
        .await
        .expect(401);

    // Again: 204, and nothing more happens.
    app.delete(&own).await.expect(204);
    let erasures = app
        .outbox_types(Service::Patients)
        .await
        .into_iter()
        .filter(|t| t == "PatientErased")
        .count();
    assert_eq!(erasures, 1);

    retention_removes_what_has_passed_it(app, &history).await;
}

/// The retention jobs, stepped with a manual clock: nothing goes within the period; after it,
/// the erased patient's invoice and record (with its file) are removed.
async fn retention_removes_what_has_passed_it(app: &TestApp, history: &History) {
    let clock = Clock::manual(Timestamp::now());
    let billing_db =
        platform::db::Db::open(&app.database_urls[&Service::Billing], &billing::MIGRATIONS)
            .await
            .unwrap();
    let invoices = billing::Retention::new(billing_db, 10);
    let mut config = records::Config::from_env(app.data_dir()).unwrap();
    config.database_url = app.database_urls[&Service::Records].clone().into();
    config.blob_location = app.data_dir().join("records-blobs").display().to_string();
    config.retention_years = 10;
    let records = records::Retention::open(&config).await.unwrap();

    clock.advance(SignedDuration::from_hours(24 * 365 * 9).unsigned_abs());
    assert_eq!(invoices.sweep(clock.now()).await.unwrap(), 0);
    assert_eq!(records.sweep(clock.now()).await.unwrap(), 0);
    assert_eq!(crate::records::files::blob_files(app).len(), 1);

    clock.advance(SignedDuration::from_hours(24 * 366 * 2).unsigned_abs());
    assert_eq!(invoices.sweep(clock.now()).await.unwrap(), 1);
    assert_eq!(records.sweep(clock.now()).await.unwrap(), 1);
    app.get(&format!("/api/billing/invoices/{}", history.invoice))
        .await
        .expect(404);
    let me = history.patient.patient_id.unwrap();
    let left = app
        .get(&format!("/api/records/{me}"))
        .await
        .expect(200)
        .body;
    assert_eq!(left["total"], 0);
    assert!(crate::records::files::blob_files(app).is_empty());
}

on_both_backends!(export_and_erasure_reach_every_service);
