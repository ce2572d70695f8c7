//! The demo clinic `carebook up` seeds into an empty system, through the public API so it
//! passes the same validation as any client's data.

use anyhow::Context;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

/// Seeds doctors with schedules, patients and a few appointments unless doctors exist already.
/// Returns whether anything was written.
pub async fn seed(gateway: &str, zone: &TimeZone) -> anyhow::Result<bool> {
    let http = reqwest::Client::new();
    let api = Api {
        http: &http,
        base: gateway,
    };
    let existing = api.get("/api/doctors?size=1").await?;
    if existing["total"].as_i64().unwrap_or(0) > 0 {
        return Ok(false);
    }
    let mut doctors = Vec::new();
    for (doctor, schedule) in demo_doctors() {
        let created = api.post("/api/doctors", &doctor).await?;
        let id = created["id"].as_i64().context("doctor id")?;
        api.put(&format!("/api/doctors/{id}/schedule"), &schedule)
            .await?;
        doctors.push(id);
    }
    let mut patients = Vec::new();
    for patient in demo_patients() {
        let created = api.post("/api/patients", &patient).await?;
        patients.push(created["id"].as_i64().context("patient id")?);
    }
    // Two requests for the first doctor's next working day; the first one approved.
    let day = next_weekday(&Timestamp::now().to_zoned(zone.clone()), Weekday::Monday);
    for (i, time) in ["10:00", "11:00"].into_iter().enumerate() {
        let booking = json!({
            "patientId": patients[i],
            "doctorId": doctors[0],
            "appointmentDate": format!("{day}T{time}:00"),
            "description": "Routine check-up",
        });
        let appointment = api.post("/api/appointments", &booking).await?;
        if i == 0 {
            let id = appointment["id"].as_i64().context("appointment id")?;
            api.post(
                "/api/doctors/appointments/approve",
                &json!({"appointmentId": id}),
            )
            .await?;
        }
    }
    Ok(true)
}

fn demo_doctors() -> Vec<(Value, Value)> {
    let weekdays = |days: &[&str], blocks: &[(&str, &str)]| -> Vec<Value> {
        days.iter()
            .flat_map(|day| {
                blocks
                    .iter()
                    .map(move |(start, end)| json!({"day": day, "start": start, "end": end}))
            })
            .collect()
    };
    vec![
        (
            json!({"name": "Dr. Amara Okafor", "email": "amara.okafor@carebook.example",
                   "phone": "+44 20 7946 0101", "speciality": "General Practice",
                   "gender": "FEMALE", "slotMinutes": 30}),
            json!({"slotMinutes": 30, "weekly": weekdays(
                &["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                &[("09:00", "12:30"), ("13:30", "17:00")])}),
        ),
        (
            json!({"name": "Dr. Lukas Weber", "email": "lukas.weber@carebook.example",
                   "phone": "+44 20 7946 0102", "speciality": "Cardiology",
                   "gender": "MALE", "slotMinutes": 20}),
            json!({"slotMinutes": 20, "weekly": weekdays(
                &["MONDAY", "WEDNESDAY", "FRIDAY"], &[("08:00", "12:00"), ("13:00", "16:00")])}),
        ),
        (
            json!({"name": "Dr. Sofia Reyes", "email": "sofia.reyes@carebook.example",
                   "phone": "+44 20 7946 0103", "speciality": "Dermatology",
                   "gender": "FEMALE", "slotMinutes": 45, "autoApprove": true}),
            json!({"slotMinutes": 45, "weekly": weekdays(
                &["TUESDAY", "THURSDAY"], &[("10:00", "18:00")])}),
        ),
    ]
}

fn demo_patients() -> Vec<Value> {
    [
        (
            "Ada Lovelace",
            "ada@carebook.example",
            "+44 20 7946 0958",
            "1985-12-10",
        ),
        (
            "Alan Turing",
            "alan@carebook.example",
            "+44 20 7946 0959",
            "1972-06-23",
        ),
        (
            "Grace Hopper",
            "grace@carebook.example",
            "+44 20 7946 0960",
            "1990-12-09",
        ),
        (
            "Katherine Johnson",
            "katherine@carebook.example",
            "+44 20 7946 0961",
            "1968-08-26",
        ),
        (
            "Edsger Dijkstra",
            "edsger@carebook.example",
            "+44 20 7946 0962",
            "1979-05-11",
        ),
    ]
    .into_iter()
    .map(|(name, email, phone, dob)| {
        json!({"name": name, "email": email, "phone": phone, "dob": dob,
               "address": "1 Demo Street, Sampletown"})
    })
    .collect()
}

/// The first `weekday` strictly after today.
fn next_weekday(now: &Zoned, weekday: Weekday) -> jiff::civil::Date {
    let mut day = now.date().saturating_add(1.day());
    while day.weekday() != weekday {
        day = day.saturating_add(1.day());
    }
    day
}

struct Api<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
}

impl Api<'_> {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        read(path, response).await
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        read(path, response).await
    }

    async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .put(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        read(path, response).await
    }
}

async fn read(path: &str, response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "seeding {path} answered {status}: {body}"
    );
    Ok(body)
}
