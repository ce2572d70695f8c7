//! The web app in a real browser (headless Chromium), on both backends: a visit from the
//! patient's registration to the doctor's record and the clinic's dashboard, every page on the
//! way checked for accessibility and for fitting a phone. With `CAREBOOK_SCREENSHOTS=<folder>`
//! (relative to the workspace) the SQLite run saves each page's screenshots there: that is how
//! `docs/screenshots/` is made.

mod chromium;

use std::path::{Path, PathBuf};

use self::chromium::Driver;
use crate::events::eventually;
use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, monday_at, next_monday, password,
};
use crate::web::stored_appointment;

const PRESCRIPTION: &str = "Take one tablet a day.";

fn screenshots(app: &TestApp) -> Option<PathBuf> {
    let dir = std::env::var_os("CAREBOOK_SCREENSHOTS")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // One backend's pages are enough; two runs writing the same files would race.
    (app.backend() == Backend::Sqlite).then(|| workspace.join(dir))
}

async fn a_visit_in_the_browser(app: &TestApp) {
    let doctor = app.register_doctor(41).await;
    let driver = Driver::start().await;
    let shots = screenshots(app);

    // The patient registers and books a free time from the doctor's week.
    let patient = driver.open(&app.gateway, shots.clone()).await;
    patient.visit("/").await;
    patient.wait_for_path("/login").await;
    patient.check("sign-in").await;
    patient.click_link("Create an account").await;
    patient.wait_for_path("/register").await;
    patient.check("register").await;
    patient.fill("name", "Ada Browser").await;
    patient.fill("email", "ada.browser@example.org").await;
    patient.fill("password", &password(42)).await;
    patient.fill("phone", "+44 20 7946 0042").await;
    patient.pick("dob", "1984-12-10").await;
    patient.fill("address", "42 Browser Lane").await;
    patient
        .click("form[action='/register'] button[type=submit]")
        .await;
    patient.wait_for_path("/appointments").await;
    patient.wait_for_text("Nothing booked").await;

    patient.click_link("Book a visit").await;
    patient.wait_for_path("/doctors").await;
    patient.wait_for_text("Dr. Test 41").await;
    patient.check("doctors").await;
    let week = format!("/doctors/{}", doctor.doctor_id.unwrap());
    patient.click_link("See free times").await;
    patient.wait_for_path(&week).await;
    patient.click_link("Next week →").await;
    // Until htmx has swapped the next week in, the page is still this week's.
    patient.wait_for_path(&format!("{week}?week=")).await;
    patient.find("a.slot").await;
    patient.check("week").await;
    patient.click("a.slot").await;
    patient.wait_for_path("/book").await;
    patient.check("book").await;
    patient
        .fill("description", "A cough that will not go")
        .await;
    patient
        .click("form[action='/book'] button[type=submit]")
        .await;
    let requested = patient.wait_for_path("/appointments?requested=").await;
    let id: i64 = requested.rsplit('=').next().unwrap().parse().unwrap();
    patient
        .wait_for_text("Requested — waiting for Dr. Test 41")
        .await;
    patient.check("appointments").await;
    let booked = stored_appointment(app, id).await;
    assert_eq!(booked["status"], "REQUESTED");
    assert_eq!(booked["description"], "A cough that will not go");
    assert_eq!(booked["doctorId"], doctor.doctor_id.unwrap());
    let patient_id = booked["patientId"].as_i64().unwrap();

    // The doctor approves it from the day's queue.
    let doctor_window = driver.open(&app.gateway, shots.clone()).await;
    let landing = doctor_window
        .sign_in("doctor41@example.org", &password(41))
        .await;
    assert_eq!(landing, "/day");
    doctor_window
        .find(&format!("form[action='/day/{id}/approve']"))
        .await;
    doctor_window.check("day").await;
    doctor_window
        .click(&format!("form[action='/day/{id}/approve'] button"))
        .await;
    eventually("the approval stored", || async {
        (stored_appointment(app, id).await["status"] == "APPROVED").then_some(())
    })
    .await;

    // The patient sees it approved, and the notification.
    patient.visit("/appointments").await;
    patient.wait_for_text("Approved").await;
    eventually("the approval in the patient's inbox", || async {
        patient.visit("/notifications").await;
        patient
            .main_text()
            .await
            .contains("is confirmed")
            .then_some(())
    })
    .await;
    patient.check("notifications").await;

    // The approval's invoice: the patient pays it.
    eventually("the invoice", || async {
        patient.visit("/invoices").await;
        patient.main_text().await.contains("To pay").then_some(())
    })
    .await;
    patient.check("invoices").await;
    patient
        .click("form[action^='/invoices/'] button[type=submit]")
        .await;
    // Every invoices page has its "Paid and cancelled" part; the payment's answer is the redirect.
    patient.wait_for_path("/invoices?paid=").await;
    patient.wait_for_text("Paid on").await;
    let invoices = app
        .get(&format!("/api/billing/invoices?patientId={patient_id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(invoices["items"][0]["paymentStatus"], "PAID", "{invoices}");

    // The doctor writes a record with a file; the patient downloads it.
    doctor_window
        .visit(&format!("/records?patient={patient_id}"))
        .await;
    doctor_window.check("records-doctor").await;
    doctor_window.fill("title", "Amoxicillin").await;
    doctor_window
        .fill("content", "500 mg, three times a day")
        .await;
    let upload = tempfile::tempdir().unwrap();
    let file = upload.path().join("prescription.txt");
    std::fs::write(&file, PRESCRIPTION).unwrap();
    doctor_window
        .find("#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    doctor_window
        .click("form[enctype='multipart/form-data'] button[type=submit]")
        .await;
    doctor_window
        .wait_for_text("Download prescription.txt")
        .await;

    patient.click_link("Records").await;
    patient.wait_for_path("/records").await;
    patient.wait_for_text("Amoxicillin").await;
    patient.check("records").await;
    patient.click_link("Download prescription.txt").await;
    let downloaded = driver.downloads().join("prescription.txt");
    let bytes = eventually("the downloaded file", || async {
        std::fs::read_to_string(&downloaded).ok()
    })
    .await;
    assert_eq!(bytes, PRESCRIPTION);

    // The patient cancels, warned first; the console counts it.
    patient.visit("/appointments").await;
    patient.click_link("Cancel").await;
    patient
        .wait_for_path(&format!("/appointments/{id}/cancel"))
        .await;
    patient.check("cancel").await;
    patient.fill("reason", "Feeling better").await;
    patient.click("button.danger").await;
    patient.wait_for_path("/appointments?cancelled=").await;
    assert_eq!(stored_appointment(app, id).await["status"], "CANCELLED");

    let admin = driver.open(&app.gateway, shots.clone()).await;
    assert_eq!(admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await, "/console");
    let day = &booked["appointmentDate"].as_str().unwrap()[..10];
    eventually("the cancellation on the dashboard", || async {
        admin.visit(&format!("/console?from={day}&to={day}")).await;
        let cancelled = admin.find("[data-status='CANCELLED']").await;
        (cancelled.text().await.unwrap() == "1").then_some(())
    })
    .await;
    assert_eq!(
        admin
            .find("[data-figure='total']")
            .await
            .text()
            .await
            .unwrap(),
        "1"
    );
    admin.check("console").await;

    admin.visit("/no-such-page").await;
    admin.wait_for_text("Page not found").await;
    admin.check("not-found").await;

    for window in [patient, doctor_window, admin] {
        window.quit().await;
    }
}

/// The pages the visit does not pass through, each checked (and photographed) once: moving a
/// visit, the doctor's week and hours, and every console page.
async fn every_other_page_in_the_browser(app: &TestApp) {
    let doctor = app.register_doctor(43).await;
    let doctor_id = doctor.doctor_id.unwrap();
    let patient = app.register_patient(44).await;
    let patient_id = patient.patient_id.unwrap();
    let id = app
        .book_approved(patient_id, doctor_id, &monday_at("10:00"))
        .await;
    let driver = Driver::start().await;
    let shots = screenshots(app);

    let window = driver.open(&app.gateway, shots.clone()).await;
    window.sign_in("patient44@example.org", &password(44)).await;
    window
        .visit(&format!("/appointments/{id}/reschedule"))
        .await;
    window.find("a.slot").await;
    window.check("reschedule").await;
    window.click("a.slot").await;
    window
        .wait_for_path(&format!("/appointments/{id}/reschedule/confirm"))
        .await;
    window.check("reschedule-confirm").await;
    window.quit().await;

    let window = driver.open(&app.gateway, shots.clone()).await;
    window.sign_in("doctor43@example.org", &password(43)).await;
    window.visit(&format!("/week?date={}", next_monday())).await;
    window.find(".event").await;
    window.check("doctor-week").await;
    window.visit("/schedule").await;
    window.check("hours").await;
    window.quit().await;

    let window = driver.open(&app.gateway, shots.clone()).await;
    window.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let pages = [
        ("console-doctors", "/console/doctors".to_owned()),
        ("console-doctor-new", "/console/doctors/new".to_owned()),
        ("console-doctor", format!("/console/doctors/{doctor_id}")),
        ("console-patients", "/console/patients".to_owned()),
        ("console-patient-new", "/console/patients/new".to_owned()),
        ("console-patient", format!("/console/patients/{patient_id}")),
        ("console-appointments", "/console/appointments".to_owned()),
        (
            "console-cancel",
            format!("/console/appointments/{id}/cancel"),
        ),
        (
            "console-book",
            format!(
                "/console/book?patientId={patient_id}&doctorId={doctor_id}&week={}",
                next_monday()
            ),
        ),
        (
            "console-audit",
            format!("/console/audit?patientId={patient_id}"),
        ),
        ("console-webhooks", "/console/webhooks".to_owned()),
    ];
    for (name, path) in pages {
        window.visit(&path).await;
        window.find("main h1").await;
        window.check(name).await;
    }
    window.quit().await;
}

on_both_backends!(a_visit_in_the_browser, every_other_page_in_the_browser);
