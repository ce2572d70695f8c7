//! Medical records through the gateway: who may see and write them, files recognised from
//! their bytes, nothing in the clear at rest, tampering refused, key rotation.

mod access;
mod at_rest;
pub mod files;

use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::events::eventually;
use crate::helpers::{Account, Reply, TestApp, monday_at, read};

/// A patient and a doctor who cares for them (an approved appointment the records service has
/// heard of).
pub struct Care {
    pub patient: Account,
    pub doctor: Account,
    pub appointment: i64,
}

impl Care {
    pub fn patient_id(&self) -> i64 {
        self.patient.patient_id.unwrap()
    }

    pub fn doctor_id(&self) -> i64 {
        self.doctor.doctor_id.unwrap()
    }
}

/// Books patient `n` with doctor `n` at `time` and has the doctor decide `verb` (`approve` or
/// `reject`); waits until the records service knows the outcome.
pub async fn appointment(app: &TestApp, n: u32, time: &str, verb: &str) -> Care {
    let patient = app.register_patient(n).await;
    let doctor = app.register_doctor(n).await;
    let appointment = book_and_decide(app, &patient, &doctor, time, verb).await;
    Care {
        patient,
        doctor,
        appointment,
    }
}

pub async fn book_and_decide(
    app: &TestApp,
    patient: &Account,
    doctor: &Account,
    time: &str,
    verb: &str,
) -> i64 {
    let booking = json!({"patientId": patient.patient_id, "doctorId": doctor.doctor_id,
                         "appointmentDate": monday_at(time), "description": "check-up"});
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
    let decision = format!("/api/doctors/appointments/{verb}");
    app.call(
        Some(&doctor.token),
        Method::POST,
        &decision,
        Some(&json!({"appointmentId": id})),
    )
    .await
    .expect(200);
    let status = if verb == "approve" {
        "APPROVED"
    } else {
        "REJECTED"
    };
    care_status_is(app, id, status).await;
    id
}

/// Waits until the records service has seen appointment `id` reach `status`.
pub async fn care_status_is(app: &TestApp, id: i64, status: &str) {
    let url = app.database_urls[&Service::Records].clone();
    eventually(
        &format!("appointment {id} {status} in the records service"),
        || {
            let url = url.clone();
            async move {
                let mut conn = sqlx::AnyConnection::connect(&url).await.ok()?;
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT status FROM care_relationships WHERE appointment_id = $1",
                )
                .bind(id)
                .fetch_optional(&mut conn)
                .await
                .ok()?;
                row.filter(|(s,)| s == status).map(|_| ())
            }
        },
    )
    .await;
}

pub fn record_json(patient_id: i64, title: &str, content: &str) -> Value {
    json!({"patientId": patient_id, "recordType": "LAB_REPORT", "title": title, "content": content})
}

/// A `multipart/form-data` body: the `record` part (raw text), then the `file` part if any.
pub fn form(record: Option<&str>, file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "carebook-test-boundary-7f3a";
    let mut body = Vec::new();
    if let Some(record) = record {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"record\"\r\n\
                 Content-Type: application/json\r\n\r\n{record}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a form to `/api/records` through the gateway as `token`.
pub async fn upload(app: &TestApp, token: &str, (content_type, body): (String, Vec<u8>)) -> Reply {
    let response = app
        .http
        .post(format!("{}/api/records", app.gateway))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// The raw answer to a file download: status, content type, disposition and bytes.
pub async fn download(
    app: &TestApp,
    token: &str,
    patient_id: i64,
    record_id: i64,
) -> (u16, String, String, Vec<u8>) {
    let response = app
        .http
        .get(format!(
            "{}/api/records/{patient_id}/{record_id}/file",
            app.gateway
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// Bytes that start like a PDF: `%PDF-1.7`, then `len` pseudo-random bytes.
pub fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut state: u32 = 0x9e37_79b9;
    bytes.extend((0..len).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[0]
    }));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

/// The records service's audit rows of `patient_id` as `(actorId, action, resource, outcome)`.
pub async fn trail(app: &TestApp, patient_id: i64) -> Vec<(i64, String, String, String)> {
    let reply = app
        .get(&format!("/api/audit?patientId={patient_id}&size=100"))
        .await
        .expect(200);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["service"] == "records")
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (
                e["actorId"].as_i64().unwrap(),
                text("action"),
                text("resource"),
                text("outcome"),
            )
        })
        .collect()
}
