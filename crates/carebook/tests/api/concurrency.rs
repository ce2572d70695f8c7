//! The database, not the application, decides who gets a contested slot.

use futures::future::join_all;
use platform::config::Service;
use serde_json::json;

use crate::helpers::{TestApp, monday_at};

async fn fifty_concurrent_bookings_of_one_slot_yield_one_appointment(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let mut patients = Vec::new();
    for n in 0..50 {
        patients.push(app.create_patient(n).await);
    }
    let start = monday_at("09:00");
    let attempts = patients
        .iter()
        .map(|patient| app.book(*patient, doctor, &start));
    let replies = join_all(attempts).await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 49),
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );

    let active = app
        .get(&format!("/api/appointments?doctorId={doctor}&size=100"))
        .await
        .expect(200);
    assert_eq!(active.body["total"], 1);
    let events = app.outbox_types(Service::Appointments).await;
    assert_eq!(events, ["AppointmentRequested"], "losers wrote no events");
}

async fn overlapping_but_unequal_intervals_are_refused(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let other_doctor = app.create_doctor(2).await;
    let (a, b) = (app.create_patient(1).await, app.create_patient(2).await);
    let long = json!({"patientId": a, "doctorId": doctor, "appointmentDate": monday_at("10:00"),
                      "durationMinutes": 60});
    app.post("/api/appointments", &long).await.expect(201);

    // Starts inside, ends inside, and encloses the booked hour: all refused for the doctor.
    for (start, minutes) in [("10:30", 60), ("09:45", 30), ("09:30", 120), ("10:15", 15)] {
        let overlapping = json!({"patientId": b, "doctorId": doctor,
                                 "appointmentDate": monday_at(start), "durationMinutes": minutes});
        let reply = app
            .post("/api/appointments", &overlapping)
            .await
            .expect(409);
        assert!(reply.body["detail"].as_str().unwrap().contains("doctor"));
    }
    // The same patient cannot be with another doctor at an overlapping time either.
    let elsewhere = json!({"patientId": a, "doctorId": other_doctor,
                           "appointmentDate": monday_at("10:45"), "durationMinutes": 30});
    let reply = app.post("/api/appointments", &elsewhere).await.expect(409);
    assert!(reply.body["detail"].as_str().unwrap().contains("patient"));

    // Touching intervals are fine: [10:00, 11:00) and [11:00, 11:30) do not overlap.
    app.book(b, doctor, &monday_at("11:00")).await.expect(201);
    app.book(b, doctor, &monday_at("09:30")).await.expect(201);
}

async fn concurrent_reschedules_onto_one_time_leave_one_winner(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let patient = app.create_patient(n).await;
        let start = monday_at(&format!("{:02}:00", 9 + n));
        ids.push(app.book(patient, doctor, &start).await.expect(201).id());
    }
    let target = json!({"appointmentDate": monday_at("16:30")});
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/appointments/{id}"))
        .collect();
    let replies = join_all(paths.iter().map(|path| app.put(path, &target))).await;
    let moved = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        moved,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 409));
}

on_both_backends!(
    fifty_concurrent_bookings_of_one_slot_yield_one_appointment,
    overlapping_but_unequal_intervals_are_refused,
    concurrent_reschedules_onto_one_time_leave_one_winner,
);
