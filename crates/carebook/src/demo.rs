//! The demo clinic `carebook up` seeds into an empty system, through the public API so it
//! passes the same validation as any client's data.

use anyhow::Context;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

/// The demo clinic's admin, used when no `CAREBOOK_ADMIN_EMAIL` is configured.
pub const DEMO_ADMIN: (&str, &str) = ("admin@carebook.example", "demo-admin-2026");
/// Every demo doctor's and patient's password (their e-mails are printed at start).
pub const DEMO_DOCTOR_PASSWORD: &str = "demo-doctor-2026";
pub const DEMO_PATIENT_PASSWORD: &str = "demo-patient-2026";

/// A sign-in the demo created, to print for whoever started the system.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub role: &'static str,
    pub email: String,
    pub password: &'static str,
}

/// Seeds doctors with schedules and accounts, patients (three with accounts) and two
/// appointments, unless doctors exist already. Acts as the admin `admin`.
/// Returns the accounts it created (empty when nothing was seeded).
pub async fn seed(
    gateway: &str,
    zone: &TimeZone,
    admin: (&str, &str),
) -> anyhow::Result<Vec<DemoAccount>> {
    let http = reqwest::Client::new();
    let anonymous = Api {
        http: &http,
        base: gateway,
        token: None,
    };
    let login = json!({"email": admin.0, "password": admin.1});
    let tokens = anonymous.post("/api/auth/login", &login).await?;
    let token = tokens["accessToken"]
        .as_str()
        .context("admin access token")?
        .to_owned();
    let api = Api {
        http: &http,
        base: gateway,
        token: Some(&token),
    };
    let existing = api.get("/api/doctors?size=1").await?;
    if existing["total"].as_i64().unwrap_or(0) > 0 {
        return Ok(Vec::new());
    }
    let mut accounts = vec![DemoAccount {
        role: "ADMIN",
        email: admin.0.to_owned(),
        password: "",
    }];
    let mut doctors = Vec::new();
    for (mut doctor, schedule) in demo_doctors() {
        doctor["role"] = json!("DOCTOR");
        doctor["password"] = json!(DEMO_DOCTOR_PASSWORD);
        let created = api.post("/api/auth/register", &doctor).await?;
        let id = created["doctorId"].as_i64().context("doctor id")?;
        api.put(&format!("/api/doctors/{id}/schedule"), &schedule)
            .await?;
        doctors.push(id);
        accounts.push(account("DOCTOR", &doctor, DEMO_DOCTOR_PASSWORD));
    }
    let mut patients = Vec::new();
    for (i, mut patient) in demo_patients().into_iter().enumerate() {
        // The first three register themselves; the others are profiles without a login.
        let id = if i < 3 {
            patient["password"] = json!(DEMO_PATIENT_PASSWORD);
            let created = anonymous.post("/api/auth/register", &patient).await?;
            accounts.push(account("PATIENT", &patient, DEMO_PATIENT_PASSWORD));
            created["patientId"].as_i64()
        } else {
            api.post("/api/patients", &patient).await?["id"].as_i64()
        };
        patients.push(id.context("patient id")?);
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
            let decision = json!({"appointmentId": id});
            api.post("/api/doctors/appointments/approve", &decision)
                .await?;
        }
    }
    Ok(accounts)
}

fn account(role: &'static str, body: &Value, password: &'static str) -> DemoAccount {
    DemoAccount {
        role,
        email: body["email"].as_str().unwrap_or_default().to_owned(),
        password,
    }
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
    token: Option<&'a str>,
}

impl Api<'_> {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(path, request.send().await?).await
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
