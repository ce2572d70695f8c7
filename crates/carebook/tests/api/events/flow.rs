//! Book, approve, cancel: the right people hear of it, in the app, by e-mail and by SMS.

use std::time::Duration;

use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Mode, assert_each_once_and_sent, in_both_modes, settled_notifications, spawn};
use crate::fixtures::sms::SmsProvider;
use crate::fixtures::smtp::SmtpServer;
use crate::helpers::monday_at;

async fn booking_approval_and_cancellation_reach_both_people_on_every_channel(mode: Mode) {
    let smtp = SmtpServer::start().await;
    let sms = SmsProvider::start().await;
    let (smtp_url, sms_url) = (smtp.url(), sms.url().to_owned());
    let (sid, token) = (sms.account_sid().to_owned(), sms.auth_token().to_owned());
    let (app, _broker) = spawn(mode, |setup| {
        setup.notifications(move |config| {
            config.smtp = Some(notifications::SmtpConfig {
                url: smtp_url.clone(),
                from: "carebook <clinic@carebook.test>".to_owned(),
            });
            config.sms = Some(notifications::SmsConfig {
                base_url: sms_url.clone(),
                account_sid: sid.clone(),
                auth_token: token.clone(),
                from: "+15005550006".to_owned(),
            });
        })
    })
    .await;
    let doctor = app.register_doctor(1).await;
    let patient = app.register_patient(1).await;
    let (doctor_id, patient_id) = (doctor.doctor_id.unwrap(), patient.patient_id.unwrap());

    let booking = json!({"patientId": patient_id, "doctorId": doctor_id,
                         "appointmentDate": monday_at("10:00"), "description": "check-up"});
    let id = app
        .call(
            Some(&patient.token),
            Method::POST,
            "/api/appointments",
            Some(&booking),
        )
        .await
        .expect(201)
        .id();
    app.call(
        Some(&doctor.token),
        Method::POST,
        "/api/doctors/appointments/approve",
        Some(&json!({"appointmentId": id})),
    )
    .await
    .expect(200);
    app.call(
        Some(&patient.token),
        Method::DELETE,
        &format!("/api/appointments/{id}"),
        None,
    )
    .await
    .expect(200);

    // Doctor: request to approve, confirmation, cancellation. Patient: confirmation,
    // cancellation. Each on three channels.
    let rows = settled_notifications(&app, 15).await;
    assert_eq!(rows.len(), 15, "{rows:#?}");
    assert_each_once_and_sent(&rows);
    let kinds_of = |who: &str, id: i64| {
        let mut kinds: Vec<String> = rows
            .iter()
            .filter(|r| r.recipient == (who.to_owned(), id) && r.channel == "IN_APP")
            .map(|r| r.kind.clone())
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(
        kinds_of("DOCTOR", doctor_id),
        ["APPROVAL_REQUEST", "CANCELLATION", "CONFIRMATION"]
    );
    assert_eq!(
        kinds_of("PATIENT", patient_id),
        ["CANCELLATION", "CONFIRMATION"]
    );

    // In the app, each sees their own, rendered.
    let own = app
        .call(
            Some(&patient.token),
            Method::GET,
            "/api/notifications?size=100",
            None,
        )
        .await
        .expect(200);
    let items = own.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{}", own.body);
    assert!(
        items
            .iter()
            .all(|n| n["recipientId"] == patient_id && n["status"] == "SENT")
    );
    let in_app: Vec<&Value> = items.iter().filter(|n| n["channel"] == "IN_APP").collect();
    assert!(
        in_app
            .iter()
            .all(|n| n["message"].as_str().unwrap().contains("Dr. Test 1"))
    );

    // E-mail went to a real SMTP server, to the right addresses, once each.
    let mails = smtp.wait_for(5, Duration::from_secs(30)).await;
    let to = |address: &str| {
        mails
            .iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
            .count()
    };
    assert_eq!(
        (to("doctor1@example.org"), to("patient1@example.org")),
        (3, 2)
    );
    let mut ids: Vec<_> = mails
        .iter()
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one Message-ID per notification");

    // SMS through the provider's API, to the numbers on file.
    let texts = sms.wait_for(5, Duration::from_secs(30)).await;
    let numbers: Vec<&str> = texts.iter().map(|t| t.to.as_str()).collect();
    assert_eq!(
        numbers.iter().filter(|n| **n == "+442079461001").count(),
        3,
        "{numbers:?}"
    );
    assert_eq!(
        numbers.iter().filter(|n| **n == "+442079465001").count(),
        2,
        "{numbers:?}"
    );

    // The cancelled appointment keeps no reminder.
    let reminders = reminder_statuses(&app.database_urls[&Service::Notifications]).await;
    assert!(reminders.iter().all(|s| s == "CANCELLED"), "{reminders:?}");
}

async fn reminder_statuses(database_url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT status FROM reminders ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter().map(|(s,)| s).collect()
}

in_both_modes!(booking_approval_and_cancellation_reach_both_people_on_every_channel);
