//! `TestApp`: a whole carebook on random ports with fresh databases, and typed helpers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Once;

use carebook::system::{self, NotificationsHook, RunningSystem, SystemConfig};
use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use platform::config::{ClinicConfig, Service};
use platform::testing::unique_database_name;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

pub use platform::testing::{create_postgres_database, drop_postgres_databases, postgres_url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    super::$name(&app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await;
                    super::$name(&app).await;
                }
            )*
        }
    };
}

/// How a [`TestApp`] runs, beyond its database backend.
#[derive(Debug, Clone)]
pub struct Setup {
    pub backend: Backend,
    /// Events through RabbitMQ at this URL instead of the in-process bus.
    pub amqp_url: Option<String>,
    /// Adjusts the in-process notification service (SMTP, SMS, clock, reminder hours).
    pub notifications: Option<NotificationsHook>,
    /// Services the test runs itself (e.g. as processes) at these URLs.
    pub external: HashMap<Service, Vec<String>>,
    /// The clinic's settings (time zone, booking limits).
    pub clinic: ClinicConfig,
    /// The billing service's price list (else its defaults).
    pub billing_prices: Option<billing::PriceList>,
    /// Card payments through a provider stand-in (else off).
    pub billing_payments: Option<billing::PaymentsConfig>,
}

impl Setup {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            amqp_url: None,
            notifications: None,
            external: HashMap::new(),
            clinic: ClinicConfig::default(),
            billing_prices: None,
            billing_payments: None,
        }
    }

    pub fn notifications(
        mut self,
        hook: impl Fn(&mut notifications::Config) + Send + Sync + 'static,
    ) -> Self {
        self.notifications = Some(NotificationsHook(std::sync::Arc::new(hook)));
        self
    }
}

pub struct TestApp {
    pub gateway: String,
    /// The deployment's service secret, for service processes the test starts itself.
    pub service_secret: String,
    /// The bootstrap admin's access token; the plain helpers act as this admin.
    pub admin_token: String,
    pub urls: HashMap<Service, String>,
    pub http: reqwest::Client,
    pub database_urls: HashMap<Service, String>,
    running: RunningSystem,
    postgres_databases: Vec<String>,
    _data_dir: tempfile::TempDir,
}

/// A signed-in user of the test system.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: i64,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub token: String,
    pub refresh_token: String,
}

pub const ADMIN_EMAIL: &str = "admin@carebook.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A password the policy accepts, distinct per user.
pub fn password(n: u32) -> String {
    format!("correct horse battery staple {n}")
}

/// A response: status, headers and the JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {} {}", self.status, self.body))
    }

    /// Asserts the status and that errors are problem+json.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        if status >= 400 {
            let content_type = self.headers["content-type"].to_str().unwrap();
            assert_eq!(content_type, "application/problem+json", "{}", self.body);
            assert_eq!(self.body["status"].as_u64(), Some(u64::from(status)));
        }
        self
    }

    /// The `field`s of a validation problem, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Process-wide set-up every test needs once.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        sqlx::any::install_default_drivers();
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var("TEST_LOG").is_ok() {
            platform::telemetry::init_logging(platform::telemetry::LogFormat::Pretty);
        }
    });
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(Setup::new(backend)).await
    }

    pub async fn spawn_with(setup: Setup) -> Self {
        let backend = setup.backend;
        init();
        let data_dir = tempfile::tempdir().unwrap();
        let mut postgres_databases = Vec::new();
        let mut database_urls = HashMap::new();
        for service in Service::BACKENDS {
            let url = match backend {
                Backend::Sqlite => format!(
                    "sqlite://{}",
                    data_dir.path().join(format!("{service}.db")).display()
                ),
                Backend::Postgres => {
                    let name = unique_database_name(service.name());
                    create_postgres_database(&name).await;
                    postgres_databases.push(name.clone());
                    postgres_url(&name)
                }
            };
            database_urls.insert(service, url);
        }
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let service_secret = carebook::system::random_secret();
        let config = SystemConfig {
            data_dir: data_dir.path().to_owned(),
            database_urls: database_urls.clone(),
            clinic: setup.clinic,
            admin: Some((ADMIN_EMAIL.to_owned(), ADMIN_PASSWORD.to_owned())),
            service_secret: service_secret.clone(),
            amqp_url: setup.amqp_url,
            external: setup.external,
            notifications_hook: setup.notifications,
            billing_prices: setup.billing_prices,
            billing_payments: setup.billing_payments,
            addresses: std::iter::once(Service::Gateway)
                .chain(Service::BACKENDS)
                .map(|s| (s, loopback))
                .collect(),
            start_gate: platform::server::StartGate::open(),
        };
        let running = system::start(config).await.expect("the system starts");
        let urls = running
            .addresses
            .keys()
            .map(|s| (*s, running.url(*s)))
            .collect();
        let mut app = Self {
            gateway: running.url(Service::Gateway),
            service_secret,
            admin_token: String::new(),
            urls,
            http: reqwest::Client::new(),
            database_urls,
            running,
            postgres_databases,
            _data_dir: data_dir,
        };
        let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
        app.admin_token = tokens.body["accessToken"].as_str().unwrap().to_owned();
        app
    }

    /// The database backend the services run on.
    pub fn backend(&self) -> Backend {
        if self.database_urls[&Service::Records].starts_with("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// The system's event bus, to publish stored events again.
    pub fn bus(&self) -> &platform::events::EventBus {
        &self.running.bus
    }

    /// The system's data directory (key-encryption key, SQLite files).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.request_to(&self.gateway, method, path, body).await
    }

    /// A request to any base URL, as the bootstrap admin.
    pub async fn request_to(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.send(base, Some(&self.admin_token), method, path, body)
            .await
    }

    /// A request through the gateway as the holder of `token` (anonymous when `None`).
    pub async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.send(&self.gateway, token, method, path, body).await
    }

    async fn send(
        &self,
        base: &str,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        self.call(None, Method::POST, "/api/auth/login", Some(&body))
            .await
    }

    /// Registers patient `n` through the public endpoint and signs them in.
    pub async fn register_patient(&self, n: u32) -> Account {
        let mut body = patient_body(n);
        body["password"] = json!(password(n));
        let registered = self
            .call(None, Method::POST, "/api/auth/register", Some(&body))
            .await
            .expect(201);
        assert_eq!(registered.body["role"], "PATIENT");
        self.sign_in(&body).await
    }

    /// Has the admin register doctor `n` with an account, and signs them in.
    pub async fn register_doctor(&self, n: u32) -> Account {
        let mut body = doctor_body(n);
        body["password"] = json!(password(n));
        body["role"] = json!("DOCTOR");
        let registered = self.post("/api/auth/register", &body).await.expect(201);
        assert!(registered.body["doctorId"].is_i64(), "{}", registered.body);
        self.sign_in(&body).await
    }

    async fn sign_in(&self, registered: &Value) -> Account {
        let email = registered["email"].as_str().unwrap();
        let password = registered["password"].as_str().unwrap();
        let tokens = self.login(email, password).await.expect(200).body;
        Account {
            user_id: tokens["userId"].as_i64().unwrap(),
            patient_id: tokens["patientId"].as_i64(),
            doctor_id: tokens["doctorId"].as_i64(),
            token: tokens["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Creates a doctor (working Mon–Fri 09:00–17:00 UTC by default) and returns its id.
    pub async fn create_doctor(&self, n: u32) -> i64 {
        self.post("/api/doctors", &doctor_body(n))
            .await
            .expect(201)
            .id()
    }

    pub async fn create_patient(&self, n: u32) -> i64 {
        self.post("/api/patients", &patient_body(n))
            .await
            .expect(201)
            .id()
    }

    pub async fn book(&self, patient_id: i64, doctor_id: i64, start: &str) -> Reply {
        self.post(
            "/api/appointments",
            &json!({"patientId": patient_id, "doctorId": doctor_id,
                    "appointmentDate": start, "description": "check-up"}),
        )
        .await
    }

    /// Books as the admin and approves; the appointment's id.
    pub async fn book_approved(&self, patient_id: i64, doctor_id: i64, start: &str) -> i64 {
        let id = self
            .book(patient_id, doctor_id, start)
            .await
            .expect(201)
            .id();
        self.post(&format!("/api/appointments/{id}/approve"), &json!({}))
            .await
            .expect(200);
        id
    }

    /// Event types in a service's outbox, oldest first.
    pub async fn outbox_types(&self, service: Service) -> Vec<String> {
        let mut conn = sqlx::AnyConnection::connect(&self.database_urls[&service])
            .await
            .unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("SELECT event_type FROM outbox ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.into_iter().map(|(t,)| t).collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.running.shutdown();
        drop_postgres_databases(std::mem::take(&mut self.postgres_databases));
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

pub fn doctor_body(n: u32) -> Value {
    json!({
        "name": format!("Dr. Test {n}"),
        "email": format!("doctor{n}@example.org"),
        "phone": format!("+44 20 7946 {:04}", 1000 + n),
        "speciality": "General Practice",
    })
}

pub fn patient_body(n: u32) -> Value {
    json!({
        "name": format!("Patient {n}"),
        "email": format!("patient{n}@example.org"),
        "phone": format!("+44 20 7946 {:04}", 5000 + n),
        "dob": "1980-01-15",
        "address": "1 Test Street",
    })
}

/// A Monday at least a week ahead (bookable under the default schedule).
pub fn next_monday() -> Date {
    let mut day = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date() + 7.days();
    while day.weekday() != Weekday::Monday {
        day = day.tomorrow().unwrap();
    }
    day
}

/// `next_monday()` at `HH:MM` UTC, as the API takes it.
pub fn monday_at(time: &str) -> String {
    format!("{}T{time}:00Z", next_monday())
}

/// The identity service's signing key `kid` as stored: `(private key, kek id, nonce)`.
pub async fn stored_signing_key(app: &TestApp, kid: &str) -> identity::Sealed {
    let mut conn = sqlx::AnyConnection::connect(&app.database_urls[&Service::Identity])
        .await
        .unwrap();
    let (ciphertext, kek_id, nonce): (String, String, String) =
        sqlx::query_as("SELECT private_key, kek_id, nonce FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    identity::Sealed {
        kek_id,
        nonce,
        ciphertext,
    }
}

/// The identity service's private signing key `kid`, read from its database and opened with
/// the key-encryption key in the data directory, to forge tokens that differ from genuine
/// ones in exactly one claim.
pub async fn identity_signing_key(app: &TestApp, kid: &str) -> jsonwebtoken::EncodingKey {
    let kek = identity::MasterKey::load(app.data_dir())
        .unwrap()
        .expect("the embedded key-encryption key");
    let der = kek
        .open(
            &identity::signing_key_binding(kid),
            &stored_signing_key(app, kid).await,
        )
        .unwrap();
    jsonwebtoken::EncodingKey::from_ed_der(&der)
}
