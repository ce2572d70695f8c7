//! The clinic console through the gateway, as an ADMIN's browser without JavaScript uses it:
//! doctors, patients, booking on behalf and cancelling, the audit log and webhooks. Each flow
//! is checked against what the API holds afterwards.

use regex::Regex;
use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Setup, TestApp, next_monday};
use crate::web::{Browser, Page, stored_appointment};

/// A browser signed in as the bootstrap ADMIN.
async fn admin(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    assert_eq!(
        browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        "/console"
    );
    browser
}

/// The id at the end of a redirect such as `/console/doctors?added=12`.
fn id_in(page: &Page) -> i64 {
    let re = Regex::new(r"=(\d+)$").unwrap();
    re.captures(page.location())
        .unwrap_or_else(|| panic!("no id in {}", page.location()))[1]
        .parse()
        .unwrap()
}

#[track_caller]
fn shows_error_beside(page: &Page, field: &str) {
    let re = Regex::new(&format!(
        r#"(?s)id="{field}"[^>]*aria-invalid="true".*id="{field}-error""#
    ))
    .unwrap();
    assert!(
        re.is_match(&page.html),
        "no error beside {field}: {}",
        page.html
    );
}

async fn an_admin_adds_and_edits_a_doctor(app: &TestApp) {
    let mut browser = admin(app).await;
    let csrf = browser.get("/console/doctors/new").await.expect(200).csrf();
    let added = browser
        .post(
            "/console/doctors",
            &[
                ("_csrf", &csrf),
                ("name", "Dr. Console"),
                ("email", "console.doctor@example.org"),
                ("phone", "+44 20 7946 0101"),
                ("speciality", "Dermatology"),
                ("gender", "FEMALE"),
                ("slotMinutes", ""),
                ("timezone", ""),
                ("available", "on"),
            ],
        )
        .await;
    added.redirects_to("/console/doctors?added=");
    let id = id_in(&added);
    let stored = app
        .get(&format!("/api/doctors/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(stored["name"], "Dr. Console");
    assert_eq!(stored["speciality"], "Dermatology");
    assert_eq!(stored["gender"], "FEMALE");
    assert_eq!(stored["available"], true);
    assert_eq!(stored["slotMinutes"], 30);

    let list = browser.get(added.location()).await.expect(200);
    assert!(list.html.contains("The doctor was added."), "{}", list.html);
    let found = browser
        .get("/console/doctors?q=console&speciality=Dermatology")
        .await
        .expect(200);
    assert!(
        found.html.contains(&format!(r#"data-doctor="{id}""#)),
        "{}",
        found.html
    );
    let other = browser
        .get("/console/doctors?speciality=Cardiology")
        .await
        .expect(200);
    assert!(!other.html.contains(&format!(r#"data-doctor="{id}""#)));

    let edit = browser
        .get(&format!("/console/doctors/{id}"))
        .await
        .expect(200);
    assert!(
        edit.html.contains(r#"value="Dr. Console""#),
        "{}",
        edit.html
    );
    let saved = browser
        .post(
            &format!("/console/doctors/{id}"),
            &[
                ("_csrf", &edit.csrf()),
                ("name", "Dr. Console Edited"),
                ("email", "console.doctor@example.org"),
                ("phone", "+44 20 7946 0101"),
                ("speciality", "Allergy"),
                ("gender", "FEMALE"),
                ("slotMinutes", "20"),
                ("timezone", "Europe/London"),
                // "available" unticked: the box sends nothing.
            ],
        )
        .await;
    saved.redirects_to("/console/doctors?saved=");
    let stored = app
        .get(&format!("/api/doctors/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(stored["name"], "Dr. Console Edited");
    assert_eq!(stored["speciality"], "Allergy");
    assert_eq!(stored["slotMinutes"], 20);
    assert_eq!(stored["timezone"], "Europe/London");
    assert_eq!(stored["available"], false);
}

async fn an_admin_adds_and_edits_a_patient(app: &TestApp) {
    let mut browser = admin(app).await;
    let csrf = browser
        .get("/console/patients/new")
        .await
        .expect(200)
        .csrf();
    let added = browser
        .post(
            "/console/patients",
            &[
                ("_csrf", &csrf),
                ("name", "Console Patient"),
                ("email", "console.patient@example.org"),
                ("phone", "+44 20 7946 0202"),
                ("dob", "1975-06-30"),
                ("address", "4 Console Road"),
                ("medicalHistory", ""),
            ],
        )
        .await;
    added.redirects_to("/console/patients?added=");
    let id = id_in(&added);
    let list = browser
        .get("/console/patients?q=console.patient")
        .await
        .expect(200);
    assert!(
        list.html.contains(&format!(r#"data-patient="{id}""#)),
        "{}",
        list.html
    );

    let edit = browser
        .get(&format!("/console/patients/{id}"))
        .await
        .expect(200);
    assert!(edit.html.contains(r#"value="1975-06-30""#), "{}", edit.html);
    browser
        .post(
            &format!("/console/patients/{id}"),
            &[
                ("_csrf", &edit.csrf()),
                ("name", "Console Patient"),
                ("email", "console.patient@example.org"),
                ("phone", "+44 20 7946 0202"),
                ("dob", "1975-06-30"),
                ("address", "5 New Street"),
                ("medicalHistory", "Penicillin allergy"),
            ],
        )
        .await
        .redirects_to("/console/patients?saved=");
    let stored = app
        .get(&format!("/api/patients/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(stored["address"], "5 New Street");
    assert_eq!(stored["medicalHistory"], "Penicillin allergy");
    assert_eq!(stored["phone"], "+442079460202");
}

async fn bad_input_is_shown_beside_its_field_and_nothing_is_created(app: &TestApp) {
    let mut browser = admin(app).await;
    let csrf = browser.get("/console/doctors/new").await.expect(200).csrf();
    let page = browser
        .post(
            "/console/doctors",
            &[
                ("_csrf", &csrf),
                ("name", "Dr. Typo"),
                ("email", "not-an-email"),
                ("phone", "+44 20 7946 0303"),
                ("speciality", "Cardiology"),
                ("slotMinutes", "2"),
            ],
        )
        .await
        .expect(400);
    shows_error_beside(&page, "email");
    shows_error_beside(&page, "slotMinutes");
    assert!(
        page.html.contains(r#"value="Dr. Typo""#),
        "what was typed stays"
    );
    assert!(page.html.contains(r#"value="not-an-email""#));
    let doctors = app.get("/api/doctors").await.expect(200).body;
    assert_eq!(doctors["total"], 0, "{doctors}");

    let page = browser
        .post(
            "/console/patients",
            &[
                ("_csrf", &csrf),
                ("name", "Future Baby"),
                ("email", "future@example.org"),
                ("phone", "+44 20 7946 0404"),
                ("dob", "2999-01-01"),
                ("address", "6 Later Lane"),
            ],
        )
        .await
        .expect(400);
    shows_error_beside(&page, "dob");
    assert!(page.html.contains(r#"value="6 Later Lane""#));
    let patients = app.get("/api/patients").await.expect(200).body;
    assert_eq!(patients["total"], 0, "{patients}");

    // The dashboard's dates: an emptied field is the default, nonsense is refused in words.
    browser.get("/console?from=&to=").await.expect(200);
    let page = browser.get("/console?from=soon").await.expect(400);
    assert!(page.html.contains("year-month-day"), "{}", page.html);
}

async fn an_admin_books_for_a_patient_then_cancels(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let patient = app.create_patient(1).await;
    let mut browser = admin(app).await;
    let picker = browser
        .get(&format!(
            "/console/book?patientId={patient}&doctorId={doctor}&week={}",
            next_monday()
        ))
        .await
        .expect(200);
    let slot = Regex::new(r#"name="appointmentDate" value="([^"]+)""#).unwrap();
    let start = slot
        .captures(&picker.html)
        .unwrap_or_else(|| panic!("no free time in {}", picker.html))[1]
        .to_owned();
    let (patient_id, doctor_id) = (patient.to_string(), doctor.to_string());

    let unpicked = browser
        .post(
            "/console/book",
            &[
                ("_csrf", &picker.csrf()),
                ("patientId", &patient_id),
                ("doctorId", &doctor_id),
                ("description", "Follow-up"),
            ],
        )
        .await
        .expect(400);
    assert!(unpicked.html.contains(r#"id="appointmentDate-error""#));
    assert!(
        unpicked.html.contains("Follow-up</textarea>"),
        "the reason stays"
    );

    let booked = browser
        .post(
            "/console/book",
            &[
                ("_csrf", &picker.csrf()),
                ("patientId", &patient_id),
                ("doctorId", &doctor_id),
                ("appointmentDate", &start),
                ("description", "Follow-up"),
            ],
        )
        .await;
    booked.redirects_to(&format!(
        "/console/appointments?patientId={patient}&booked="
    ));
    let id = id_in(&booked);
    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["patientId"], patient);
    assert_eq!(stored["doctorId"], doctor);
    assert_eq!(stored["status"], "REQUESTED");
    assert_eq!(stored["description"], "Follow-up");
    let listed = browser.get(booked.location()).await.expect(200);
    assert!(
        listed.html.contains("The visit was booked."),
        "{}",
        listed.html
    );
    assert!(listed.html.contains(&format!(r#"data-appointment="{id}""#)));
    assert!(listed.html.contains("Patient 1"));

    let confirm = browser
        .get(&format!("/console/appointments/{id}/cancel"))
        .await
        .expect(200);
    browser
        .post(
            &format!("/console/appointments/{id}/cancel"),
            &[("_csrf", &confirm.csrf()), ("reason", "Doctor on leave")],
        )
        .await
        .redirects_to("/console/appointments?cancelled=");
    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["status"], "CANCELLED");
    assert_eq!(stored["cancellationReason"], "Doctor on leave");

    let day = &start[..10];
    let cancelled = browser
        .get(&format!(
            "/console/appointments?doctorId={doctor}&status=CANCELLED&from={day}&to={day}"
        ))
        .await
        .expect(200);
    assert!(
        cancelled
            .html
            .contains(&format!(r#"data-appointment="{id}""#))
    );
    let requested = browser
        .get(&format!(
            "/console/appointments?status=REQUESTED&from={day}&to={day}"
        ))
        .await
        .expect(200);
    assert!(
        !requested
            .html
            .contains(&format!(r#"data-appointment="{id}""#))
    );
}

async fn the_audit_search_shows_who_read_a_patient(app: &TestApp) {
    let patient = app.create_patient(2).await;
    let other = app.create_patient(3).await;
    let admin_id = app
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect(200)
        .body["userId"]
        .as_i64()
        .unwrap();
    let mut browser = admin(app).await;
    browser
        .get(&format!("/console/patients/{patient}"))
        .await
        .expect(200);
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let found = browser
        .get(&format!(
            "/console/audit?patientId={patient}&actorId={admin_id}&from={today}&to={today}"
        ))
        .await
        .expect(200);
    let row = Regex::new(&format!(
        r#"(?s)<tr>\s*<td>[^<]+</td>\s*<td>ADMIN #{admin_id}</td>\s*<td><a href="/console/patients/{patient}">#{patient}</a></td>\s*<td>READ</td>"#
    ))
    .unwrap();
    assert!(row.is_match(&found.html), "{}", found.html);
    assert!(
        !found.html.contains(&format!("#{other}</a>")),
        "only the patient searched for"
    );
    let mistaken = browser
        .get("/console/audit?from=yesterday")
        .await
        .expect(400);
    shows_error_beside(&mistaken, "from");
}

async fn a_patient_is_refused_the_console(app: &TestApp) {
    let mut browser = Browser::new(app);
    browser.register(7).await;
    for page in [
        "/console",
        "/console/doctors",
        "/console/audit",
        "/console/webhooks",
    ] {
        let refused = browser.get(page).await.expect(403);
        assert!(
            refused.html.contains("Not allowed"),
            "{page}: {}",
            refused.html
        );
    }
    let csrf = browser.get("/appointments").await.expect(200).csrf();
    let tried = browser
        .post(
            "/console/doctors",
            &[
                ("_csrf", &csrf),
                ("name", "Dr. Sneaky"),
                ("email", "sneaky@example.org"),
                ("phone", "+44 20 7946 0505"),
                ("speciality", "Surgery"),
                ("available", "on"),
            ],
        )
        .await;
    assert_eq!(tried.status, StatusCode::FORBIDDEN);
    let doctors = app.get("/api/doctors").await.expect(200).body;
    assert_eq!(doctors["total"], 0, "{doctors}");
}

on_both_backends!(
    an_admin_adds_and_edits_a_doctor,
    an_admin_adds_and_edits_a_patient,
    bad_input_is_shown_beside_its_field_and_nothing_is_created,
    an_admin_books_for_a_patient_then_cancels,
    the_audit_search_shows_who_read_a_patient,
    a_patient_is_refused_the_console,
);

/// Webhooks need a deployment that accepts a local receiver's address.
async fn an_admin_adds_and_deletes_a_webhook(backend: Backend) {
    let setup = Setup::new(backend).notifications(|config| config.allow_private_webhooks = true);
    let app = TestApp::spawn_with(setup).await;
    let mut browser = admin(&app).await;
    let page = browser.get("/console/webhooks").await.expect(200);
    assert!(page.html.contains("No webhooks yet."));
    let csrf = page.csrf();

    let refused = browser
        .post(
            "/console/webhooks",
            &[
                ("_csrf", &csrf),
                ("url", "http://127.0.0.1:9/hook"),
                ("secret", "too short"),
            ],
        )
        .await
        .expect(400);
    shows_error_beside(&refused, "secret");
    assert!(
        refused.html.contains(r#"id="events-error""#),
        "{}",
        refused.html
    );
    assert!(
        refused
            .html
            .contains(r#"value="http:&#x2f;&#x2f;127.0.0.1:9&#x2f;hook""#)
    );
    assert!(
        !refused.html.contains("too short"),
        "the secret is not sent back"
    );
    let listed = app.get("/api/webhooks").await.expect(200).body;
    assert_eq!(listed["total"], 0, "{listed}");

    browser
        .post(
            "/console/webhooks",
            &[
                ("_csrf", &csrf),
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "AppointmentApproved"),
                ("events", "AppointmentCancelled"),
                ("secret", "a secret the receiver shares"),
            ],
        )
        .await
        .redirects_to("/console/webhooks?added=");
    let listed = app.get("/api/webhooks").await.expect(200).body;
    assert_eq!(listed["total"], 1, "{listed}");
    let hook = &listed["items"][0];
    assert_eq!(hook["url"], "http://127.0.0.1:9/hook");
    assert_eq!(
        hook["events"],
        serde_json::json!(["AppointmentApproved", "AppointmentCancelled"])
    );
    let id = hook["id"].as_i64().unwrap();
    let page = browser.get("/console/webhooks").await.expect(200);
    assert!(
        page.html.contains(&format!(r#"data-webhook="{id}""#)),
        "{}",
        page.html
    );

    browser
        .post(
            &format!("/console/webhooks/{id}/delete"),
            &[("_csrf", &csrf)],
        )
        .await
        .redirects_to("/console/webhooks?deleted=");
    let listed = app.get("/api/webhooks").await.expect(200).body;
    assert_eq!(listed["total"], 0, "{listed}");
}

mod webhooks {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::an_admin_adds_and_deletes_a_webhook(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::an_admin_adds_and_deletes_a_webhook(Backend::Postgres).await;
    }
}
