//! What the notification service talks to over HTTP, served locally: an SMS provider (the
//! external party), and the few contract endpoints of identity, patients and doctors it calls
//! (service token, one patient, one doctor), answered with the `contracts` wire types.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use contracts::doctors::Doctor;
use contracts::patients::Patient;
use jiff::Timestamp;
use tokio::net::TcpListener;

/// One SMS as the provider received it.
#[derive(Debug, Clone)]
pub struct ReceivedSms {
    pub authorization: String,
    pub form: HashMap<String, String>,
}

#[derive(Default)]
struct Inner {
    patients: HashMap<i64, Patient>,
    doctors: HashMap<i64, Doctor>,
    /// Statuses the SMS endpoint answers, in order; `201` once they run out.
    sms_statuses: VecDeque<u16>,
    sms: Vec<ReceivedSms>,
    profile_reads: usize,
}

#[derive(Clone)]
pub struct Stub {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Stub {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/api/auth/service-token", post(service_token))
            .route("/api/patients/{id}", get(patient))
            .route("/api/doctors/{id}", get(doctor))
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(sms))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    pub fn add_patient(&self, id: i64, name: &str, phone: &str) {
        let patient = Patient {
            id,
            name: name.to_owned(),
            email: format!("patient{id}@example.org"),
            phone: phone.to_owned(),
            dob: "1990-04-01".parse().unwrap(),
            address: "1 High Street".to_owned(),
            registration_date: Timestamp::UNIX_EPOCH,
            medical_history: None,
        };
        self.lock().patients.insert(id, patient);
    }

    pub fn add_doctor(&self, id: i64, name: &str, timezone: Option<&str>) {
        let doctor = Doctor {
            id,
            name: name.to_owned(),
            email: format!("doctor{id}@example.org"),
            phone: "+4930901820".to_owned(),
            speciality: "General Practice".to_owned(),
            gender: None,
            available: true,
            slot_minutes: 30,
            timezone: timezone.map(str::to_owned),
            auto_approve: false,
        };
        self.lock().doctors.insert(id, doctor);
    }

    /// The SMS endpoint answers these statuses next, in order.
    pub fn answer_sms_with(&self, statuses: &[u16]) {
        self.lock().sms_statuses.extend(statuses.iter().copied());
    }

    pub fn sms(&self) -> Vec<ReceivedSms> {
        self.lock().sms.clone()
    }

    pub fn profile_reads(&self) -> usize {
        self.lock().profile_reads
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn service_token() -> Response {
    axum::Json(serde_json::json!({"accessToken": "stub-service-token", "expiresIn": 900}))
        .into_response()
}

async fn patient(State(inner): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut inner = inner.lock().unwrap();
    inner.profile_reads += 1;
    match inner.patients.get(&id) {
        Some(patient) => axum::Json(patient.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn doctor(State(inner): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut inner = inner.lock().unwrap();
    inner.profile_reads += 1;
    match inner.doctors.get(&id) {
        Some(doctor) => axum::Json(doctor.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes().starts_with(b"Bearer "))
}

async fn sms(State(inner): Shared, headers: HeaderMap, body: String) -> Response {
    let mut inner = inner.lock().unwrap();
    let status = inner.sms_statuses.pop_front().unwrap_or(201);
    inner.sms.push(ReceivedSms {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        form: serde_urlencoded::from_str(&body).unwrap(),
    });
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(serde_json::json!({"sid": "SM1"}))).into_response()
}
