use platform::config::Service;
use serde_json::json;

use crate::helpers::{TestApp, monday_at};

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

/// Availability is read fresh for every booking: a change of hours holds for the very next one.
async fn a_change_of_hours_applies_to_the_next_booking(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let (first, second) = (app.create_patient(1).await, app.create_patient(2).await);
    let hours = |start: &str, end: &str| json!({"slotMinutes": 30, "weekly": [{"day": "MONDAY", "start": start, "end": end}]});
    let schedule = format!("/api/doctors/{doctor}/schedule");
    app.book(first, doctor, &monday_at("08:00"))
        .await
        .expect(409);
    app.put(&schedule, &hours("07:00", "12:00"))
        .await
        .expect(200);
    app.book(first, doctor, &monday_at("08:00"))
        .await
        .expect(201);

    app.put(&schedule, &hours("13:00", "17:00"))
        .await
        .expect(200);
    app.book(second, doctor, &monday_at("10:00"))
        .await
        .expect(409);
    app.book(second, doctor, &monday_at("13:00"))
        .await
        .expect(201);
}

on_both_backends!(
    books_approves_and_cancels_with_events,
    enforces_the_status_lifecycle,
    refuses_bookings_the_schedule_or_references_do_not_allow,
    auto_approving_doctors_confirm_at_once,
    reschedules_and_modifies,
    lists_with_filters,
    idempotency_key_replays_the_first_answer,
    busy_intervals_cover_only_active_appointments,
    a_change_of_hours_applies_to_the_next_booking,
);
