//! Who sees and writes records: the patient, ADMIN, and doctors caring for the patient (an
//! APPROVED or COMPLETED appointment together); the author keeps what they wrote after care
//! ends. Refusals are audited too.

use reqwest::Method;
use serde_json::json;

use super::{appointment, book_and_decide, care_status_is, record_json, trail};
use crate::events::eventually;
use crate::helpers::TestApp;

async fn only_the_patient_admin_and_caring_doctors_see_records(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let patient_id = care.patient_id();
    let list = format!("/api/records/{patient_id}");
    let body = record_json(patient_id, "Prescription", "Amoxicillin 500 mg, 3x daily");
    let id = app
        .call(
            Some(&care.doctor.token),
            Method::POST,
            "/api/records",
            Some(&body),
        )
        .await
        .expect(201)
        .id();

    // A doctor whose only appointment with the patient was rejected.
    let rejected = app.register_doctor(2).await;
    book_and_decide(app, &care.patient, &rejected, "10:00", "reject").await;
    // Another patient.
    let other = app.register_patient(3).await;
    for token in [&rejected.token, &other.token] {
        app.call(Some(token), Method::GET, &list, None)
            .await
            .expect(403);
        app.call(Some(token), Method::POST, "/api/records", Some(&body))
            .await
            .expect(403);
        let file = format!("{list}/{id}/file");
        app.call(Some(token), Method::GET, &file, None)
            .await
            .expect(403);
    }
    // A doctor writing in another doctor's name.
    let mut forged = body.clone();
    forged["doctorId"] = json!(rejected.doctor_id);
    app.call(
        Some(&care.doctor.token),
        Method::POST,
        "/api/records",
        Some(&forged),
    )
    .await
    .expect(403);

    for token in [&care.patient.token, &care.doctor.token, &app.admin_token] {
        let reply = app
            .call(Some(token), Method::GET, &list, None)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 1);
        assert_eq!(
            reply.body["items"][0]["content"],
            "Amoxicillin 500 mg, 3x daily"
        );
    }
    // ADMIN writes in a named doctor's name.
    let mut by_admin = record_json(patient_id, "Note", "Called the patient.");
    by_admin["doctorId"] = json!(care.doctor_id());
    let reply = app.post("/api/records", &by_admin).await.expect(201);
    assert_eq!(reply.body["doctorId"], care.doctor_id());

    let rows = trail(app, patient_id).await;
    for user in [rejected.user_id, other.user_id] {
        let denied = rows
            .iter()
            .filter(|r| r.0 == user && r.3 == "DENIED")
            .count();
        assert_eq!(
            denied, 3,
            "list, create and download refused for {user}: {rows:?}"
        );
    }
}

async fn care_ends_with_the_cancellation_but_authors_keep_their_records(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let patient_id = care.patient_id();
    let list = format!("/api/records/{patient_id}");
    let body = record_json(patient_id, "Diagnosis", "Seasonal allergy");
    app.call(
        Some(&care.doctor.token),
        Method::POST,
        "/api/records",
        Some(&body),
    )
    .await
    .expect(201);
    // Another doctor's record, by ADMIN.
    let colleague = app.create_doctor(2).await;
    let mut other = record_json(patient_id, "Note", "Colleague's note");
    other["doctorId"] = json!(colleague);
    app.post("/api/records", &other).await.expect(201);

    let visit = format!("/api/appointments/{}", care.appointment);
    app.call(Some(&care.patient.token), Method::DELETE, &visit, None)
        .await
        .expect(200);
    care_status_is(app, care.appointment, "CANCELLED").await;

    let seen = app
        .call(Some(&care.doctor.token), Method::GET, &list, None)
        .await
        .expect(200);
    assert_eq!(seen.body["total"], 1, "{}", seen.body);
    assert_eq!(seen.body["items"][0]["content"], "Seasonal allergy");
    app.call(
        Some(&care.doctor.token),
        Method::POST,
        "/api/records",
        Some(&body),
    )
    .await
    .expect(403);
}

async fn the_patient_is_told_of_a_new_record_without_its_content(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let content = "Biopsy: benign, no treatment needed";
    let body = record_json(care.patient_id(), "Biopsy result", content);
    app.call(
        Some(&care.doctor.token),
        Method::POST,
        "/api/records",
        Some(&body),
    )
    .await
    .expect(201);
    let token = care.patient.token.clone();
    let notice = eventually("the patient's new-record notification", || {
        let token = token.clone();
        async move {
            let reply = app
                .call(
                    Some(&token),
                    Method::GET,
                    "/api/notifications?size=100",
                    None,
                )
                .await
                .expect(200);
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| {
                    n["kind"] == "NEW_RECORD" && n["channel"] == "IN_APP" && n["status"] == "SENT"
                })
                .cloned()
        }
    })
    .await;
    assert_eq!(notice["recipientType"], "PATIENT");
    assert_eq!(notice["recipientId"], care.patient_id());
    let text = format!("{} {}", notice["subject"], notice["message"]);
    assert!(
        text.contains("a new record from Dr. Test 1")
            || text.contains("A new record from Dr. Test 1"),
        "{text}"
    );
    for secret in [content, "Biopsy", "benign"] {
        assert!(
            !text.contains(secret),
            "the notification tells the record's content: {text}"
        );
    }
}

on_both_backends!(
    only_the_patient_admin_and_caring_doctors_see_records,
    care_ends_with_the_cancellation_but_authors_keep_their_records,
    the_patient_is_told_of_a_new_record_without_its_content,
);
