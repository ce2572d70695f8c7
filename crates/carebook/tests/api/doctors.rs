use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::helpers::{TestApp, doctor_body, monday_at, next_monday};

const EVERY_DAY: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// The next date on which `zone` changes its offset in the given direction.
fn next_transition(zone: &TimeZone, forward: bool) -> Date {
    zone.following(Timestamp::now())
        .find(|t| {
            let before = zone.to_offset(t.timestamp() - 1.hour());
            (t.offset() > before) == forward
        })
        .map(|t| t.timestamp().to_zoned(zone.clone()).date())
        .unwrap()
}

async fn doctor_in(app: &TestApp, n: u32, zone: &str, blocks: &[(&str, &str)], slot: u32) -> i64 {
    let mut body = doctor_body(n);
    body["timezone"] = json!(zone);
    let id = app.post("/api/doctors", &body).await.expect(201).id();
    let weekly: Vec<Value> = EVERY_DAY
        .iter()
        .flat_map(|day| {
            blocks
                .iter()
                .map(move |(s, e)| json!({"day": day, "start": s, "end": e}))
        })
        .collect();
    app.put(
        &format!("/api/doctors/{id}/schedule"),
        &json!({"slotMinutes": slot, "weekly": weekly}),
    )
    .await
    .expect(200);
    id
}

async fn slot_starts(app: &TestApp, doctor: i64, from: Date, to: Date) -> Vec<Timestamp> {
    let slots = app
        .get(&format!("/api/doctors/{doctor}/slots?from={from}&to={to}"))
        .await
        .expect(200);
    slots
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// 09:00 local is 09:00 local on every day of a week with a DST change, in a zone west and a
/// zone east of UTC, in both directions; the UTC instant moves by the offset change.
async fn slots_follow_local_time_across_dst_changes(app: &TestApp) {
    for (n, zone_name) in [(1, "America/New_York"), (2, "Europe/Berlin")] {
        let zone = TimeZone::get(zone_name).unwrap();
        let doctor = doctor_in(app, n, zone_name, &[("09:00", "10:00")], 60).await;
        for forward in [true, false] {
            let change = next_transition(&zone, forward);
            let (from, to) = (change - 3.days(), change + 3.days());
            let starts = slot_starts(app, doctor, from, to).await;
            assert_eq!(starts.len(), 7, "{zone_name} around {change}");
            for (day, start) in (0..7).map(|i| from + i.days()).zip(&starts) {
                let expected = day
                    .at(9, 0, 0, 0)
                    .to_zoned(zone.clone())
                    .unwrap()
                    .timestamp();
                assert_eq!(*start, expected, "{zone_name} on {day}");
            }
            let shift = starts[6].as_second() - starts[0].as_second() - 6 * 86_400;
            assert_eq!(
                shift,
                if forward { -3600 } else { 3600 },
                "{zone_name} {change}"
            );
        }
    }
}

/// Working hours spanning the change: the skipped hour offers nothing, the repeated hour is
/// offered once, and no two slots overlap.
async fn slots_skip_the_gap_and_never_double_the_fold(app: &TestApp) {
    for (n, zone_name) in [(1, "America/New_York"), (2, "Europe/Berlin")] {
        let zone = TimeZone::get(zone_name).unwrap();
        let doctor = doctor_in(app, n, zone_name, &[("00:00", "04:00")], 60).await;
        let spring = next_transition(&zone, true);
        let local: Vec<String> = slot_starts(app, doctor, spring, spring)
            .await
            .iter()
            .map(|t| t.to_zoned(zone.clone()).strftime("%H:%M").to_string())
            .collect();
        assert_eq!(local, ["00:00", "01:00", "03:00"], "{zone_name} {spring}");

        let autumn = next_transition(&zone, false);
        let starts = slot_starts(app, doctor, autumn, autumn).await;
        assert!(
            starts
                .windows(2)
                .all(|w| w[1].as_second() - w[0].as_second() >= 3600)
        );
        let hours: Vec<String> = starts
            .iter()
            .map(|t| t.to_zoned(zone.clone()).strftime("%H:%M").to_string())
            .collect();
        assert_eq!(
            hours.first().map(String::as_str),
            Some("00:00"),
            "{zone_name} {autumn}"
        );
        assert!(hours.len() >= 4, "{zone_name} {autumn}: {hours:?}");
    }
}

async fn manages_doctor_profiles(app: &TestApp) {
    let mut body = doctor_body(1);
    let speciality = body.as_object_mut().unwrap().remove("speciality").unwrap();
    body["specialization"] = speciality;
    body["gender"] = json!("FEMALE");
    let created = app.post("/api/doctors", &body).await.expect(201);
    assert_eq!(created.body["speciality"], "General Practice");
    assert_eq!(created.body["slotMinutes"], 30);
    assert_eq!(created.body["available"], true);
    let id = created.id();
    assert_eq!(
        app.get(&format!("/api/doctors/{id}"))
            .await
            .expect(200)
            .body,
        created.body
    );

    let mut cardio = doctor_body(2);
    cardio["speciality"] = json!("Cardiology");
    cardio["available"] = json!(false);
    app.post("/api/doctors", &cardio).await.expect(201);
    app.post("/api/doctors", &doctor_body(1)).await.expect(409);

    let total = |r: crate::helpers::Reply| r.expect(200).body["total"].as_i64().unwrap();
    assert_eq!(total(app.get("/api/doctors").await), 2);
    assert_eq!(
        total(app.get("/api/doctors?speciality=cardiology").await),
        1
    );
    assert_eq!(total(app.get("/api/doctors?available=true").await), 1);
    assert_eq!(total(app.get("/api/doctors?q=test%202").await), 1);

    let mut changed = doctor_body(1);
    changed["speciality"] = json!("Paediatrics");
    changed["slotMinutes"] = json!(20);
    let updated = app
        .put(&format!("/api/doctors/{id}"), &changed)
        .await
        .expect(200);
    assert_eq!(updated.body["speciality"], "Paediatrics");
    assert_eq!(updated.body["slotMinutes"], 20);
    app.put("/api/doctors/4242", &changed).await.expect(404);
    app.get("/api/doctors/4242").await.expect(404);
}

async fn refuses_invalid_doctors_and_schedules(app: &TestApp) {
    let bad = json!({"name": "", "email": "x", "phone": "1", "speciality": " ",
                     "slotMinutes": 1, "timezone": "Mars/Olympus"});
    let reply = app.post("/api/doctors", &bad).await.expect(400);
    for field in [
        "name",
        "email",
        "phone",
        "speciality",
        "slotMinutes",
        "timezone",
    ] {
        assert!(
            reply.error_fields().iter().any(|f| f == field),
            "{field}: {:?}",
            reply.error_fields()
        );
    }
    app.post("/api/doctors", &json!({"name": "x", "gender": "ROBOT"}))
        .await
        .expect(400);
    assert_eq!(
        app.get("/api/doctors").await.body["total"],
        0,
        "nothing was created"
    );

    let id = app.create_doctor(1).await;
    let path = format!("/api/doctors/{id}/schedule");
    for weekly in [
        json!([{"day": "MONDAY", "start": "9am", "end": "17:00"}]),
        json!([{"day": "MONDAY", "start": "17:00", "end": "09:00"}]),
        json!([{"day": "MONDAY", "start": "09:00", "end": "12:00"},
               {"day": "MONDAY", "start": "11:00", "end": "13:00"}]),
    ] {
        app.put(&path, &json!({"slotMinutes": 30, "weekly": weekly}))
            .await
            .expect(400);
    }
    let default = app.get(&path).await.expect(200);
    assert_eq!(
        default.body["weekly"].as_array().unwrap().len(),
        5,
        "Mon–Fri default"
    );
    app.put(
        "/api/doctors/4242/schedule",
        &json!({"slotMinutes": 30, "weekly": []}),
    )
    .await
    .expect(404);
}

async fn slots_exclude_time_off_and_bookings(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let day = next_monday();
    let all = slot_starts(app, doctor, day, day).await;
    assert_eq!(all.len(), 16, "Mon 09:00–17:00 in 30-minute slots");

    app.book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201);
    let off = json!({"from": monday_at("12:00"), "to": monday_at("14:00"), "reason": "training"});
    let created = app
        .post(&format!("/api/doctors/{doctor}/time-off"), &off)
        .await
        .expect(201);
    assert_eq!(created.body["reason"], "training");
    let listed = app
        .get(&format!("/api/doctors/{doctor}/time-off"))
        .await
        .expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    let free = slot_starts(app, doctor, day, day).await;
    assert_eq!(free.len(), 16 - 1 - 4);
    assert!(!free.contains(&monday_at("09:00").parse().unwrap()));
    assert!(!free.contains(&monday_at("12:30").parse().unwrap()));
    // Booking into time off is refused.
    app.book(patient, doctor, &monday_at("13:00"))
        .await
        .expect(409);

    let inverted = json!({"from": monday_at("14:00"), "to": monday_at("12:00")});
    app.post(&format!("/api/doctors/{doctor}/time-off"), &inverted)
        .await
        .expect(400);
    let range = format!(
        "/api/doctors/{doctor}/slots?from={}&to={}",
        day,
        day + 100.days()
    );
    app.get(&range).await.expect(400);
    app.get(&format!("/api/doctors/{doctor}/slots?from=soon&to=later"))
        .await
        .expect(400);
    app.get(&format!("/api/doctors/4242/slots?from={day}&to={day}"))
        .await
        .expect(404);
}

async fn answers_availability_for_the_appointment_service(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let start = monday_at("16:30").replace(':', "%3A");
    let fits = app
        .get(&format!("/api/doctors/{doctor}/availability?start={start}"))
        .await
        .expect(200);
    assert_eq!(fits.body["withinHours"], true);
    assert_eq!(fits.body["end"], monday_at("17:00"));
    let long = format!("/api/doctors/{doctor}/availability?start={start}&durationMinutes=60");
    assert_eq!(app.get(&long).await.expect(200).body["withinHours"], false);
    app.get(&format!("/api/doctors/4242/availability?start={start}"))
        .await
        .expect(404);
}

async fn decisions_check_their_input(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let id = app
        .book(patient, doctor, &monday_at("09:00"))
        .await
        .expect(201)
        .id();
    let approve = "/api/doctors/appointments/approve";
    let reply = app
        .post(approve, &json!({"appointmentId": id, "status": "REJECTED"}))
        .await
        .expect(400);
    assert_eq!(reply.error_fields(), ["status"]);
    let reply = app
        .post(approve, &json!({"appointmentId": 987654}))
        .await
        .expect(422);
    assert_eq!(reply.error_fields(), ["appointmentId"]);
    app.post(approve, &json!({"appointmentId": id, "status": "APPROVED"}))
        .await
        .expect(200);
    app.post(
        "/api/doctors/appointments/reject",
        &json!({"appointmentId": id}),
    )
    .await
    .expect(409);
}

on_both_backends!(
    slots_follow_local_time_across_dst_changes,
    slots_skip_the_gap_and_never_double_the_fold,
    manages_doctor_profiles,
    refuses_invalid_doctors_and_schedules,
    slots_exclude_time_off_and_bookings,
    answers_availability_for_the_appointment_service,
    decisions_check_their_input,
);
