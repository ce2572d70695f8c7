//! The web app through the gateway, as a browser without JavaScript uses it: forms, redirects
//! and cookies, on both backends. What the pages do must match what the API then holds.

use std::collections::HashMap;

use platform::config::Service;
use regex::Regex;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::events::eventually;
use crate::helpers::{Backend, Setup, TestApp, next_monday, password};

/// A browser: follows nothing by itself, keeps its cookies.
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) html: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }

    /// The id a redirect to `prefix…=<id>` ends with (a visit just requested, cancelled, …).
    #[track_caller]
    pub(crate) fn redirect_id(&self, prefix: &str) -> i64 {
        self.redirects_to(prefix);
        self.location().rsplit('=').next().unwrap().parse().unwrap()
    }

    pub(crate) fn csrf(&self) -> String {
        let re = Regex::new(r#"name="_csrf" value="([^"]+)""#).unwrap();
        re.captures(&self.html)
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.html))[1]
            .to_owned()
    }

    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.html);
        self
    }

    #[track_caller]
    pub(crate) fn redirects_to(&self, prefix: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.html);
        assert!(
            self.location().starts_with(prefix),
            "went to {}",
            self.location()
        );
    }
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self::at(&app.gateway)
    }

    /// A browser pointed at a gateway's address.
    pub(crate) fn at(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: HashMap::new(),
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        self.send(request).await
    }

    /// Signs in through the form; the page it lands on.
    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> String {
        let csrf = self.get("/login").await.expect(200).csrf();
        let page = self
            .post(
                "/login",
                &[
                    ("_csrf", &csrf),
                    ("email", email),
                    ("password", password),
                    ("tz", "UTC"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        page.location().to_owned()
    }

    /// Registers patient `n` through the form; signed in afterwards.
    pub(crate) async fn register(&mut self, n: u32) {
        let page = self.get("/register").await.expect(200);
        let csrf = page.csrf();
        let email = format!("web{n}@example.org");
        let password = password(n);
        let phone = format!("+44 20 7946 {:04}", 6000 + n);
        let page = self
            .post(
                "/register",
                &[
                    ("_csrf", &csrf),
                    ("tz", "Europe/London"),
                    ("name", &format!("Web Patient {n}")),
                    ("email", &email),
                    ("password", &password),
                    ("phone", &phone),
                    ("dob", "1985-03-02"),
                    ("address", "2 Web Street"),
                ],
            )
            .await;
        page.redirects_to("/appointments");
    }
}

fn first_slot(html: &str) -> (String, String) {
    let re = Regex::new(r#"href="/book\?doctor=(\d+)&amp;start=([^"]+)""#).unwrap();
    let found = re
        .captures(html)
        .unwrap_or_else(|| panic!("no free time in {html}"));
    let start = urlencoding_decode(&found[2]);
    (found[1].to_owned(), start)
}

pub(crate) fn urlencoding_decode(raw: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("x={raw}")).unwrap();
    pairs[0].1.clone()
}

async fn a_patient_registers_books_and_cancels(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let mut browser = Browser::new(app);
    browser.get("/").await.redirects_to("/login");
    browser.register(1).await;
    let session = &browser.cookies["carebook_session"];
    assert!(session.len() >= 40, "a random session id");

    let page = browser.get("/appointments").await.expect(200);
    assert!(page.html.contains("Nothing booked"), "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );

    let page = browser.get("/doctors").await.expect(200);
    assert!(page.html.contains("Dr. Test 1"), "{}", page.html);
    let week = browser
        .get(&format!("/doctors/{doctor}?week={}", next_monday()))
        .await
        .expect(200);
    assert!(
        week.html.contains("Europe&#x2f;London"),
        "times are shown in the browser's zone: {}",
        week.html
    );
    let (doctor_in_link, start) = first_slot(&week.html);
    assert_eq!(doctor_in_link, doctor.to_string());

    let review = browser
        .get(&format!(
            "/book?doctor={doctor}&start={}",
            start.replace('+', "%2B")
        ))
        .await
        .expect(200);
    let csrf = review.csrf();
    let booked = browser
        .post(
            "/book",
            &[
                ("_csrf", &csrf),
                ("doctor", &doctor.to_string()),
                ("start", &start),
                ("description", "A cough"),
            ],
        )
        .await;
    let id = booked.redirect_id("/appointments?requested=");
    let list = browser.get(booked.location()).await.expect(200);
    assert!(
        list.html.contains("Requested — waiting for Dr. Test 1"),
        "{}",
        list.html
    );

    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["status"], "REQUESTED");
    assert_eq!(stored["doctorId"], doctor);
    assert_eq!(stored["description"], "A cough");

    let confirm = browser
        .get(&format!("/appointments/{id}/cancel"))
        .await
        .expect(200);
    assert!(
        !confirm.html.contains("late cancellation"),
        "a week ahead is not late"
    );
    let csrf = confirm.csrf();
    browser
        .post(
            &format!("/appointments/{id}/cancel"),
            &[("_csrf", &csrf), ("reason", "Better now")],
        )
        .await
        .redirects_to("/appointments?cancelled=");
    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["status"], "CANCELLED");

    let csrf = browser.get("/appointments").await.expect(200).csrf();
    browser
        .post("/logout", &[("_csrf", &csrf)])
        .await
        .redirects_to("/login?signed_out=1");
    assert!(!browser.cookies.contains_key("carebook_session"));
    browser.get("/appointments").await.redirects_to("/login");
}

async fn a_form_without_the_sessions_token_changes_nothing(app: &TestApp) {
    let doctor = app.create_doctor(2).await;
    let mut browser = Browser::new(app);
    browser.register(2).await;
    let start = format!("{}T10:00:00Z", next_monday());
    let doctor = doctor.to_string();
    let forged = browser
        .post(
            "/book",
            &[
                ("_csrf", "not-the-token"),
                ("doctor", &doctor),
                ("start", &start),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = browser
        .post("/book", &[("doctor", &doctor), ("start", &start)])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let csrf = browser.get("/appointments").await.expect(200).csrf();
    let cross_site = browser
        .send(
            browser
                .http
                .post(format!("{}/book", browser.base))
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("_csrf", csrf.as_str()),
                        ("doctor", &doctor),
                        ("start", &start),
                    ])
                    .unwrap(),
                ),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let listed = app
        .get(&format!("/api/appointments?doctorId={doctor}"))
        .await
        .expect(200)
        .body;
    assert_eq!(listed["total"], 0, "{listed}");
}

async fn another_patients_appointment_stays_hidden(app: &TestApp) {
    let doctor = app.create_doctor(3).await;
    let mut owner = Browser::new(app);
    owner.register(3).await;
    let patient: Value = app
        .get("/api/patients?q=web3%40example.org")
        .await
        .expect(200)
        .body;
    let patient_id = patient["items"][0]["id"].as_i64().unwrap();
    let id = app
        .book(patient_id, doctor, &format!("{}T11:00:00Z", next_monday()))
        .await
        .expect(201)
        .id();
    let mut other = Browser::new(app);
    other.register(4).await;
    let page = other.get(&format!("/appointments/{id}/cancel")).await;
    assert!(
        page.status == StatusCode::NOT_FOUND || page.status == StatusCode::FORBIDDEN,
        "{}",
        page.status
    );
    assert!(!page.html.contains("Web Patient 3"));
    let csrf = other.get("/appointments").await.expect(200).csrf();
    let tried = other
        .post(&format!("/appointments/{id}/cancel"), &[("_csrf", &csrf)])
        .await;
    assert!(tried.status.is_client_error(), "{}", tried.status);
    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["status"], "REQUESTED");
}

async fn the_apis_words_appear_beside_the_field(app: &TestApp) {
    let mut browser = Browser::new(app);
    let csrf = browser.get("/register").await.expect(200).csrf();
    let page = browser
        .post(
            "/register",
            &[
                ("_csrf", &csrf),
                ("name", "Short Password"),
                ("email", "short@example.org"),
                ("password", "short"),
                ("phone", "+44 20 7946 0999"),
                ("dob", "1990-01-01"),
                ("address", "3 Web Street"),
            ],
        )
        .await
        .expect(400);
    let re =
        Regex::new(r#"(?s)id="password"[^>]*aria-invalid="true".*id="password-error""#).unwrap();
    assert!(re.is_match(&page.html), "{}", page.html);
    assert!(
        page.html.contains("value=\"short@example.org\""),
        "what was typed stays"
    );
    assert!(
        !page.html.contains("value=\"short\""),
        "the password is never sent back"
    );
    assert!(!browser.cookies.contains_key("carebook_session"));
}

async fn api_paths_stay_api_answers(app: &TestApp) {
    let unknown = app.get("/api/nothing-here").await.expect(404);
    assert_eq!(unknown.headers["content-type"], "application/problem+json");
    let mut browser = Browser::new(app);
    let page = browser.get("/no-such-page").await.expect(404);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.html.contains("Page not found"));
    let css = browser.get("/assets/app.css").await.expect(200);
    assert!(css.html.contains("--focus"));
}

/// The whole visit through the pages: requested, approved by the doctor, seen and notified,
/// recorded with a file the patient downloads, then cancelled, and counted on the dashboard.
async fn a_visit_from_request_to_record(app: &TestApp) {
    let doctor = app.register_doctor(6).await;
    let doctor_id = doctor.doctor_id.unwrap();
    let mut patient = Browser::new(app);
    patient.register(6).await;
    let week = patient
        .get(&format!("/doctors/{doctor_id}?week={}", next_monday()))
        .await
        .expect(200);
    let (_, start) = first_slot(&week.html);
    let csrf = patient.get("/appointments").await.expect(200).csrf();
    let booked = patient
        .post(
            "/book",
            &[
                ("_csrf", &csrf),
                ("doctor", &doctor_id.to_string()),
                ("start", &start),
            ],
        )
        .await;
    let id = booked.redirect_id("/appointments?requested=");

    let mut doctor_browser = Browser::new(app);
    let landing = doctor_browser
        .sign_in("doctor6@example.org", &password(6))
        .await;
    assert_eq!(landing, "/day");
    let day = doctor_browser
        .get(&format!("/day?date={}", &start[..10]))
        .await
        .expect(200);
    assert!(
        day.html.contains(&format!("/day/{id}/approve")),
        "{}",
        day.html
    );
    let csrf = day.csrf();
    doctor_browser
        .post(
            &format!("/day/{id}/approve"),
            &[("_csrf", &csrf), ("back", "/day")],
        )
        .await
        .redirects_to("/day");
    let stored = stored_appointment(app, id).await;
    assert_eq!(stored["status"], "APPROVED");

    let list = patient.get("/appointments").await.expect(200);
    assert!(list.html.contains("Approved"), "{}", list.html);
    let inbox = eventually("the approval in the patient's inbox", || {
        let page = patient
            .http
            .get(format!("{}/notifications", patient.base))
            .header("cookie", patient.cookie_header());
        async move {
            let html = page.send().await.ok()?.text().await.ok()?;
            html.contains("is confirmed").then_some(html)
        }
    })
    .await;
    assert!(inbox.contains("Appointment #"), "{inbox}");

    // The doctor now cares for the patient: they write a record with a file.
    let patient_id = stored["patientId"].as_i64().unwrap();
    let records = doctor_browser
        .get(&format!("/records?patient={patient_id}"))
        .await
        .expect(200);
    let csrf = records.csrf();
    let file = reqwest::multipart::Part::bytes(b"Take one tablet a day.".to_vec())
        .file_name("prescription.txt")
        .mime_str("text/plain")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf)
        .text("recordType", "PRESCRIPTION")
        .text("title", "Amoxicillin")
        .text("content", "500 mg, three times a day")
        .part("file", file);
    let request = doctor_browser
        .http
        .post(format!("{}/records/{patient_id}", doctor_browser.base))
        .multipart(form);
    doctor_browser
        .send(request)
        .await
        .redirects_to("/records?patient=");

    let mine = patient.get("/records").await.expect(200);
    assert!(mine.html.contains("Amoxicillin"), "{}", mine.html);
    let link = Regex::new(r#"href="(/records/\d+/\d+/file)""#).unwrap();
    let download = link.captures(&mine.html).unwrap()[1].to_owned();
    let file = patient.get(&download).await.expect(200);
    assert_eq!(file.html, "Take one tablet a day.");
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // The patient cancels; the console counts it.
    let csrf = patient
        .get(&format!("/appointments/{id}/cancel"))
        .await
        .expect(200)
        .csrf();
    patient
        .post(&format!("/appointments/{id}/cancel"), &[("_csrf", &csrf)])
        .await
        .redirects_to("/appointments?cancelled=");
    let mut admin = Browser::new(app);
    assert_eq!(
        admin
            .sign_in(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
        "/console"
    );
    let range = format!("/console?from={}&to={}", &start[..10], &start[..10]);
    let console = eventually("the cancellation on the dashboard", || {
        let page = admin
            .http
            .get(format!("{}{range}", admin.base))
            .header("cookie", admin.cookie_header());
        async move {
            let html = page.send().await.ok()?.text().await.ok()?;
            html.contains(r#"data-status="CANCELLED">1<"#)
                .then_some(html)
        }
    })
    .await;
    assert!(console.contains(r#"data-figure="total">1<"#), "{console}");
}

on_both_backends!(
    a_visit_from_request_to_record,
    a_patient_registers_books_and_cancels,
    a_form_without_the_sessions_token_changes_nothing,
    another_patients_appointment_stays_hidden,
    the_apis_words_appear_beside_the_field,
    api_paths_stay_api_answers,
);

/// With the doctor service down, the pages that need it say so in words (503), and the rest of
/// the app goes on working.
async fn a_service_down_is_a_page_that_says_so(backend: Backend) {
    // An address nothing listens on: the port was free a moment ago.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut setup = Setup::new(backend);
    setup
        .external
        .insert(Service::Doctors, vec![format!("http://{dead}")]);
    let app = TestApp::spawn_with(setup).await;
    let mut browser = Browser::new(&app);
    browser.register(8).await;

    let page = browser.get("/doctors").await.expect(503);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.html
            .contains("The clinic&#x27;s system is not answering")
            || page.html.contains("The clinic's system is not answering"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains(r#"<a href="/">Back to the start page</a>"#)
    );
    for leak in ["panicked", "127.0.0.1", "error sending request"] {
        assert!(!page.html.contains(leak), "{leak} in {}", page.html);
    }
    // Pages that need only other services still open; lists do without the doctors' names.
    browser.get("/notifications").await.expect(200);
    browser.get("/appointments").await.expect(200);
}

mod service_down {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_service_down_is_a_page_that_says_so(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_service_down_is_a_page_that_says_so(Backend::Postgres).await;
    }
}

/// An appointment as the API holds it (read as the admin).
pub(crate) async fn stored_appointment(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/appointments/{id}"))
        .await
        .expect(200)
        .body
}
