//! Reminders against a clock the test moves: each is sent once when due, a cancelled
//! appointment's never.

use jiff::{SignedDuration, Timestamp};
use platform::config::Service;
use platform::time::Clock;
use serde_json::json;

use super::{Mode, eventually, in_both_modes, settled_notifications, spawn, stored_notifications};
use crate::helpers::{TestApp, monday_at};

async fn due_reminders_are_sent_once_and_cancelled_ones_never(mode: Mode) {
    let clock = Clock::manual(Timestamp::now());
    let worker_clock = clock.clone();
    let (app, _broker) = spawn(mode, |setup| {
        setup.notifications(move |config| {
            config.clock = worker_clock.clone();
            config.reminder_offsets_minutes = vec![24 * 60, 2 * 60];
        })
    })
    .await;
    let doctor = app.create_doctor(1).await;
    let (kept, cancelled) = (app.create_patient(1).await, app.create_patient(2).await);
    let kept_at = monday_at("10:00");
    let first = app.book(kept, doctor, &kept_at).await.expect(201).id();
    let second = app
        .book(cancelled, doctor, &monday_at("11:00"))
        .await
        .expect(201)
        .id();
    for id in [first, second] {
        app.post(&format!("/api/appointments/{id}/approve"), &json!({}))
            .await
            .expect(200);
    }
    app.delete(&format!("/api/appointments/{second}"))
        .await
        .expect(200);
    // Requests and confirmations to the doctor, confirmations to both patients, the
    // cancellation to the doctor and the patient.
    settled_notifications(&app, 8).await;

    let start: Timestamp = kept_at.parse().unwrap();
    let mut step = 0;
    let mut move_to = async |at: Timestamp| {
        clock.set(at);
        step += 1;
        barrier(&app, kept, step).await;
        reminders_of(&app).await
    };
    let minute = SignedDuration::from_mins(1);
    let day = SignedDuration::from_hours(24);
    assert_eq!(move_to(start - day - minute).await, [] as [i64; 0]);
    assert_eq!(move_to(start - day + minute).await, [kept]);
    // Past the 2-hour reminder of the kept appointment and the 24-hour one of the cancelled.
    assert_eq!(
        move_to(start - SignedDuration::from_mins(90)).await,
        [kept, kept]
    );
    assert_eq!(move_to(start + day).await, [kept, kept]);
}

/// Patients who got a reminder, one entry per reminder.
async fn reminders_of(app: &TestApp) -> Vec<i64> {
    let rows = stored_notifications(&app.database_urls[&Service::Notifications]).await;
    let mut patients: Vec<i64> = rows
        .iter()
        .filter(|r| r.kind == "REMINDER")
        .map(|r| r.recipient.1)
        .collect();
    patients.sort();
    patients
}

/// Returns once the worker has made a whole pass at the clock's current time: it sends a
/// message created now, and each pass looks for due reminders before it sends.
async fn barrier(app: &TestApp, patient: i64, step: u32) {
    let message = json!({"recipientId": patient, "message": format!("barrier {step}")});
    let id = app
        .post("/api/notifications", &message)
        .await
        .expect(202)
        .id();
    let url = app.database_urls[&Service::Notifications].clone();
    eventually(&format!("message {id} to be sent"), || {
        let url = url.clone();
        async move {
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            let (status,): (String,) =
                sqlx::query_as("SELECT status FROM notifications WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            (status == "SENT").then_some(())
        }
    })
    .await;
}

in_both_modes!(due_reminders_are_sent_once_and_cancelled_ones_never);
