//! At rest, neither a record's text nor its file is readable: not in the database, not in the
//! blob directory, and the data keys are not in their key file. A tampered blob is refused, and
//! a key rotation re-seals everything while the service runs.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use carebook::system::{self, SystemConfig};
use platform::config::{ClinicConfig, Service};
use platform::master_key::{MasterKey, Sealed};
use reqwest::Method;
use sqlx::Connection;

use super::files::blob_files;
use super::{appointment, download, form, record_json, upload};
use crate::helpers::{Backend, TestApp};

const CONTENT: &str = "MARKER-content-Xq7 confidential finding";
const FILE_TEXT: &str = "MARKER-file-Zr4 lab values: potassium 4.1 mmol/L\n";

/// Every byte the records database holds in its record and outbox tables, as text.
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let url = &app.database_urls[&Service::Records];
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows: Vec<(Vec<u8>, Vec<u8>, String)> =
        sqlx::query_as("SELECT r.sealed, r.nonce, o.payload FROM medical_records r, outbox o")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut all = Vec::new();
    for (sealed, nonce, payload) in rows {
        all.extend(sealed);
        all.extend(nonce);
        all.extend(payload.into_bytes());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The SQLite files themselves, main and write-ahead log.
fn sqlite_files(app: &TestApp) -> Vec<u8> {
    ["records.db", "records.db-wal"]
        .iter()
        .flat_map(|name| std::fs::read(app.data_dir().join(name)).unwrap_or_default())
        .collect()
}

async fn nothing_is_stored_in_the_clear_and_a_tampered_blob_is_refused(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let record = record_json(care.patient_id(), "Potassium", CONTENT).to_string();
    let file = ("lab.txt", "text/plain", FILE_TEXT.as_bytes());
    let id = upload(app, &care.doctor.token, form(Some(&record), Some(file)))
        .await
        .expect(201)
        .id();

    let stored = stored_bytes(app).await;
    assert!(!stored.is_empty());
    for secret in [CONTENT, "Potassium", "lab.txt", "MARKER-file"] {
        assert!(
            !contains(&stored, secret),
            "{secret} is in the database in the clear"
        );
    }
    if app.backend() == Backend::Sqlite {
        let raw = sqlite_files(app);
        assert!(raw.len() > 4096);
        assert!(
            !contains(&raw, "MARKER"),
            "the SQLite file holds a marker in the clear"
        );
    }
    let blobs = blob_files(app);
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let path = app.data_dir().join("records-blobs").join(&blobs[0]);
    let mut sealed = std::fs::read(&path).unwrap();
    assert!(
        !contains(&sealed, "MARKER"),
        "the blob holds the file in the clear"
    );

    // One flipped bit on disk: refused, never served.
    sealed[10] ^= 1;
    std::fs::write(&path, &sealed).unwrap();
    let (status, content_type, _, body) =
        download(app, &care.patient.token, care.patient_id(), id).await;
    assert_eq!(status, 500);
    assert_eq!(content_type, "application/problem+json");
    assert!(!contains(&body, "MARKER"));
}

async fn a_key_rotation_reseals_every_record_while_the_service_runs(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let token = &care.doctor.token;
    let record = record_json(care.patient_id(), "Before", CONTENT).to_string();
    let file = ("lab.txt", "text/plain", FILE_TEXT.as_bytes());
    let old = upload(app, token, form(Some(&record), Some(file)))
        .await
        .expect(201)
        .id();
    let plain = record_json(care.patient_id(), "Plain", "no file");
    app.call(Some(token), Method::POST, "/api/records", Some(&plain))
        .await
        .expect(201);

    let mut config = records::Config::from_env(app.data_dir()).unwrap();
    config.database_url = app.database_urls[&Service::Records].clone().into();
    config.keys = records::keys::KeySource::File(app.data_dir().join("records.keys"));
    config.blob_location = app.data_dir().join("records-blobs").display().to_string();
    let rotation = records::rotate_key(&config).await.unwrap();
    assert_eq!((rotation.texts, rotation.files), (2, 1));

    // New records carry the new key; every record and file still opens.
    let after = record_json(care.patient_id(), "After", "written after rotation");
    app.call(Some(token), Method::POST, "/api/records", Some(&after))
        .await
        .expect(201);
    let url = &app.database_urls[&Service::Records];
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let keys: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT key_id, file_key_id FROM medical_records ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|(k, _)| *k == rotation.key_id), "{keys:?}");
    assert_eq!(keys[0].1.as_deref(), Some(rotation.key_id.as_str()));
    let list = format!("/api/records/{}", care.patient_id());
    let listed = app
        .call(Some(&care.patient.token), Method::GET, &list, None)
        .await
        .expect(200);
    assert_eq!(listed.body["total"], 3);
    let (status, _, _, bytes) = download(app, &care.patient.token, care.patient_id(), old).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, FILE_TEXT.as_bytes());
    assert_eq!(blob_files(app).len(), 1, "the old blob is gone");
}

/// The data keys in the key file, each opened with the master key in the data directory; fails
/// on a line that is not sealed.
fn sealed_keys(app: &TestApp) -> Vec<(String, [u8; 32])> {
    let master = MasterKey::load(app.data_dir()).unwrap().unwrap();
    let text = std::fs::read_to_string(app.data_dir().join("records.keys")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let [id, kek_id, nonce, ciphertext] = fields[..] else {
                panic!("not a sealed key line: {line}");
            };
            let sealed = Sealed {
                kek_id: kek_id.to_owned(),
                nonce: nonce.to_owned(),
                ciphertext: ciphertext.to_owned(),
            };
            let key = master
                .open(&records::key_file::binding(id), &sealed)
                .unwrap();
            (id.to_owned(), key.try_into().unwrap())
        })
        .collect()
}

/// A second records service on the same database, blobs and key file (what a restart reads),
/// with its own gateway; the other services are the test system's.
async fn start_records_again(app: &TestApp) -> system::RunningSystem {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let external = Service::BACKENDS
        .iter()
        .filter(|s| **s != Service::Records)
        .map(|s| (*s, vec![app.urls[s].clone()]))
        .collect();
    let config = SystemConfig {
        data_dir: app.data_dir().to_owned(),
        database_urls: app.database_urls.clone(),
        clinic: ClinicConfig::default(),
        admin: None,
        service_secret: app.service_secret.clone(),
        amqp_url: None,
        external,
        notifications_hook: None,
        billing_prices: None,
        billing_payments: None,
        start_gate: platform::server::StartGate::open(),
        addresses: [Service::Gateway, Service::Records]
            .into_iter()
            .map(|s| (s, loopback))
            .collect::<HashMap<_, _>>(),
    };
    system::start(config).await.expect("records starts again")
}

async fn the_key_file_holds_no_key_and_a_restart_opens_every_record(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let record = record_json(care.patient_id(), "Potassium", CONTENT).to_string();
    let file = ("lab.txt", "text/plain", FILE_TEXT.as_bytes());
    let id = upload(app, &care.doctor.token, form(Some(&record), Some(file)))
        .await
        .expect(201)
        .id();

    // Every line is sealed under the master key, and no key is in the file as bytes or base64.
    let path = app.data_dir().join("records.keys");
    let keys = sealed_keys(app);
    assert_eq!(keys.len(), 1);
    let raw = std::fs::read(&path).unwrap();
    for (_, key) in &keys {
        assert!(!contains(&raw, &STANDARD.encode(key)));
        assert!(!raw.windows(32).any(|w| w == key.as_slice()));
    }

    // The file as a version before sealing wrote it: a restart seals it again and opens every
    // record with the same keys.
    let clear: String = keys
        .iter()
        .map(|(id, key)| format!("{id} {}\n", STANDARD.encode(key)))
        .collect();
    std::fs::write(&path, &clear).unwrap();
    let again = start_records_again(app).await;
    assert_eq!(sealed_keys(app), keys, "the same keys, sealed again");
    let gateway = again.url(Service::Gateway);
    let list = app
        .http
        .get(format!("{gateway}/api/records/{}", care.patient_id()))
        .bearer_auth(&care.patient.token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list["items"][0]["content"], CONTENT);
    let file = app
        .http
        .get(format!(
            "{gateway}/api/records/{}/{id}/file",
            care.patient_id()
        ))
        .bearer_auth(&care.patient.token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap(), FILE_TEXT.as_bytes());
    again.shutdown();
}

on_both_backends!(
    nothing_is_stored_in_the_clear_and_a_tampered_blob_is_refused,
    a_key_rotation_reseals_every_record_while_the_service_runs,
    the_key_file_holds_no_key_and_a_restart_opens_every_record,
);
