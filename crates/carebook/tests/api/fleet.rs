//! Two instances of every service and a gateway, each a real `carebook serve` process, on
//! PostgreSQL, RabbitMQ and Redis, under a booking and approval workload from many clients:
//!
//! - one instance of every service is SIGKILLed mid-run: no idempotent request fails at the
//!   client, nothing is booked twice, every notification is stored and sent once, every
//!   invoice created once;
//! - then every instance is restarted in turn (SIGTERM, start again, wait until ready) under
//!   load: no request fails at all.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine;
use futures::future::join_all;
use platform::config::Service;
use platform::testing::unique_database_name;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::Mutex;

use crate::events::{assert_each_once_and_sent, eventually, slot_start, stored_notifications};
use crate::fixtures::process::{ServiceProcess, free_ports, one_fleet_at_a_time};
use crate::fixtures::rabbitmq::TestVhost;
use crate::fixtures::smtp::SmtpServer;
use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, create_postgres_database, doctor_body, drop_postgres_databases,
    patient_body, postgres_url,
};

const DOCTORS: u32 = 4;
const PATIENTS: u32 = 16;
/// Clients booking and approving at once.
const CLIENTS: usize = 4;
/// How long an instance drains before it stops accepting; the gateway checks readiness
/// several times meanwhile.
const DRAIN_MS: &str = "500";
const HEALTH_CHECK_MS: &str = "100";
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

/// The deployment: its databases, broker vhost, Redis prefix and every process.
struct Fleet {
    gateway: ServiceProcess,
    /// Two instances per backend service, each on a fixed port for its whole life.
    instances: HashMap<Service, [ServiceProcess; 2]>,
    envs: HashMap<Service, Vec<(String, String)>>,
    database_urls: HashMap<Service, String>,
    databases: Vec<String>,
    redis_prefix: String,
    _vhost: TestVhost,
    _blobs: tempfile::TempDir,
}

fn redis_url() -> String {
    std::env::var("CAREBOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl Fleet {
    async fn start(smtp: &SmtpServer) -> Self {
        let vhost = TestVhost::create().await;
        let blobs = tempfile::tempdir().unwrap();
        let distinct = free_ports::<{ 2 * Service::BACKENDS.len() }>();
        let ports: HashMap<Service, [u16; 2]> = Service::BACKENDS
            .iter()
            .zip(distinct.chunks_exact(2))
            .map(|(s, pair)| (*s, [pair[0], pair[1]]))
            .collect();
        let mut shared: Vec<(String, String)> = Service::BACKENDS
            .iter()
            .map(|s| {
                let [a, b] = ports[s];
                let key = format!("CAREBOOK_{}_URL", s.name().to_uppercase());
                (key, format!("http://127.0.0.1:{a},http://127.0.0.1:{b}"))
            })
            .collect();
        shared.extend(pairs(&[
            ("CAREBOOK_SHUTDOWN_DRAIN_MS", DRAIN_MS.to_owned()),
            // Sixteen instances: 32 pooled connections, besides each relay's and listener's.
            ("CAREBOOK_DB_MAX_CONNECTIONS", "2".to_owned()),
        ]));
        let secret = carebook::system::random_secret();
        let records_key =
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let mut databases = Vec::new();
        let mut database_urls = HashMap::new();
        let mut envs = HashMap::new();
        for service in Service::BACKENDS {
            let name = unique_database_name(service.name());
            create_postgres_database(&name).await;
            databases.push(name.clone());
            database_urls.insert(service, postgres_url(&name));
            let own = match service {
                Service::Identity => pairs(&[
                    (
                        "CAREBOOK_MASTER_KEY",
                        identity::MasterKey::generate().to_base64(),
                    ),
                    ("CAREBOOK_SERVICE_SECRET", secret.clone()),
                    ("CAREBOOK_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
                    ("CAREBOOK_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
                ]),
                Service::Notifications => pairs(&[
                    ("CAREBOOK_SERVICE_SECRET", secret.clone()),
                    ("CAREBOOK_SMTP_URL", smtp.url()),
                    // What a killed instance had claimed is sent by the other after this.
                    ("CAREBOOK_NOTIFICATION_LEASE_SECS", "10".to_owned()),
                ]),
                Service::Records => pairs(&[
                    ("CAREBOOK_RECORDS_KEYS", format!("k1:{records_key}")),
                    (
                        "CAREBOOK_RECORDS_BLOB_URL",
                        blobs.path().display().to_string(),
                    ),
                ]),
                _ => Vec::new(),
            };
            let database = format!("CAREBOOK_{}_DATABASE_URL", service.name().to_uppercase());
            let mut env = shared.clone();
            env.extend(own);
            env.extend(pairs(&[
                (&database, postgres_url(&name)),
                ("CAREBOOK_AMQP_URL", vhost.amqp_url()),
            ]));
            envs.insert(service, env);
        }
        // The first instances first: one of them migrates each database, and identity's
        // creates the admin and the signing key before the second starts.
        let spawn_all = |index: usize| {
            let (ports, envs) = (&ports, &envs);
            join_all(Service::BACKENDS.map(|s| async move {
                ServiceProcess::spawn_on(s.name(), ports[&s][index], &envs[&s]).await
            }))
        };
        let first = spawn_all(0).await;
        let second = spawn_all(1).await;
        let instances: HashMap<Service, [ServiceProcess; 2]> = Service::BACKENDS
            .into_iter()
            .zip(first.into_iter().zip(second))
            .map(|(s, (a, b))| (s, [a, b]))
            .collect();
        let redis_prefix = format!("carebook-test-{}", uuid_like());
        let mut gateway_env = shared.clone();
        gateway_env.extend(pairs(&[
            ("CAREBOOK_REDIS_URL", redis_url()),
            ("CAREBOOK_REDIS_PREFIX", redis_prefix.clone()),
            (
                "CAREBOOK_HEALTH_CHECK_INTERVAL_MS",
                HEALTH_CHECK_MS.to_owned(),
            ),
            // A loaded test machine answers slowly; a timeout is not what this test is about.
            ("CAREBOOK_UPSTREAM_TIMEOUT_SECS", "30".to_owned()),
            ("CAREBOOK_RATE_LIMIT_PER_MINUTE", "1000000".to_owned()),
            ("CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE", "1000000".to_owned()),
        ]));
        let gateway = ServiceProcess::spawn("gateway", &gateway_env).await;
        let mut fleet = Self {
            gateway,
            instances,
            envs,
            database_urls,
            databases,
            redis_prefix,
            _vhost: vhost,
            _blobs: blobs,
        };
        for pair in fleet.instances.values_mut() {
            for instance in pair {
                instance.wait_until_ready().await;
            }
        }
        fleet.gateway.wait_until_ready().await;
        fleet
    }

    /// SIGKILLs instance `index` of every service at once.
    fn kill_all(&mut self, index: usize) {
        for pair in self.instances.values_mut() {
            pair[index].kill_hard();
        }
    }

    /// Starts instance `index` of every service again on its port, and waits until each is
    /// ready; with `terminate`, first stops each gracefully (SIGTERM) and waits for its exit.
    async fn restart_all(&mut self, index: usize, terminate: bool) {
        let envs = &self.envs;
        join_all(self.instances.iter_mut().map(|(service, pair)| async move {
            let instance = &mut pair[index];
            if terminate {
                instance.terminate(EXIT_DEADLINE).await;
            }
            let port = instance.port();
            let mut fresh = ServiceProcess::spawn_on(service.name(), port, &envs[service]).await;
            fresh.wait_until_ready().await;
            *instance = fresh;
        }))
        .await;
    }

    async fn query<T>(&self, service: Service, sql: &'static str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let mut conn = sqlx::AnyConnection::connect(&self.database_urls[&service])
            .await
            .unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
        let _ = conn.close().await;
        rows
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for pair in self.instances.values_mut() {
            for instance in pair {
                instance.kill_hard();
            }
        }
        self.gateway.kill_hard();
        drop_postgres_databases(std::mem::take(&mut self.databases));
        if let Ok(client) = redis::Client::open(redis_url())
            && let Ok(mut conn) = client.get_connection()
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.redis_prefix))
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        }
    }
}

fn uuid_like() -> String {
    rand::random::<[u8; 8]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the clients saw.
#[derive(Debug, Default)]
struct Tally {
    /// Idempotent requests (reads, bookings with an `Idempotency-Key`) that failed.
    idempotent_failures: Vec<String>,
    /// Approvals (plain POSTs) that failed and were sent again.
    other_failures: Vec<String>,
    /// Appointments booked and approved.
    approved: Vec<i64>,
}

/// A client of the gateway, acting as the admin.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    gateway: String,
    token: String,
    tally: Arc<Mutex<Tally>>,
}

impl Client {
    async fn new(gateway: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let login = http
            .post(format!("{gateway}/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let body: Value = login.json().await.unwrap();
        Self {
            http,
            gateway: gateway.to_owned(),
            token: body["accessToken"].as_str().unwrap().to_owned(),
            tally: Arc::default(),
        }
    }

    /// One request: its status and JSON body, or the transport error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.gateway))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Sends until the answer is `expected`. Every other answer is a failure the tally
    /// keeps (idempotent or not), then the same request goes again, as a client would.
    async fn until(
        &self,
        (method, path): (Method, &str),
        body: Option<&Value>,
        key: Option<&str>,
        expected: StatusCode,
    ) -> Value {
        let idempotent = method == Method::GET || key.is_some();
        for _ in 0..20 {
            let answer = self.send(method.clone(), path, body, key).await;
            match answer {
                Ok((status, body)) if status == expected => return body,
                // An approval the lost first attempt already made.
                Ok((StatusCode::CONFLICT, _)) if path.ends_with("/approve") => return Value::Null,
                other => {
                    let failure = format!("{method} {path}: {other:?}");
                    let mut tally = self.tally.lock().await;
                    if idempotent {
                        tally.idempotent_failures.push(failure);
                    } else {
                        tally.other_failures.push(failure);
                    }
                }
            }
        }
        panic!("{method} {path} kept failing");
    }

    /// Books slot `n` (a distinct doctor and time for every `n`), reads it back, approves it
    /// as its doctor would, reads the doctor's free slots of that day.
    async fn book_and_approve(&self, n: u32, doctors: &[i64], patients: &[i64]) {
        let (d, slot) = (n % DOCTORS, n / DOCTORS);
        let p = (slot * DOCTORS + d) % PATIENTS;
        let (doctor, patient) = (doctors[d as usize], patients[p as usize]);
        let start = slot_start(slot);
        let booking = json!({"patientId": patient, "doctorId": doctor,
                             "appointmentDate": start, "description": "check-up"});
        let key = format!("fleet-booking-{n}");
        let created = self
            .until(
                (Method::POST, "/api/appointments"),
                Some(&booking),
                Some(&key),
                StatusCode::CREATED,
            )
            .await;
        let id = created["id"].as_i64().unwrap();
        let path = format!("/api/appointments/{id}");
        self.until((Method::GET, &path), None, None, StatusCode::OK)
            .await;
        let approve = json!({"appointmentId": id});
        self.until(
            (Method::POST, "/api/doctors/appointments/approve"),
            Some(&approve),
            None,
            StatusCode::OK,
        )
        .await;
        let read = self
            .until((Method::GET, &path), None, None, StatusCode::OK)
            .await;
        assert_eq!(read["status"], "APPROVED", "{read}");
        let day = &start[..10];
        let slots = format!("/api/doctors/{doctor}/slots?from={day}&to={day}");
        self.until((Method::GET, &slots), None, None, StatusCode::OK)
            .await;
        self.tally.lock().await.approved.push(id);
    }
}

/// `CLIENTS` clients taking slot numbers from `next` until `stop` is set; each finishes the
/// booking it is on.
async fn workload(
    client: &Client,
    next: &AtomicU32,
    stop: &AtomicBool,
    doctors: &[i64],
    patients: &[i64],
) {
    join_all((0..CLIENTS).map(|_| async {
        while !stop.load(Ordering::Acquire) {
            let n = next.fetch_add(1, Ordering::Relaxed);
            assert!(n < DOCTORS * 16 * 5, "out of free slots");
            client.book_and_approve(n, doctors, patients).await;
        }
    }))
    .await;
}

/// Waits until `count` more appointments are approved than `from`.
async fn approved_beyond(client: &Client, from: usize, count: usize) {
    eventually(&format!("{count} more approvals"), || async {
        (client.tally.lock().await.approved.len() >= from + count).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_killed_and_restarted_under_load_fail_no_request() {
    let _turn = one_fleet_at_a_time().await;
    let smtp = SmtpServer::start().await;
    let mut fleet = Fleet::start(&smtp).await;
    let client = Client::new(fleet.gateway.url()).await;
    let mut doctors = Vec::new();
    for n in 1..=DOCTORS {
        let body = doctor_body(n);
        let created = client
            .until(
                (Method::POST, "/api/doctors"),
                Some(&body),
                None,
                StatusCode::CREATED,
            )
            .await;
        doctors.push(created["id"].as_i64().unwrap());
    }
    let mut patients = Vec::new();
    for n in 1..=PATIENTS {
        let body = patient_body(n);
        let created = client
            .until(
                (Method::POST, "/api/patients"),
                Some(&body),
                None,
                StatusCode::CREATED,
            )
            .await;
        patients.push(created["id"].as_i64().unwrap());
    }
    let next = AtomicU32::new(0);

    // Phase 1: one instance of every service dies mid-run.
    let stop = AtomicBool::new(false);
    let run = workload(&client, &next, &stop, &doctors, &patients);
    let kill = async {
        approved_beyond(&client, 0, 8).await;
        fleet.kill_all(0);
        eprintln!("killed one instance of every service");
        let killed_at = client.tally.lock().await.approved.len();
        approved_beyond(&client, killed_at, 8).await;
        stop.store(true, Ordering::Release);
    };
    tokio::join!(run, kill);
    {
        let tally = client.tally.lock().await;
        assert!(
            tally.idempotent_failures.is_empty(),
            "idempotent requests failed: {:#?}",
            tally.idempotent_failures
        );
    }
    fleet.restart_all(0, false).await;
    eprintln!("started the killed instances again");
    let killed_phase_failures = client.tally.lock().await.other_failures.len();

    // Phase 2: every instance restarted in turn, under load.
    let stop = AtomicBool::new(false);
    let before = client.tally.lock().await.approved.len();
    let run = workload(&client, &next, &stop, &doctors, &patients);
    let roll = async {
        approved_beyond(&client, before, 4).await;
        fleet.restart_all(0, true).await;
        eprintln!("restarted the first instances");
        fleet.restart_all(1, true).await;
        eprintln!("restarted the second instances");
        let restarted = client.tally.lock().await.approved.len();
        approved_beyond(&client, restarted, 4).await;
        stop.store(true, Ordering::Release);
    };
    tokio::join!(run, roll);
    let tally = client.tally.lock().await;
    assert!(
        tally.idempotent_failures.is_empty() && tally.other_failures.len() == killed_phase_failures,
        "requests failed during the rolling restart: {:#?} {:#?}",
        tally.idempotent_failures,
        &tally.other_failures[killed_phase_failures..]
    );

    // Nothing booked twice: one row per booked slot, each approved.
    let ids: HashSet<i64> = tally.approved.iter().copied().collect();
    assert_eq!(ids.len(), tally.approved.len());
    let rows: Vec<(i64, i64, i64, String)> = fleet
        .query(
            Service::Appointments,
            "SELECT id, doctor_id, start_at, status FROM appointments",
        )
        .await;
    assert_eq!(rows.len(), ids.len(), "appointments stored vs booked");
    let slots: HashSet<(i64, i64)> = rows.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(slots.len(), rows.len(), "a doctor's time booked twice");
    assert!(rows.iter().all(|r| r.3 == "APPROVED" && ids.contains(&r.0)));

    // Every invoice once, and its event once.
    let invoiced = || async {
        let invoices: Vec<(i64,)> = fleet
            .query(Service::Billing, "SELECT appointment_id FROM invoices")
            .await;
        (invoices.len() >= ids.len()).then_some(invoices)
    };
    let invoices = eventually("an invoice per approval", invoiced).await;
    let invoiced: HashSet<i64> = invoices.iter().map(|r| r.0).collect();
    assert_eq!((invoices.len(), &invoiced), (ids.len(), &ids));
    let created: Vec<(String,)> = fleet
        .query(
            Service::Billing,
            "SELECT event_type FROM outbox WHERE event_type = 'InvoiceCreated'",
        )
        .await;
    assert_eq!(created.len(), ids.len());

    // Every notification once: a request to approve for the doctor, a confirmation for
    // each, in the app and by e-mail. Notifications a killed instance had claimed wait for
    // its lease to run out.
    let expected = 6 * ids.len();
    let url = fleet.database_urls[&Service::Notifications].clone();
    let rows = eventually(&format!("{expected} sent notifications"), || async {
        let rows = stored_notifications(&url).await;
        let settled = rows.len() >= expected && rows.iter().all(|r| r.status != "PENDING");
        settled.then_some(rows)
    })
    .await;
    assert_eq!(rows.len(), expected);
    assert_each_once_and_sent(&rows);
    // E-mail is at least once across a crash; its stable Message-ID makes it once for the
    // reader.
    let mails = smtp.wait_for(3 * ids.len(), Duration::from_secs(90)).await;
    let distinct: HashSet<String> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
    assert_eq!(distinct.len(), 3 * ids.len());
}

/// The first step of a graceful shutdown, seen from outside: after SIGTERM the instance says it
/// is not ready, still serves requests (asking callers to close their connections), then exits.
#[tokio::test]
async fn after_sigterm_readiness_fails_first_while_requests_are_served() {
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", data.path().join("identity.db").display());
    let envs = pairs(&[
        ("CAREBOOK_IDENTITY_DATABASE_URL", database),
        (
            "CAREBOOK_MASTER_KEY",
            identity::MasterKey::generate().to_base64(),
        ),
        ("CAREBOOK_SHUTDOWN_DRAIN_MS", "5000".to_owned()),
    ]);
    let mut identity = ServiceProcess::spawn("identity", &envs).await;
    identity.wait_until_ready().await;
    let http = reqwest::Client::new();
    let ready = format!("{}/health/ready", identity.url());
    let jwks = format!("{}/.well-known/jwks.json", identity.url());

    identity.send_sigterm();
    eventually("readiness to fail", || async {
        let answer = http.get(&ready).send().await.ok()?;
        (answer.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    let served = http.get(&jwks).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["connection"], "close");
    identity.wait_for_exit(EXIT_DEADLINE).await;
    assert!(
        http.get(&ready).send().await.is_err(),
        "nothing listens any more"
    );
}
