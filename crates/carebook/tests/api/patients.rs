use platform::config::Service;
use reqwest::Method;
use serde_json::json;
use sqlx::{AnyConnection, Connection};

use crate::helpers::{TestApp, monday_at, patient_body};

async fn registers_a_patient_with_a_normalized_phone(app: &TestApp) {
    let created = app
        .post("/api/patients", &patient_body(1))
        .await
        .expect(201);
    assert_eq!(created.body["phone"], "+442079465001");
    assert_eq!(created.body["email"], "patient1@example.org");
    assert!(
        created.body["registrationDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let fetched = app
        .get(&format!("/api/patients/{}", created.id()))
        .await
        .expect(200);
    assert_eq!(fetched.body, created.body);
}

async fn refuses_invalid_patients_naming_every_field(app: &TestApp) {
    let cases = [
        (
            json!({"name": " ", "email": "x", "phone": "12", "dob": "2999-01-01", "address": ""}),
            vec!["name", "email", "phone", "dob", "address"],
        ),
        (
            json!({"name": "A", "email": "a@example.org", "phone": "+44 20 7946 0001",
                   "dob": "15/01/1980", "address": "x"}),
            vec!["dob"],
        ),
        (
            json!({"name": "A", "email": "a@example.org"}),
            vec!["phone"],
        ),
        (json!({"name": 5, "email": "a@example.org"}), vec!["name"]),
    ];
    for (body, fields) in cases {
        let reply = app.post("/api/patients", &body).await.expect(400);
        assert_eq!(reply.error_fields(), fields, "{body}");
    }
    let malformed = app
        .http
        .post(format!("{}/api/patients", app.gateway))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let list = app.get("/api/patients").await.expect(200);
    assert_eq!(list.body["total"], 0, "bad input changed nothing");
}

async fn refuses_a_duplicate_email_case_insensitively(app: &TestApp) {
    app.create_patient(1).await;
    let mut again = patient_body(2);
    again["email"] = json!("PATIENT1@example.org");
    app.post("/api/patients", &again).await.expect(409);
}

async fn updates_a_patient_fully(app: &TestApp) {
    let id = app.create_patient(1).await;
    let mut changed = patient_body(1);
    changed["address"] = json!("2 New Road");
    changed["medicalHistory"] = json!("asthma");
    let updated = app
        .put(&format!("/api/patients/{id}"), &changed)
        .await
        .expect(200);
    assert_eq!(updated.body["address"], "2 New Road");
    assert_eq!(updated.body["medicalHistory"], "asthma");
    app.put("/api/patients/999999", &changed).await.expect(404);
    app.put(&format!("/api/patients/{id}"), &json!({"name": ""}))
        .await
        .expect(400);

    let other = app.create_patient(2).await;
    let mut steal = patient_body(2);
    steal["email"] = json!("patient1@example.org");
    app.put(&format!("/api/patients/{other}"), &steal)
        .await
        .expect(409);
}

async fn lists_and_searches_patients(app: &TestApp) {
    for n in 1..=3 {
        app.create_patient(n).await;
    }
    let all = app.get("/api/patients?size=2").await.expect(200);
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let second = app.get("/api/patients?size=2&page=1").await.expect(200);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);

    let found = app.get("/api/patients?q=PATIENT%202").await.expect(200);
    assert_eq!(found.body["total"], 1);
    let wildcard = app.get("/api/patients?q=%25").await.expect(200);
    assert_eq!(wildcard.body["total"], 0, "LIKE wildcards are literal");
    app.get("/api/patients?size=101").await.expect(400);
    app.get("/api/patients/abc").await.expect(400);
    app.get("/api/patients/424242").await.expect(404);
}

async fn books_through_the_patient_service(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let body = json!({"patientId": patient, "doctorId": doctor, "date": monday_at("10:00")});
    let booked = app
        .post("/api/patients/appointments", &body)
        .await
        .expect(201);
    assert_eq!(booked.body["status"], "REQUESTED");
    assert_eq!(booked.body["patientId"], patient);

    let unknown = json!({"patientId": 999, "doctorId": doctor, "date": monday_at("11:00")});
    let reply = app
        .post("/api/patients/appointments", &unknown)
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["patientId"]);
    let taken = app
        .post("/api/patients/appointments", &body)
        .await
        .expect(409);
    assert!(taken.body["detail"].as_str().unwrap().contains("already"));
}

async fn a_patient_does_not_write_their_medical_history(app: &TestApp) {
    let account = app.register_patient(1).await;
    let id = account.patient_id.unwrap();
    let path = format!("/api/patients/{id}");
    let mut by_admin = patient_body(1);
    by_admin["medicalHistory"] = json!("asthma");
    app.put(&path, &by_admin).await.expect(200);

    let mut own = patient_body(1);
    own["medicalHistory"] = json!("nothing to report");
    let token = Some(account.token.as_str());
    app.call(token, Method::PUT, &path, Some(&own))
        .await
        .expect(403);
    // Left out or repeated, the stored history is kept while the rest changes.
    own["address"] = json!("2 New Road");
    own.as_object_mut().unwrap().remove("medicalHistory");
    let updated = app.call(token, Method::PUT, &path, Some(&own)).await;
    let updated = updated.expect(200);
    assert_eq!(updated.body["medicalHistory"], "asthma");
    assert_eq!(updated.body["address"], "2 New Road");
    own["medicalHistory"] = json!("asthma");
    app.call(token, Method::PUT, &path, Some(&own))
        .await
        .expect(200);
    let stored = app.get(&path).await.expect(200);
    assert_eq!(stored.body["medicalHistory"], "asthma");
}

async fn an_account_holders_email_changes_only_through_identity(app: &TestApp) {
    let account = app.register_patient(1).await;
    let id = account.patient_id.unwrap();
    let path = format!("/api/patients/{id}");
    let mut moved = patient_body(1);
    moved["email"] = json!("admin@example.org");
    let token = Some(account.token.as_str());
    for caller in [token, Some(app.admin_token.as_str())] {
        let refused = app.call(caller, Method::PUT, &path, Some(&moved)).await;
        let refused = refused.expect(400);
        assert_eq!(refused.error_fields(), ["email"]);
        assert!(
            refused.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("identity")
        );
    }
    let stored = app.get(&path).await.expect(200);
    assert_eq!(stored.body["email"], "patient1@example.org");
    app.login("patient1@example.org", &crate::helpers::password(1))
        .await
        .expect(200);

    // A profile without an account has no login e-mail to keep.
    let profile = app.create_patient(2).await;
    let mut renamed = patient_body(2);
    renamed["email"] = json!("someone.else@example.org");
    let updated = app.put(&format!("/api/patients/{profile}"), &renamed).await;
    assert_eq!(
        updated.expect(200).body["email"],
        "someone.else@example.org"
    );
}

async fn a_bad_stored_value_is_a_server_error_not_a_default(app: &TestApp) {
    let id = app.create_patient(1).await;
    let mut conn = AnyConnection::connect(&app.database_urls[&Service::Patients])
        .await
        .unwrap();
    sqlx::query("UPDATE patients SET dob = 'not a date'")
        .execute(&mut conn)
        .await
        .unwrap();
    let reply = app.get(&format!("/api/patients/{id}")).await.expect(500);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    app.get("/api/patients").await.expect(500);
}

on_both_backends!(
    a_bad_stored_value_is_a_server_error_not_a_default,
    a_patient_does_not_write_their_medical_history,
    an_account_holders_email_changes_only_through_identity,
    registers_a_patient_with_a_normalized_phone,
    refuses_invalid_patients_naming_every_field,
    refuses_a_duplicate_email_case_insensitively,
    updates_a_patient_fully,
    lists_and_searches_patients,
    books_through_the_patient_service,
);
