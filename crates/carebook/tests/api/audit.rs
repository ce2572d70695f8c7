//! Every access to a patient's data leaves an audit row: who, whose, what, outcome. The rows
//! themselves hold no personal data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, monday_at, patient_body};

fn actions(trail: &Value, actor: i64) -> Vec<(String, String, String)> {
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actorId"] == actor)
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("action"), text("resource"), text("outcome"))
        })
        .collect()
}

async fn patient_data_accesses_are_audited_without_personal_data(app: &TestApp) {
    let patient = app.register_patient(1).await;
    let intruder = app.register_patient(2).await;
    let doctor = app.register_doctor(1).await;
    let (patient_id, doctor_id) = (patient.patient_id.unwrap(), doctor.doctor_id.unwrap());

    // The patient books and reads their profile; the doctor reads it; another patient tries.
    let booking = json!({"patientId": patient_id, "doctorId": doctor_id, "appointmentDate": monday_at("09:00")});
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
    // Approved, the appointment is a care relationship: the doctor may read the patient.
    app.post(
        &format!("/api/appointments/{appointment}/approve"),
        &json!({}),
    )
    .await
    .expect(200);
    let profile = format!("/api/patients/{patient_id}");
    app.call(Some(&patient.token), Method::GET, &profile, None)
        .await
        .expect(200);
    app.call(Some(&doctor.token), Method::GET, &profile, None)
        .await
        .expect(200);
    app.call(Some(&intruder.token), Method::GET, &profile, None)
        .await
        .expect(403);
    let visit = format!("/api/appointments/{appointment}");
    app.call(Some(&doctor.token), Method::GET, &visit, None)
        .await
        .expect(200);

    let trail = app
        .get(&format!("/api/audit?patientId={patient_id}&size=100"))
        .await
        .expect(200)
        .body;
    let resource = format!("appointment/{appointment}");
    let patient_resource = format!("patient/{patient_id}");
    let expect = |who: i64, action: &str, res: &str, outcome: &str| {
        let row = (action.to_owned(), res.to_owned(), outcome.to_owned());
        assert!(
            actions(&trail, who).contains(&row),
            "no {row:?} by {who} in {trail}"
        );
    };
    expect(patient.user_id, "CREATE", &resource, "SUCCESS");
    expect(patient.user_id, "READ", &patient_resource, "SUCCESS");
    expect(doctor.user_id, "READ", &patient_resource, "SUCCESS");
    expect(doctor.user_id, "READ", &resource, "SUCCESS");
    expect(intruder.user_id, "READ", &patient_resource, "DENIED");
    for entry in trail["items"].as_array().unwrap() {
        assert!(!entry["requestId"].as_str().unwrap().is_empty());
        assert!(entry["endpoint"].as_str().unwrap().contains("/api/"));
    }

    // Nothing personal in the whole trail.
    let everything = app
        .get("/api/audit?size=100")
        .await
        .expect(200)
        .body
        .to_string();
    let details = patient_body(1);
    for field in ["name", "email", "phone", "address"] {
        let value = details[field].as_str().unwrap();
        assert!(
            !everything.contains(value),
            "the trail contains the patient's {field}"
        );
    }
    assert!(!everything.contains("+44"), "no phone numbers");
    assert!(
        !everything.contains("check-up"),
        "no appointment descriptions"
    );
}

/// The trail's entries written for one request.
async fn entries_of(app: &TestApp, request_id: &str) -> Vec<Value> {
    let trail = app.get("/api/audit?size=100").await.expect(200).body;
    assert!(
        trail["total"].as_i64().unwrap() <= 100,
        "the trail outgrew one page"
    );
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["requestId"] == request_id)
        .cloned()
        .collect()
}

/// Reads sent at once are each on the trail exactly once (their rows are committed together),
/// and a listed page leaves one row per item it returned.
async fn concurrent_reads_and_a_page_are_each_audited_once(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let mut appointments = Vec::new();
    for (n, time) in [(1, "09:00"), (2, "09:30"), (3, "10:00")] {
        let patient = app.create_patient(n).await;
        let reply = app.book(patient, doctor, &monday_at(time)).await;
        appointments.push(reply.expect(201).id());
    }

    let reads = (0..24).map(|n| {
        let id = appointments[n % appointments.len()];
        app.http
            .get(format!("{}/api/appointments/{id}", app.gateway))
            .bearer_auth(&app.admin_token)
            .header("x-request-id", format!("concurrent-read-{n}"))
            .send()
    });
    for answer in futures::future::join_all(reads).await {
        assert_eq!(answer.unwrap().status(), 200);
    }
    for n in 0..24 {
        let entries = entries_of(app, &format!("concurrent-read-{n}")).await;
        assert_eq!(entries.len(), 1, "read {n}: {entries:?}");
        let id = appointments[n % appointments.len()];
        assert_eq!(entries[0]["resource"], format!("appointment/{id}"));
        assert_eq!(entries[0]["action"], "READ");
    }

    let page = app
        .http
        .get(format!(
            "{}/api/appointments?doctorId={doctor}&size=2",
            app.gateway
        ))
        .bearer_auth(&app.admin_token)
        .header("x-request-id", "listed-page")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page: Value = page.json().await.unwrap();
    let mut listed: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("appointment/{}", a["id"]))
        .collect();
    assert_eq!(listed.len(), 2);
    let mut audited: Vec<String> = entries_of(app, "listed-page")
        .await
        .iter()
        .inspect(|e| {
            assert_eq!(
                (&e["action"], &e["outcome"]),
                (&json!("LIST"), &json!("SUCCESS"))
            )
        })
        .map(|e| e["resource"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    audited.sort();
    assert_eq!(audited, listed);
}

on_both_backends!(
    patient_data_accesses_are_audited_without_personal_data,
    concurrent_reads_and_a_page_are_each_audited_once,
);
