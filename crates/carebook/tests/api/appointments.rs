use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Account, Reply, TestApp, monday_at, next_monday};

async fn books_approves_and_cancels_with_events(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let booked = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201);
    let id = booked.id();
    assert_eq!(booked.body["status"], "REQUESTED");
    assert_eq!(booked.body["durationMinutes"], 30);
    assert_eq!(booked.body["endDate"], monday_at("09:30"));

    let approved = app
        .post(
            "/api/doctors/appointments/approve",
            &json!({"appointmentId": id}),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "APPROVED");

    let cancelled = app
        .delete(&format!("/api/appointments/{id}?reason=feeling%20better"))
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(cancelled.body["cancellationReason"], "feeling better");
    assert_eq!(cancelled.body["lateCancellation"], false);

    // The cancelled time is free again.
    app.book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201);
    assert_eq!(
        app.outbox_types(Service::Appointments).await,
        [
            "AppointmentRequested",
            "AppointmentApproved",
            "AppointmentCancelled",
            "AppointmentRequested"
        ]
    );
}

async fn enforces_the_status_lifecycle(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let id = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    let at = |action: &str| format!("/api/appointments/{id}/{action}");

    app.post(&at("complete"), &json!({})).await.expect(409);
    app.post(&at("no-show"), &json!({})).await.expect(409);
    let rejected = app
        .post(
            "/api/doctors/appointments/reject",
            &json!({"appointmentId": id, "reason": "fully booked"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["status"], "REJECTED");
    assert_eq!(rejected.body["rejectionReason"], "fully booked");
    app.post(
        "/api/doctors/appointments/approve",
        &json!({"appointmentId": id}),
    )
    .await
    .expect(409);
    app.delete(&format!("/api/appointments/{id}"))
        .await
        .expect(409);

    let second = app
        .book_approved(patient, doctor, &monday_at("10:00"))
        .await;
    let done = app
        .post(&format!("/api/appointments/{second}/complete"), &json!({}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "COMPLETED");
    app.post(&format!("/api/appointments/{second}/no-show"), &json!({}))
        .await
        .expect(409);

    let third = app
        .book_approved(patient, doctor, &monday_at("11:00"))
        .await;
    let absent = app
        .post(&format!("/api/appointments/{third}/no-show"), &json!({}))
        .await
        .expect(200);
    assert_eq!(absent.body["status"], "NO_SHOW");
    app.post("/api/appointments/999999/approve", &json!({}))
        .await
        .expect(404);
}

async fn refuses_bookings_the_schedule_or_references_do_not_allow(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    // Outside the default Mon–Fri 09:00–17:00.
    app.book(patient, doctor, &monday_at("08:00"))
        .await
        .expect(409);
    app.book(patient, doctor, &monday_at("16:45"))
        .await
        .expect(409);
    // Unknown patient and doctor are both named.
    let reply = app.book(777, 888, &monday_at("10:00")).await.expect(422);
    assert_eq!(reply.error_fields(), ["patientId", "doctorId"]);
    // Past dates and bad fields are 400 with every field.
    let bad = json!({"patientId": 0, "doctorId": doctor, "appointmentDate": "2001-01-01T10:00:00Z",
                     "durationMinutes": 1000});
    let reply = app.post("/api/appointments", &bad).await.expect(400);
    assert_eq!(
        reply.error_fields(),
        ["patientId", "appointmentDate", "durationMinutes"]
    );
    app.post("/api/appointments", &json!({"patientId": patient}))
        .await
        .expect(400);
    // A doctor who is not taking bookings.
    let mut away = crate::helpers::doctor_body(2);
    away["available"] = json!(false);
    let away = app.post("/api/doctors", &away).await.expect(201).id();
    app.book(patient, away, &monday_at("10:00"))
        .await
        .expect(409);

    let list = app.get("/api/appointments").await.expect(200);
    assert_eq!(list.body["total"], 0, "refused bookings changed nothing");
    assert!(app.outbox_types(Service::Appointments).await.is_empty());
}

async fn auto_approving_doctors_confirm_at_once(app: &TestApp) {
    let mut body = crate::helpers::doctor_body(1);
    body["autoApprove"] = json!(true);
    let doctor = app.post("/api/doctors", &body).await.expect(201).id();
    let patient = app.create_patient(1).await;
    let booked = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201);
    assert_eq!(booked.body["status"], "APPROVED");
    assert_eq!(
        app.outbox_types(Service::Appointments).await,
        ["AppointmentApproved"]
    );
}

async fn reschedules_and_modifies(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let (a, b) = (app.create_patient(1).await, app.create_patient(2).await);
    let id = app
        .book(a, doctor, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    app.book(b, doctor, &monday_at("10:00")).await.expect(201);
    let path = format!("/api/appointments/{id}");

    let moved = app
        .put(
            &path,
            &json!({"appointmentDate": monday_at("11:00"), "durationMinutes": 45}),
        )
        .await
        .expect(200);
    assert_eq!(moved.body["appointmentDate"], monday_at("11:00"));
    assert_eq!(moved.body["endDate"], monday_at("11:45"));
    app.put(&path, &json!({"appointmentDate": monday_at("10:15")}))
        .await
        .expect(409);
    app.put(&path, &json!({"appointmentDate": monday_at("18:00")}))
        .await
        .expect(409);
    app.put(&path, &json!({"appointmentDate": "yesterday"}))
        .await
        .expect(400);
    let edited = app
        .put(&path, &json!({"description": "follow-up"}))
        .await
        .expect(200);
    assert_eq!(edited.body["description"], "follow-up");
    assert_eq!(edited.body["appointmentDate"], monday_at("11:00"));
    app.put("/api/appointments/424242", &json!({}))
        .await
        .expect(404);
    assert_eq!(
        app.outbox_types(Service::Appointments).await,
        [
            "AppointmentRequested",
            "AppointmentRequested",
            "AppointmentRescheduled"
        ]
    );
}

async fn lists_with_filters(app: &TestApp) {
    let (d1, d2) = (app.create_doctor(1).await, app.create_doctor(2).await);
    let (p1, p2) = (app.create_patient(1).await, app.create_patient(2).await);
    let first = app.book(p1, d1, &monday_at("09:00")).await.expect(201).id();
    app.book(p2, d1, &monday_at("10:00")).await.expect(201);
    app.book(p2, d2, &monday_at("11:00")).await.expect(201);
    app.post(&format!("/api/appointments/{first}/approve"), &json!({}))
        .await
        .expect(200);

    let total = |reply: crate::helpers::Reply| reply.expect(200).body["total"].as_i64().unwrap();
    assert_eq!(total(app.get("/api/appointments").await), 3);
    assert_eq!(
        total(app.get(&format!("/api/appointments?doctorId={d1}")).await),
        2
    );
    assert_eq!(
        total(app.get(&format!("/api/appointments?patientId={p2}")).await),
        2
    );
    assert_eq!(total(app.get("/api/appointments?status=APPROVED").await), 1);
    let from = monday_at("09:30").replace(':', "%3A");
    assert_eq!(
        total(app.get(&format!("/api/appointments?from={from}")).await),
        2
    );
    assert_eq!(
        total(app.get(&format!("/api/appointments?to={from}")).await),
        1
    );
    app.get("/api/appointments?status=LOST").await.expect(400);
    app.get("/api/appointments?from=soon").await.expect(400);

    let one = app
        .get(&format!("/api/appointments/{first}"))
        .await
        .expect(200);
    assert_eq!(one.body["status"], "APPROVED");
    app.get("/api/appointments/424242").await.expect(404);
}

async fn idempotency_key_replays_the_first_answer(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let body =
        json!({"patientId": patient, "doctorId": doctor, "appointmentDate": monday_at("09:00")});
    let send = |body: serde_json::Value| {
        app.http
            .post(format!("{}/api/appointments", app.gateway))
            .bearer_auth(&app.admin_token)
            .header("Idempotency-Key", "booking-123")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let retry = send(body.clone()).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.json::<serde_json::Value>().await.unwrap(), first);

    let mut other = body.clone();
    other["appointmentDate"] = json!(monday_at("10:00"));
    assert_eq!(send(other).await.unwrap().status(), 409);
    assert_eq!(app.get("/api/appointments").await.body["total"], 1);
}

async fn busy_intervals_cover_only_active_appointments(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let kept = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    let dropped = app
        .book(patient, doctor, &monday_at("10:00"))
        .await
        .expect(201)
        .id();
    app.delete(&format!("/api/appointments/{dropped}"))
        .await
        .expect(200);
    let day = crate::helpers::next_monday();
    let busy = app
        .get(&format!(
            "/api/appointments/busy?doctorId={doctor}&from={day}T00:00:00Z&to={day}T23:59:00Z"
        ))
        .await
        .expect(200);
    assert_eq!(
        busy.body,
        json!([{"start": monday_at("09:00"), "end": monday_at("09:30")}])
    );
    assert!(kept > 0);
}

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
    books_approves_and_cancels_with_events,
    enforces_the_status_lifecycle,
    refuses_bookings_the_schedule_or_references_do_not_allow,
    auto_approving_doctors_confirm_at_once,
    reschedules_and_modifies,
    lists_with_filters,
    idempotency_key_replays_the_first_answer,
    busy_intervals_cover_only_active_appointments,
);
