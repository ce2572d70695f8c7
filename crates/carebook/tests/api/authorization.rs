//! The authorization matrix: every `/api` endpoint × every kind of caller, checked against
//! the status API.md's "Who" columns imply. One table; each row names its request and the six
//! expected statuses, in the order of [`Caller::ALL`].

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, doctor_body, next_monday, patient_body};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// The patient the resources belong to.
    PatientOwn,
    /// Another patient.
    PatientOther,
    /// The doctor with an appointment with the patient.
    DoctorRelated,
    /// A doctor without one.
    DoctorUnrelated,
    Admin,
}

impl Caller {
    const ALL: [Caller; 6] = [
        Caller::Anonymous,
        Caller::PatientOwn,
        Caller::PatientOther,
        Caller::DoctorRelated,
        Caller::DoctorUnrelated,
        Caller::Admin,
    ];
}

/// What a row's request is about; fresh targets are created anew for every caller so that one
/// caller's change does not decide another's answer.
#[derive(Debug, Clone, Copy)]
enum Target {
    Fixed,
    /// A new REQUESTED appointment of the own patient with the related doctor: `{appt}`.
    FreshRequested,
    /// The same, APPROVED.
    FreshApproved,
    /// The same, APPROVED, and known to the records service: the related doctor cares for the
    /// own patient.
    Cared,
}

struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    target: Target,
    expect: [u16; 6],
}

fn row(method: Method, path: &'static str, body: Option<Value>, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        body,
        target: Target::Fixed,
        expect,
    }
}

fn on(
    target: Target,
    method: Method,
    path: &'static str,
    body: Option<Value>,
    expect: [u16; 6],
) -> Row {
    Row {
        method,
        path,
        body,
        target,
        expect,
    }
}

/// The matrix. Placeholders: `{own}` the own patient's id, `{doc}` the related doctor's id,
/// `{appt}` the row's appointment, `{day}` a bookable Monday, `{n}` a number unique per call,
/// `{slot}` a free start time unique per call.
fn matrix() -> Vec<Row> {
    use Method as M;
    use Target::*;
    let patient = |extra: Value| {
        let mut body = patient_body(0);
        body["email"] = json!("fresh{n}@example.org");
        merge(body, extra)
    };
    vec![
        // Identity
        row(
            M::POST,
            "/api/auth/register",
            Some(patient(json!({"password": "a long enough password {n}"}))),
            [201, 201, 201, 201, 201, 201],
        ),
        row(
            M::POST,
            "/api/auth/login",
            Some(json!({"email": "nobody{n}@example.org", "password": "wrong password"})),
            [401; 6],
        ),
        row(
            M::POST,
            "/api/auth/refresh",
            Some(json!({"refreshToken": "not-a-token"})),
            [401; 6],
        ),
        row(
            M::POST,
            "/api/auth/logout",
            Some(json!({"refreshToken": "not-a-token"})),
            [401, 204, 204, 204, 204, 204],
        ),
        row(M::GET, "/api/auth/me", None, [401, 200, 200, 200, 200, 200]),
        // SERVICE tokens are for services, which ask identity directly: not routed here.
        row(
            M::POST,
            "/api/auth/service-token",
            Some(json!({"secret": "not the service secret"})),
            [404; 6],
        ),
        // Patients
        row(
            M::POST,
            "/api/patients",
            Some(patient(json!({}))),
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            M::GET,
            "/api/patients/{own}",
            None,
            [401, 200, 403, 200, 403, 200],
        ),
        row(
            M::PUT,
            "/api/patients/{own}",
            Some(merge(patient_body(1), json!({}))),
            [401, 200, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/patients",
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/patients/{own}/exists",
            None,
            [401, 204, 403, 403, 403, 204],
        ),
        row(
            M::POST,
            "/api/patients/appointments",
            Some(json!({"patientId": "{own}", "doctorId": "{doc}", "appointmentDate": "{slot}"})),
            [401, 201, 403, 403, 403, 201],
        ),
        // Doctors
        row(
            M::POST,
            "/api/doctors",
            Some(merge(
                doctor_body(0),
                json!({"email": "doc{n}@example.org"}),
            )),
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            M::GET,
            "/api/doctors/{doc}",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::PUT,
            "/api/doctors/{doc}",
            Some(doctor_body(1)),
            [401, 403, 403, 200, 403, 200],
        ),
        row(M::GET, "/api/doctors", None, [401, 200, 200, 200, 200, 200]),
        row(
            M::GET,
            "/api/doctors/{doc}/schedule",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::PUT,
            "/api/doctors/{doc}/schedule",
            Some(weekdays_nine_to_five()),
            [401, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/doctors/{doc}/time-off",
            Some(json!({"from": "2030-06-01T00:00:00Z", "to": "2030-06-02T00:00:00Z"})),
            [401, 403, 403, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/doctors/{doc}/time-off",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/doctors/{doc}/slots?from={day}&to={day}",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/doctors/{doc}/availability?start={slot}",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        on(
            FreshRequested,
            M::POST,
            "/api/doctors/appointments/approve",
            Some(json!({"appointmentId": "{appt}"})),
            [401, 403, 403, 200, 422, 200],
        ),
        on(
            FreshRequested,
            M::POST,
            "/api/doctors/appointments/reject",
            Some(json!({"appointmentId": "{appt}"})),
            [401, 403, 403, 200, 422, 200],
        ),
        // Appointments
        row(
            M::POST,
            "/api/appointments",
            Some(json!({"patientId": "{own}", "doctorId": "{doc}", "appointmentDate": "{slot}"})),
            [401, 201, 403, 403, 403, 201],
        ),
        on(
            FreshRequested,
            M::GET,
            "/api/appointments/{appt}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        row(
            M::GET,
            "/api/appointments",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/appointments?patientId={own}",
            None,
            [401, 200, 403, 200, 200, 200],
        ),
        on(
            FreshRequested,
            M::PUT,
            "/api/appointments/{appt}",
            Some(json!({"description": "changed"})),
            [401, 200, 404, 200, 404, 200],
        ),
        on(
            FreshRequested,
            M::DELETE,
            "/api/appointments/{appt}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        on(
            FreshRequested,
            M::POST,
            "/api/appointments/{appt}/approve",
            Some(json!({})),
            [401, 403, 404, 200, 404, 200],
        ),
        on(
            FreshRequested,
            M::POST,
            "/api/appointments/{appt}/reject",
            Some(json!({})),
            [401, 403, 404, 200, 404, 200],
        ),
        on(
            FreshApproved,
            M::POST,
            "/api/appointments/{appt}/complete",
            None,
            [401, 403, 404, 200, 404, 200],
        ),
        on(
            FreshApproved,
            M::POST,
            "/api/appointments/{appt}/no-show",
            None,
            [401, 403, 404, 200, 404, 200],
        ),
        row(
            M::GET,
            "/api/appointments/busy?doctorId={doc}&from={day}T00:00:00Z&to={day}T23:00:00Z",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/appointments/patient-ids?doctorId={doc}",
            None,
            [401, 403, 403, 200, 403, 200],
        ),
        // Notifications: everyone sees their own; naming someone else is refused.
        row(
            M::GET,
            "/api/notifications",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/notifications?recipientType=PATIENT&recipientId={own}",
            None,
            [401, 200, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/notifications",
            Some(json!({"recipientId": "{own}", "message": "The clinic is closed on Friday."})),
            [401, 403, 403, 403, 403, 202],
        ),
        // Webhooks: ADMIN only; a loopback target is refused under the default configuration.
        row(
            M::POST,
            "/api/webhooks",
            Some(
                json!({"url": "http://127.0.0.1:9/hook", "events": ["AppointmentApproved"],
                        "secret": "a webhook secret {n}"}),
            ),
            [401, 403, 403, 403, 403, 400],
        ),
        row(
            M::GET,
            "/api/webhooks",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            M::DELETE,
            "/api/webhooks/{n}",
            None,
            [401, 403, 403, 403, 403, 404],
        ),
        row(
            M::GET,
            "/api/webhooks/{n}/deliveries",
            None,
            [401, 403, 403, 403, 403, 404],
        ),
        // Medical records: the related doctor cares for the own patient; a record without a
        // file has nothing to download.
        on(
            Cared,
            M::POST,
            "/api/records",
            Some(
                json!({"patientId": "{own}", "doctorId": "{doc}", "recordType": "NOTE",
                        "title": "Note {n}", "content": "Seen today."}),
            ),
            [401, 403, 403, 201, 403, 201],
        ),
        on(
            Cared,
            M::GET,
            "/api/records/{patient}",
            None,
            [401, 200, 403, 200, 403, 200],
        ),
        on(
            Cared,
            M::GET,
            "/api/records/{patient}/{rec}/file",
            None,
            [401, 404, 403, 404, 403, 404],
        ),
        // Billing: ADMIN sees every invoice, a patient their own, doctors none; an invoice the
        // caller may not see answers like one that does not exist.
        row(
            M::GET,
            "/api/billing/invoices",
            None,
            [401, 200, 200, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/billing/invoices?patientId={own}",
            None,
            [401, 200, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/billing/invoices/{n}",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/billing/invoices/{n}/pay",
            Some(json!({"paymentType": "CASH"})),
            [401, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/billing/invoices/{n}/checkout",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        // The payment provider's webhook takes no token: its signature decides, for anyone.
        row(
            M::POST,
            "/api/billing/webhooks/payments",
            Some(json!({"id": "evt_1", "type": "payment_intent.succeeded"})),
            [400, 400, 400, 400, 400, 400],
        ),
        // Analytics: clinic figures are ADMIN's alone.
        row(
            M::GET,
            "/api/analytics/summary?from={day}&to={day}",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/analytics/appointments?groupBy=doctor&from={day}&to={day}",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // Audit
        row(M::GET, "/api/audit", None, [401, 403, 403, 403, 403, 200]),
        row(
            M::GET,
            "/api/audit?patientId={own}",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // Data rights. The erasure comes last: ADMIN, the last caller, erases the own patient.
        row(
            M::GET,
            "/api/patients/{own}/export",
            None,
            [401, 200, 403, 403, 403, 200],
        ),
        row(
            M::DELETE,
            "/api/patients/{own}",
            None,
            [401, 403, 403, 403, 403, 204],
        ),
    ]
}

struct World {
    own: Account,
    other: Account,
    related: Account,
    unrelated: Account,
    counter: AtomicU32,
}

impl World {
    async fn build(app: &TestApp) -> Self {
        let world = Self {
            own: app.register_patient(1).await,
            other: app.register_patient(2).await,
            related: app.register_doctor(1).await,
            unrelated: app.register_doctor(2).await,
            counter: AtomicU32::new(0),
        };
        // The care relationship: an approved appointment of the own patient with the related
        // doctor.
        let slot = world.next_slot();
        app.book_approved(world.own_id(), world.doctor_id(), &slot)
            .await;
        world
    }

    fn own_id(&self) -> i64 {
        self.own.patient_id.unwrap()
    }

    fn doctor_id(&self) -> i64 {
        self.related.doctor_id.unwrap()
    }

    fn token<'a>(&'a self, app: &'a TestApp, caller: Caller) -> Option<&'a str> {
        match caller {
            Caller::Anonymous => None,
            Caller::PatientOwn => Some(&self.own.token),
            Caller::PatientOther => Some(&self.other.token),
            Caller::DoctorRelated => Some(&self.related.token),
            Caller::DoctorUnrelated => Some(&self.unrelated.token),
            Caller::Admin => Some(&app.admin_token),
        }
    }

    fn next_number(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 100
    }

    /// A weekday 30-minute slot no other call uses (default hours Mon–Fri 09:00–17:00 UTC).
    fn next_slot(&self) -> String {
        let n = self.next_number() - 100;
        let (day, slot) = (n / 16, n % 16);
        let date = next_monday() + jiff::Span::new().days(i64::from(day / 5 * 7 + day % 5));
        let minutes = 9 * 60 + slot * 30;
        format!("{date}T{:02}:{:02}:00Z", minutes / 60, minutes % 60)
    }

    async fn fresh_appointment(&self, app: &TestApp, target: Target) -> Option<i64> {
        let approve = match target {
            Target::Fixed => return None,
            Target::FreshRequested => false,
            Target::FreshApproved | Target::Cared => true,
        };
        let id = app
            .book(self.own_id(), self.doctor_id(), &self.next_slot())
            .await
            .expect(201)
            .id();
        if approve {
            app.post(&format!("/api/appointments/{id}/approve"), &json!({}))
                .await
                .expect(200);
        }
        if let Target::Cared = target {
            crate::records::care_status_is(app, id, "APPROVED").await;
        }
        Some(id)
    }

    fn fill(&self, text: &str, appointment: Option<i64>) -> String {
        let text = text
            .replace("{own}", &self.own_id().to_string())
            .replace("{patient}", &self.own_id().to_string())
            .replace("{rec}", &self.next_number().to_string())
            .replace("{doc}", &self.doctor_id().to_string())
            .replace("{day}", &next_monday().to_string())
            .replace("{n}", &self.next_number().to_string())
            .replace("{slot}", &self.next_slot());
        match appointment {
            Some(id) => text.replace("{appt}", &id.to_string()),
            None => text,
        }
    }

    /// Fills placeholders in every string of a body; whole-placeholder ids become numbers.
    fn fill_body(&self, body: &Value, appointment: Option<i64>) -> Value {
        match body {
            Value::String(text) => {
                let filled = self.fill(text, appointment);
                match filled.parse::<i64>() {
                    Ok(id) if text.starts_with('{') => json!(id),
                    _ => json!(filled),
                }
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.fill_body(v, appointment)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn weekdays_nine_to_five() -> Value {
    let weekly: Vec<Value> = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
        .iter()
        .map(|day| json!({"day": day, "start": "09:00", "end": "17:00"}))
        .collect();
    json!({"slotMinutes": 30, "weekly": weekly})
}

async fn every_endpoint_answers_each_caller_as_api_md_says(app: &TestApp) {
    let world = World::build(app).await;
    let mut mismatches = Vec::new();
    for row in matrix() {
        for (caller, expected) in Caller::ALL.into_iter().zip(row.expect) {
            let appointment = world.fresh_appointment(app, row.target).await;
            let path = world.fill(row.path, appointment);
            let body = row.body.as_ref().map(|b| world.fill_body(b, appointment));
            let token = world.token(app, caller);
            let reply = app
                .call(token, row.method.clone(), &path, body.as_ref())
                .await;
            if reply.status.as_u16() != expected {
                mismatches.push(format!(
                    "{} {path} as {caller:?}: expected {expected}, got {} {}",
                    row.method, reply.status, reply.body
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The matrix covers every documented /api operation.
    let doc = app.get("/api/openapi.json").await.expect(200).body;
    let covered: Vec<(String, String)> = matrix()
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), template(r.path)))
        .collect();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let key = (method.clone(), path.clone());
            assert!(
                covered.contains(&key) || !path.starts_with("/api/"),
                "{method} {path} is not in the matrix"
            );
        }
    }
}

/// `/api/patients/{own}?x` → `/api/patients/{id}`, to compare with the OpenAPI paths.
fn template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|part| match part {
            "{own}" | "{doc}" | "{appt}" | "{n}" => "{id}",
            "{patient}" => "{patientId}",
            "{rec}" => "{recordId}",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The matrix books many appointments for the own patient: the clinic's limit of active ones
/// is raised so that every booking row is decided by who asks, not by how many came before.
mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_endpoint_answers_each_caller_as_api_md_says() {
        let app = super::spawn(crate::helpers::Backend::Sqlite).await;
        super::every_endpoint_answers_each_caller_as_api_md_says(&app).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_endpoint_answers_each_caller_as_api_md_says() {
        let app = super::spawn(crate::helpers::Backend::Postgres).await;
        super::every_endpoint_answers_each_caller_as_api_md_says(&app).await;
    }
}

async fn spawn(backend: crate::helpers::Backend) -> TestApp {
    let mut setup = crate::helpers::Setup::new(backend);
    setup.clinic.max_active_per_patient = 1000;
    TestApp::spawn_with(setup).await
}
