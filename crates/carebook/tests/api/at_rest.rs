//! What lies on disk: a private data directory, and signing keys that a copy of the identity
//! database alone cannot use.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use carebook::system::{self, SystemConfig};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use platform::auth::{AUDIENCE, Claims, ISSUER, Role};
use platform::config::{ClinicConfig, Service};
use reqwest::Method;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, identity_signing_key, stored_signing_key,
};

fn admin_claims() -> Claims {
    let now = Timestamp::now().as_second();
    Claims {
        sub: "1".to_owned(),
        role: Role::Admin,
        patient_id: None,
        doctor_id: None,
        exp: now + 300,
        iat: now,
        nbf: now,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: "forged".to_owned(),
    }
}

/// The status the gateway answers a token with `kid` signed by `key`; `None` when the key
/// cannot even sign.
async fn gateway_answer(app: &TestApp, kid: &str, key: &EncodingKey) -> Option<u16> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let token = encode(&header, &admin_claims(), key).ok()?;
    let reply = app
        .call(Some(&token), Method::GET, "/api/doctors", None)
        .await;
    Some(reply.status.as_u16())
}

async fn a_signing_key_read_from_the_database_alone_signs_nothing(app: &TestApp) {
    let jwks = app.get("/.well-known/jwks.json").await.expect(200).body;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let stored = stored_signing_key(app, &kid).await;
    let bytes = STANDARD.decode(&stored.ciphertext).unwrap();

    // What an attacker with a copy of the database has: not a PKCS#8 Ed25519 key...
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    assert!(ed25519_dalek::SigningKey::from_pkcs8_der(&bytes).is_err());
    // ...and neither the bytes as a key nor their first 32 bytes as a seed sign a token the
    // gateway accepts.
    let as_der = EncodingKey::from_ed_der(&bytes);
    let seed: [u8; 32] = bytes[..32].try_into().unwrap();
    let from_seed = ed25519_dalek::SigningKey::from_bytes(&seed);
    let as_seed = EncodingKey::from_ed_der(from_seed.to_pkcs8_der().unwrap().as_bytes());
    for (name, key) in [
        ("the stored bytes", as_der),
        ("their first 32 bytes", as_seed),
    ] {
        let answer = gateway_answer(app, &kid, &key).await;
        assert!(matches!(answer, None | Some(401)), "{name}: {answer:?}");
    }

    // With the key-encryption key the same row opens, and its token is accepted: the refusals
    // above are the sealing's doing.
    let opened = identity_signing_key(app, &kid).await;
    assert_eq!(gateway_answer(app, &kid, &opened).await, Some(200));
}

on_both_backends!(a_signing_key_read_from_the_database_alone_signs_nothing);

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_every_file_in_it_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    crate::helpers::init();
    let root = tempfile::tempdir().unwrap();
    // An older version's directory: world-readable, with a world-readable database.
    let dir = root.path().join("carebook-data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("identity.db"), b"").unwrap();
    std::fs::set_permissions(
        dir.join("identity.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let database_urls: HashMap<Service, String> = Service::BACKENDS
        .iter()
        .map(|s| {
            (
                *s,
                format!("sqlite://{}", dir.join(format!("{s}.db")).display()),
            )
        })
        .collect();
    let config = SystemConfig {
        data_dir: dir.clone(),
        database_urls,
        clinic: ClinicConfig::default(),
        admin: Some((ADMIN_EMAIL.to_owned(), ADMIN_PASSWORD.to_owned())),
        service_secret: system::random_secret(),
        amqp_url: None,
        external: HashMap::new(),
        notifications_hook: None,
        billing_prices: None,
        billing_payments: None,
        start_gate: platform::server::StartGate::open(),
        addresses: std::iter::once(Service::Gateway)
            .chain(Service::BACKENDS)
            .map(|s| (s, loopback))
            .collect(),
    };
    let running = system::start(config).await.expect("the system starts");
    // A login writes (WAL and shared-memory files exist from here on).
    let gateway = running.url(Service::Gateway);
    let login = reqwest::Client::new()
        .post(format!("{gateway}/api/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    assert_eq!(mode(&dir), 0o700);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Directories inside (the records' blob store) are as private as the data dir.
        let private = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), private, "{name}");
        names.push(name);
    }
    for expected in [
        identity::MASTER_KEY_FILE,
        "identity.db",
        "identity.db-wal",
        "patients.db-shm",
        "records.keys",
        "records-blobs",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    running.shutdown();
}
