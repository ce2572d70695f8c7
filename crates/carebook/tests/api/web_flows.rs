//! The web app's flows beyond booking, through the gateway as a browser without JavaScript, on
//! both backends: moving a visit, invoices and paying one, the doctor's weekly hours and time
//! off, and the doctor's week as a time grid. Each checks what the API holds afterwards.

use jiff::Timestamp;
use jiff::civil::DateTime;
use regex::Regex;
use reqwest::StatusCode;
use serde_json::Value;

use crate::billing::invoice_when;
use crate::helpers::{TestApp, monday_at, next_monday, password};
use crate::web::{Browser, stored_appointment, urlencoding_decode};

/// The patient id of the patient a browser registered as `n`.
async fn patient_id(app: &TestApp, n: u32) -> i64 {
    let found = app
        .get(&format!("/api/patients?q=web{n}%40example.org"))
        .await
        .expect(200)
        .body;
    found["items"][0]["id"].as_i64().unwrap()
}

fn instant(raw: &Value) -> Timestamp {
    raw.as_str().unwrap().parse().unwrap()
}

/// Signs in through the form from a browser in `zone`.
async fn sign_in_from(browser: &mut Browser, email: &str, password: &str, zone: &str) {
    let csrf = browser.get("/login").await.expect(200).csrf();
    let form = [
        ("_csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
        ("tz", zone),
    ];
    browser.post("/login", &form).await.redirects_to("/");
}

async fn a_patient_moves_a_visit_to_another_free_time(app: &TestApp) {
    let doctor = app.create_doctor(1).await;
    let mut browser = Browser::new(app);
    browser.register(1).await;
    let me = patient_id(app, 1).await;
    let id = app.book_approved(me, doctor, &monday_at("10:00")).await;

    let list = browser.get("/appointments").await.expect(200);
    assert!(
        list.html
            .contains(&format!("href=\"/appointments/{id}/reschedule\"")),
        "{}",
        list.html
    );
    // The picker opens on the visit's own week, with that doctor's free times.
    let picker = browser
        .get(&format!("/appointments/{id}/reschedule"))
        .await
        .expect(200);
    assert!(picker.html.contains("Move your visit with Dr. Test 1"));
    let link = Regex::new(&format!(
        r#"href="(/appointments/{id}/reschedule/confirm\?start=([^"]+))""#
    ))
    .unwrap();
    let wanted = monday_at("14:00").parse::<Timestamp>().unwrap();
    let confirm = link
        .captures_iter(&picker.html)
        .find(|c| urlencoding_decode(&c[2]).parse::<Timestamp>().unwrap() == wanted)
        .unwrap_or_else(|| panic!("no 14:00 on Monday in {}", picker.html))[1]
        .to_owned();

    let review = browser.get(&confirm).await.expect(200);
    assert!(
        review.html.contains("asked to approve the new time again"),
        "{}",
        review.html
    );
    let csrf = review.csrf();
    let moved = browser
        .post(
            &format!("/appointments/{id}/reschedule"),
            &[("_csrf", &csrf), ("start", &wanted.to_string())],
        )
        .await;
    moved.redirects_to(&format!("/appointments?moved={id}"));
    let list = browser.get(moved.location()).await.expect(200);
    assert!(list.html.contains("Moved to"), "{}", list.html);

    let stored = stored_appointment(app, id).await;
    assert_eq!(instant(&stored["appointmentDate"]), wanted);
    assert_eq!(
        stored["status"], "REQUESTED",
        "a patient's move asks the doctor again"
    );
}

async fn a_refused_move_is_explained_and_changes_nothing(app: &TestApp) {
    let doctor = app.create_doctor(2).await;
    let mut browser = Browser::new(app);
    browser.register(2).await;
    let me = patient_id(app, 2).await;
    let booked_at = monday_at("11:00");
    let id = app.book(me, doctor, &booked_at).await.expect(201).id();
    let path = format!("/appointments/{id}/reschedule");
    let csrf = browser.get(&path).await.expect(200).csrf();

    let outside = browser
        .post(&path, &[("_csrf", &csrf), ("start", &monday_at("03:00"))])
        .await
        .expect(409);
    assert!(outside.html.contains(r#"role="alert""#), "{}", outside.html);
    assert!(
        outside.html.contains("outside the doctor"),
        "{}",
        outside.html
    );
    let past = browser
        .post(
            &path,
            &[("_csrf", &csrf), ("start", "2020-01-06T10:00:00Z")],
        )
        .await
        .expect(400);
    assert!(
        past.html.contains("The new time must be in the future."),
        "{}",
        past.html
    );
    let forged = browser
        .post(
            &path,
            &[("_csrf", "forged"), ("start", &monday_at("14:00"))],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let stored = stored_appointment(app, id).await;
    assert_eq!(
        instant(&stored["appointmentDate"]),
        booked_at.parse::<Timestamp>().unwrap()
    );
    assert_eq!(stored["status"], "REQUESTED");

    // A cancelled visit offers no move.
    app.delete(&format!("/api/appointments/{id}"))
        .await
        .expect(200);
    let gone = browser.get(&path).await.expect(409);
    assert!(gone.html.contains("cannot be changed"), "{}", gone.html);
}

async fn a_patient_pays_an_invoice_once(app: &TestApp) {
    let doctor = app.create_doctor(3).await;
    let mut browser = Browser::new(app);
    browser.register(3).await;
    let me = patient_id(app, 3).await;
    let visit = app.book_approved(me, doctor, &monday_at("09:00")).await;
    let id = invoice_when(app, visit, |_| true).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/invoices/{id}/pay");

    let list = browser.get("/invoices").await.expect(200);
    assert!(list.html.contains(r#"href="/invoices""#), "a nav link");
    assert!(list.html.contains("EUR 50.00"), "{}", list.html);
    assert!(list.html.contains("To pay"), "{}", list.html);
    assert!(list.html.contains("Visit: Dr. Test 3"), "{}", list.html);
    assert!(list.html.contains(&format!("action=\"{path}\"")));
    let csrf = list.csrf();

    // Someone else cannot pay it.
    let mut stranger = Browser::new(app);
    stranger.register(4).await;
    let theirs = stranger.get("/invoices").await.expect(200);
    assert!(!theirs.html.contains("EUR 50.00"), "{}", theirs.html);
    let stranger_csrf = theirs.csrf();
    stranger
        .post(&path, &[("_csrf", &stranger_csrf)])
        .await
        .expect(404);
    let api_path = format!("/api/billing/invoices/{id}");
    let stored = app.get(&api_path).await.expect(200).body;
    assert_eq!(stored["paymentStatus"], "PENDING");

    browser
        .post(&path, &[("_csrf", &csrf)])
        .await
        .redirects_to("/invoices?paid=");
    let stored = app.get(&api_path).await.expect(200).body;
    assert_eq!(stored["paymentStatus"], "PAID");
    assert_eq!(stored["paymentType"], "CARD");
    let paid_at = stored["paidAt"].clone();
    assert!(paid_at.is_string(), "{stored}");
    let list = browser.get("/invoices?paid=1").await.expect(200);
    assert!(list.html.contains("the invoice is paid"), "{}", list.html);
    assert!(list.html.contains("Paid on"), "{}", list.html);
    assert!(!list.html.contains(&format!("action=\"{path}\"")));

    // The same form again (an old tab): refused in words, and paid once only.
    let again = browser.post(&path, &[("_csrf", &csrf)]).await.expect(409);
    assert!(again.html.contains("already paid"), "{}", again.html);
    let stored = app.get(&api_path).await.expect(200).body;
    assert_eq!(stored["paidAt"], paid_at);

    // A visit cancelled in time leaves nothing to pay.
    let other = app.book_approved(me, doctor, &monday_at("10:00")).await;
    let void = invoice_when(app, other, |_| true).await["id"]
        .as_i64()
        .unwrap();
    app.delete(&format!("/api/appointments/{other}"))
        .await
        .expect(200);
    invoice_when(app, other, |i| i["paymentStatus"] == "VOID").await;
    let list = browser.get("/invoices").await.expect(200);
    assert!(
        list.html.contains("Cancelled — nothing to pay"),
        "{}",
        list.html
    );
    assert!(!list.html.contains(&format!("/invoices/{void}/pay")));
}

/// The hours form with every day's first block, `blocks` filled in.
fn hours_form<'a>(
    csrf: &'a str,
    slot_minutes: &'a str,
    blocks: &[(&'a str, &'a str, &'a str)],
) -> Vec<(String, String)> {
    let mut form = vec![
        ("_csrf".to_owned(), csrf.to_owned()),
        ("slotMinutes".to_owned(), slot_minutes.to_owned()),
    ];
    for day in [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ] {
        form.push((format!("start-{day}-0"), String::new()));
        form.push((format!("end-{day}-0"), String::new()));
    }
    for (key, start, end) in blocks {
        for (name, value) in [(format!("start-{key}"), start), (format!("end-{key}"), end)] {
            match form.iter_mut().find(|(k, _)| *k == name) {
                Some(pair) => pair.1 = (*value).to_owned(),
                None => form.push((name, (*value).to_owned())),
            }
        }
    }
    form
}

async fn post_pairs(
    browser: &mut Browser,
    path: &str,
    form: &[(String, String)],
) -> crate::web::Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post(path, &pairs).await
}

async fn a_doctor_sets_weekly_hours(app: &TestApp) {
    let doctor = app.register_doctor(5).await.doctor_id.unwrap();
    let mut browser = Browser::new(app);
    browser.sign_in("doctor5@example.org", &password(5)).await;
    let schedule_path = format!("/api/doctors/{doctor}/schedule");
    let page = browser.get("/schedule").await.expect(200);
    assert!(page.html.contains(r#"href="/schedule""#), "a nav link");
    assert!(
        page.html
            .contains(r#"id="start-MONDAY-0" name="start-MONDAY-0" type="time" value="09:00""#),
        "the standard hours until a schedule is stored: {}",
        page.html
    );
    let csrf = page.csrf();

    let form = hours_form(
        &csrf,
        "20",
        &[
            ("MONDAY-0", "08:00", "12:00"),
            ("MONDAY-1", "13:00", "16:00"),
            ("TUESDAY-0", "10:00", "14:00"),
        ],
    );
    post_pairs(&mut browser, "/schedule", &form)
        .await
        .redirects_to("/schedule?saved=hours");
    let stored = app.get(&schedule_path).await.expect(200).body;
    assert_eq!(stored["slotMinutes"], 20);
    let blocks: Vec<(String, String, String)> = stored["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let text = |f: &str| b[f].as_str().unwrap().to_owned();
            (text("day"), text("start"), text("end"))
        })
        .collect();
    let expected = [
        ("MONDAY", "08:00", "12:00"),
        ("MONDAY", "13:00", "16:00"),
        ("TUESDAY", "10:00", "14:00"),
    ]
    .map(|(d, s, e)| (d.to_owned(), s.to_owned(), e.to_owned()));
    assert_eq!(blocks, expected);
    let profile = app.get(&format!("/api/doctors/{doctor}")).await.expect(200);
    assert_eq!(profile.body["slotMinutes"], 20);
    let page = browser.get("/schedule?saved=hours").await.expect(200);
    assert!(
        page.html.contains("weekly hours are saved"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains(r#"name="start-MONDAY-1" type="time" value="13:00""#)
    );

    // Bad hours: each shown beside its block, and nothing stored.
    let backwards = hours_form(&csrf, "20", &[("MONDAY-0", "12:00", "08:00")]);
    let refused = post_pairs(&mut browser, "/schedule", &backwards)
        .await
        .expect(400);
    let beside = Regex::new(r#"id="error-MONDAY-0">The end must be after start\.<"#).unwrap();
    assert!(beside.is_match(&refused.html), "{}", refused.html);
    assert!(
        refused.html.contains(r#"value="12:00""#),
        "what was typed stays"
    );
    let overlapping = hours_form(
        &csrf,
        "20",
        &[
            ("MONDAY-0", "08:00", "12:00"),
            ("MONDAY-1", "11:00", "13:00"),
        ],
    );
    let refused = post_pairs(&mut browser, "/schedule", &overlapping)
        .await
        .expect(400);
    assert!(
        refused.html.contains("overlaps another block"),
        "{}",
        refused.html
    );
    let half = hours_form(&csrf, "20", &[("FRIDAY-0", "09:00", "")]);
    let refused = post_pairs(&mut browser, "/schedule", &half)
        .await
        .expect(400);
    assert!(
        refused
            .html
            .contains(r#"id="error-FRIDAY-0">Enter both the start and the end"#),
        "{}",
        refused.html
    );
    let slot = hours_form(&csrf, "3", &[("MONDAY-0", "08:00", "12:00")]);
    let refused = post_pairs(&mut browser, "/schedule", &slot)
        .await
        .expect(400);
    assert!(
        refused.html.contains(r#"id="slotMinutes-error""#),
        "{}",
        refused.html
    );
    assert_eq!(app.get(&schedule_path).await.expect(200).body, stored);
}

async fn a_doctor_records_time_off_in_their_zone(app: &TestApp) {
    let doctor = app.register_doctor(6).await.doctor_id.unwrap();
    let mut browser = Browser::new(app);
    sign_in_from(
        &mut browser,
        "doctor6@example.org",
        &password(6),
        "Europe/Berlin",
    )
    .await;
    let csrf = browser.get("/schedule").await.expect(200).csrf();
    let monday = next_monday();
    let from = format!("{monday}T09:00");
    let to = format!("{monday}T13:00");
    let form = [
        ("_csrf", csrf.as_str()),
        ("from", &from),
        ("to", &to),
        ("reason", "Conference"),
    ];
    browser
        .post("/schedule/time-off", &form)
        .await
        .redirects_to("/schedule?saved=time-off");

    let list_path = format!("/api/doctors/{doctor}/time-off");
    let stored = app.get(&list_path).await.expect(200).body;
    let berlin = |local: &str| {
        local
            .parse::<DateTime>()
            .unwrap()
            .in_tz("Europe/Berlin")
            .unwrap()
            .timestamp()
    };
    assert_eq!(stored.as_array().unwrap().len(), 1, "{stored}");
    assert_eq!(instant(&stored[0]["from"]), berlin(&from));
    assert_eq!(instant(&stored[0]["to"]), berlin(&to));
    assert_eq!(stored[0]["reason"], "Conference");
    let page = browser.get("/schedule").await.expect(200);
    assert!(page.html.contains("Conference"), "{}", page.html);
    // No free time is offered inside it.
    let slots = app
        .get(&format!(
            "/api/doctors/{doctor}/slots?from={monday}&to={monday}"
        ))
        .await
        .expect(200)
        .body;
    let inside = slots.as_array().unwrap().iter().any(|s| {
        let start = instant(&s["start"]);
        berlin(&from) <= start && start < berlin(&to)
    });
    assert!(!inside, "{slots}");

    // Bad periods: the words beside the field, and nothing stored.
    let backwards = [
        ("_csrf", csrf.as_str()),
        ("from", &to),
        ("to", &from),
        ("reason", ""),
    ];
    let refused = browser
        .post("/schedule/time-off", &backwards)
        .await
        .expect(400);
    let beside = Regex::new(r#"(?s)id="to"[^>]*aria-invalid="true".*id="to-error""#).unwrap();
    assert!(beside.is_match(&refused.html), "{}", refused.html);
    let empty = [("_csrf", csrf.as_str()), ("from", ""), ("to", &to)];
    let refused = browser.post("/schedule/time-off", &empty).await.expect(400);
    assert!(
        refused
            .html
            .contains(r#"id="from-error">Enter a date and a time."#),
        "{}",
        refused.html
    );
    assert_eq!(app.get(&list_path).await.expect(200).body, stored);
}

async fn the_doctors_week_is_a_time_grid(app: &TestApp) {
    let doctor = app.register_doctor(7).await.doctor_id.unwrap();
    let cared_for = app.create_patient(7).await;
    let newcomer = app.create_patient(8).await;
    let approved = app
        .book_approved(cared_for, doctor, &monday_at("09:00"))
        .await;
    app.book(newcomer, doctor, &monday_at("11:00"))
        .await
        .expect(201);
    let monday = next_monday();
    let mut browser = Browser::new(app);
    browser.sign_in("doctor7@example.org", &password(7)).await;

    let day = browser
        .get(&format!("/day?date={monday}"))
        .await
        .expect(200);
    assert!(
        day.html.contains(&format!(r#"href="/week?date={monday}""#)),
        "the day links to its week: {}",
        day.html
    );
    let week = browser
        .get(&format!("/week?date={monday}"))
        .await
        .expect(200);
    assert!(
        week.html.contains("2 appointments this week"),
        "{}",
        week.html
    );
    let row = |time: &str| {
        let re = Regex::new(&format!(r#"(?s)<th scope="row">{time}</th>(.*?)</tr>"#)).unwrap();
        let cells: Vec<String> = re
            .captures(&week.html)
            .unwrap_or_else(|| panic!("no {time} row in {}", week.html))[1]
            .split("<td")
            .skip(1)
            .map(str::to_owned)
            .collect();
        assert_eq!(cells.len(), 7, "a cell a day");
        cells
    };
    // Monday's column, at its hour, in words and colour.
    let nine = row("09:00");
    assert!(nine[0].contains("status-approved"), "{}", nine[0]);
    assert!(nine[0].contains("Patient 7"), "{}", nine[0]);
    assert!(nine[0].contains("Approved"), "{}", nine[0]);
    assert!(nine[1..].iter().all(|c| !c.contains("event")));
    let eleven = row("11:00");
    assert!(eleven[0].contains("status-requested"), "{}", eleven[0]);
    assert!(eleven[0].contains("Requested — waiting for the doctor"));
    assert!(
        !eleven[0].contains("Patient 8"),
        "no care relationship yet, no name"
    );
    // Working hours Monday to Friday, none at the weekend.
    assert!(
        nine[..5]
            .iter()
            .all(|c| c.starts_with(r#" class="working"#))
    );
    assert!(nine[5..].iter().all(|c| !c.contains("working")));

    // ADMIN sees any doctor's week; a patient is sent away.
    let mut admin = Browser::new(app);
    admin
        .sign_in(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    let theirs = admin
        .get(&format!("/week?date={monday}&doctor={doctor}"))
        .await
        .expect(200);
    assert!(
        theirs.html.contains("Dr. Test 7: week of"),
        "{}",
        theirs.html
    );
    assert!(theirs.html.contains("Patient 7"));
    let mut patient = Browser::new(app);
    patient.register(9).await;
    patient.get("/week").await.redirects_to("/");
    let stored = stored_appointment(app, approved).await;
    assert_eq!(stored["status"], "APPROVED", "looking changes nothing");
}

on_both_backends!(
    a_patient_moves_a_visit_to_another_free_time,
    a_refused_move_is_explained_and_changes_nothing,
    a_patient_pays_an_invoice_once,
    a_doctor_sets_weekly_hours,
    a_doctor_records_time_off_in_their_zone,
    the_doctors_week_is_a_time_grid,
);
