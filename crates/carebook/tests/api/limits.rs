//! Rules shared by every service, defined once in `platform::values`: a text one service
//! accepts is accepted by the next one it is handed to, and refused alike everywhere.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, doctor_body, monday_at, password, patient_body};

async fn names_of_invisible_characters_are_refused_everywhere(app: &TestApp) {
    let invisible = json!("\u{200B}\u{200C}\u{2060}\u{FEFF}");
    let mut patient = patient_body(1);
    patient["name"] = invisible.clone();
    let refused = app.post("/api/patients", &patient).await.expect(400);
    assert_eq!(refused.error_fields(), ["name"]);

    let mut doctor = doctor_body(1);
    doctor["name"] = invisible.clone();
    let refused = app.post("/api/doctors", &doctor).await.expect(400);
    assert_eq!(refused.error_fields(), ["name"]);

    patient["password"] = json!(password(1));
    let register = Some(&patient);
    let refused = app
        .call(None, Method::POST, "/api/auth/register", register)
        .await;
    assert_eq!(refused.expect(400).error_fields(), ["name"]);
    let list = app.get("/api/patients").await.expect(200);
    assert_eq!(list.body["total"], 0, "refused names changed nothing");
}

async fn a_reason_is_refused_where_it_is_written_not_where_it_is_passed_on(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let booked = app.book(patient, doctor, &monday_at("09:00")).await;
    let id = booked.expect(201).id();
    let reject = "/api/doctors/appointments/reject";
    let too_long = json!({"appointmentId": id, "reason": "x".repeat(501)});
    let refused = app.post(reject, &too_long).await.expect(400);
    assert_eq!(refused.error_fields(), ["reason"]);
    let appointment = app.get(&format!("/api/appointments/{id}")).await;
    assert_eq!(appointment.expect(200).body["status"], "REQUESTED");

    let longest = json!({"appointmentId": id, "reason": "x".repeat(500)});
    let rejected = app.post(reject, &longest).await.expect(200);
    assert_eq!(rejected.body["status"], "REJECTED");
}

on_both_backends!(
    names_of_invisible_characters_are_refused_everywhere,
    a_reason_is_refused_where_it_is_written_not_where_it_is_passed_on,
);
