//! The clinic's booking rules (API.md "Booking rules"), the care relationship, and strict
//! instants, as a patient meets them through the gateway.

use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Account, Reply, TestApp, monday_at, next_monday};

/// A booking by a signed-in patient for themselves.
async fn book_as(app: &TestApp, who: &Account, doctor: i64, start: &str, minutes: Value) -> Reply {
    let body = json!({"patientId": who.patient_id, "doctorId": doctor,
                      "appointmentDate": start, "durationMinutes": minutes});
    app.call(
        Some(&who.token),
        Method::POST,
        "/api/appointments",
        Some(&body),
    )
    .await
}

/// The audit resources recorded about `patient`, oldest first.
async fn audited_resources(app: &TestApp, patient: i64) -> Vec<String> {
    let trail = app
        .get(&format!("/api/audit?patientId={patient}&size=100"))
        .await
        .expect(200)
        .body;
    let mut rows: Vec<(i64, String)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, resource)| resource).collect()
}

async fn a_patient_holds_at_most_the_limit_of_active_appointments(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let mut ids = Vec::new();
    for hour in 9..14 {
        let start = monday_at(&format!("{hour:02}:00"));
        let booked = book_as(app, &patient, doctor, &start, Value::Null).await;
        ids.push(booked.expect(201).id());
    }
    let sixth = book_as(app, &patient, doctor, &monday_at("15:00"), Value::Null)
        .await
        .expect(409);
    let detail = sixth.body["detail"].as_str().unwrap();
    assert!(detail.contains("at most 5"), "{detail}");

    // A cancelled one no longer counts.
    let cancel = format!("/api/appointments/{}", ids[0]);
    app.call(Some(&patient.token), Method::DELETE, &cancel, None)
        .await
        .expect(200);
    book_as(app, &patient, doctor, &monday_at("15:00"), Value::Null)
        .await
        .expect(201);

    // ADMIN overrides the limit, and the audit trail names the override.
    let patient_id = patient.patient_id.unwrap();
    let over = app
        .book(patient_id, doctor, &monday_at("16:00"))
        .await
        .expect(201)
        .id();
    let audited = audited_resources(app, patient_id).await;
    assert!(
        audited.contains(&format!("appointment/{over}/override/active-limit")),
        "{audited:?}"
    );
}

async fn visits_start_on_the_grid_and_last_what_the_doctor_offers(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    // Off the 30-minute grid, and lengths the doctor does not offer: 409.
    let off_grid = book_as(app, &patient, doctor, &monday_at("09:07"), Value::Null).await;
    assert!(
        off_grid.expect(409).body["detail"]
            .as_str()
            .unwrap()
            .contains("grid")
    );
    for minutes in [45, 150, 240] {
        let odd = book_as(app, &patient, doctor, &monday_at("09:00"), json!(minutes)).await;
        let detail = odd.expect(409).body["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("30, 60, 90, 120"), "{detail}");
    }
    // Not a length at all: 400.
    for minutes in [json!(0), json!(-30), json!(481), json!(100_000)] {
        let reply = book_as(app, &patient, doctor, &monday_at("09:00"), minutes).await;
        assert_eq!(reply.expect(400).error_fields(), ["durationMinutes"]);
    }
    let long = book_as(app, &patient, doctor, &monday_at("09:00"), json!(120)).await;
    assert_eq!(long.expect(201).body["endDate"], monday_at("11:00"));

    // ADMIN may book off the grid and a length not offered; both overrides are audited.
    let patient_id = patient.patient_id.unwrap();
    let body = json!({"patientId": patient_id, "doctorId": doctor,
                      "appointmentDate": monday_at("13:07"), "durationMinutes": 45});
    let id = app.post("/api/appointments", &body).await.expect(201).id();
    let audited = audited_resources(app, patient_id).await;
    for rule in ["visit-length", "slot-grid"] {
        let resource = format!("appointment/{id}/override/{rule}");
        assert!(audited.contains(&resource), "{audited:?}");
    }
}

async fn instants_are_strict_rfc3339(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let day = next_monday();
    for bad in [
        format!("{day}T09:00:00+25:00"),
        format!("{day}T09:00:00+24:00"),
        format!("{day}T09:00"),
        format!("{day}T09:00:00+01:00[Europe/Paris]"),
    ] {
        let reply = book_as(app, &patient, doctor, &bad, Value::Null).await;
        assert_eq!(
            reply.expect(400).error_fields(),
            ["appointmentDate"],
            "{bad}"
        );
    }
    // The same start with an offset inside ±23:59, and in the clinic-local form.
    book_as(
        app,
        &patient,
        doctor,
        &format!("{day}T10:00:00+01:00"),
        Value::Null,
    )
    .await
    .expect(201);
    book_as(
        app,
        &patient,
        doctor,
        &format!("{day}T10:00:00"),
        Value::Null,
    )
    .await
    .expect(201);
    let busy = app
        .get(&format!("/api/appointments/busy?doctorId={doctor}&from={day}T00:00:00%2B30:00&to={day}T23:00:00Z"))
        .await;
    busy.expect(400);
}

async fn a_patients_move_of_an_approved_visit_asks_the_doctor_again(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let id = book_as(app, &patient, doctor, &monday_at("09:00"), Value::Null)
        .await
        .expect(201)
        .id();
    let path = format!("/api/appointments/{id}");
    let approve = format!("{path}/approve");
    app.post(&approve, &json!({})).await.expect(200);

    // The patient's new time or length: REQUESTED again, and the doctor is asked. A new
    // description alone changes no time: it stays approved.
    for (change, status) in [
        (json!({"appointmentDate": monday_at("10:00")}), "REQUESTED"),
        (json!({"durationMinutes": 60}), "REQUESTED"),
        (json!({"description": "bring the x-rays"}), "APPROVED"),
    ] {
        let reply = app
            .call(Some(&patient.token), Method::PUT, &path, Some(&change))
            .await
            .expect(200);
        assert_eq!(reply.body["status"], status, "{change}");
        if status == "REQUESTED" {
            app.post(&approve, &json!({})).await.expect(200);
        }
    }
    // ADMIN's move keeps it approved.
    let reply = app
        .put(&path, &json!({"appointmentDate": monday_at("14:00")}))
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "APPROVED");
    assert_eq!(
        app.outbox_types(Service::Appointments).await,
        [
            "AppointmentRequested",
            "AppointmentApproved",
            "AppointmentRescheduled",
            "AppointmentRequested",
            "AppointmentApproved",
            "AppointmentRescheduled",
            "AppointmentRequested",
            "AppointmentApproved",
            "AppointmentRescheduled",
        ]
    );
}

async fn only_approved_or_completed_visits_let_a_doctor_read_the_patient(app: &TestApp) {
    let doctor = app.register_doctor(1).await;
    let doctor_id = doctor.doctor_id.unwrap();
    let patient = app.register_patient(1).await;
    let patient_id = patient.patient_id.unwrap();
    let profile = format!("/api/patients/{patient_id}");
    let read = || app.call(Some(&doctor.token), Method::GET, &profile, None);
    let ids_path = "/api/appointments/patient-ids";
    let ids = || app.call(Some(&doctor.token), Method::GET, ids_path, None);

    // Requested, then cancelled: no relationship.
    let first = app
        .book(patient_id, doctor_id, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    read().await.expect(403);
    app.delete(&format!("/api/appointments/{first}"))
        .await
        .expect(200);
    read().await.expect(403);
    // Rejected: none either.
    let second = app
        .book(patient_id, doctor_id, &monday_at("10:00"))
        .await
        .expect(201)
        .id();
    let reject = format!("/api/appointments/{second}/reject");
    app.post(&reject, &json!({})).await.expect(200);
    read().await.expect(403);
    assert_eq!(ids().await.expect(200).body, json!([]));
    let doctors_patients = app
        .call(Some(&doctor.token), Method::GET, "/api/patients", None)
        .await
        .expect(200);
    assert_eq!(doctors_patients.body["total"], 0);

    // Approved: care is given, so the doctor may read.
    app.book_approved(patient_id, doctor_id, &monday_at("11:00"))
        .await;
    read().await.expect(200);
    assert_eq!(ids().await.expect(200).body, json!([patient_id]));
}

on_both_backends!(
    a_patient_holds_at_most_the_limit_of_active_appointments,
    visits_start_on_the_grid_and_last_what_the_doctor_offers,
    instants_are_strict_rfc3339,
    a_patients_move_of_an_approved_visit_asks_the_doctor_again,
    only_approved_or_completed_visits_let_a_doctor_read_the_patient,
);
