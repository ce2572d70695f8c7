//! Forged, altered, expired and replayed credentials are all refused with 401.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use platform::auth::{AUDIENCE, Claims, ISSUER, Role};
use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// The identity service's published signing key: its `kid` and raw Ed25519 public key.
async fn published_key(app: &TestApp) -> (String, Vec<u8>) {
    let jwks = app.get("/.well-known/jwks.json").await.expect(200).body;
    let key = &jwks["keys"][0];
    let x = B64.decode(key["x"].as_str().unwrap()).unwrap();
    (key["kid"].as_str().unwrap().to_owned(), x)
}

fn claims(role: Role, exp_in: i64, aud: &str) -> Claims {
    let now = Timestamp::now().as_second();
    Claims {
        sub: "1".to_owned(),
        role,
        patient_id: None,
        doctor_id: None,
        exp: now + exp_in,
        iat: now,
        nbf: now,
        iss: ISSUER.to_owned(),
        aud: aud.to_owned(),
        jti: "test".to_owned(),
    }
}

/// A fresh Ed25519 key that is not the identity service's.
fn foreign_key() -> EncodingKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes())
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.call(Some(token), Method::GET, "/api/auth/me", None)
        .await
        .status
        .as_u16()
}

async fn forged_and_altered_tokens_are_refused(app: &TestApp) {
    let patient = app.register_patient(1).await;
    assert_eq!(
        me(app, &patient.token).await,
        200,
        "the genuine token works"
    );
    let (kid, public_key) = published_key(app).await;

    // Tampered payload: the role raised to ADMIN, the signature kept.
    let parts: Vec<&str> = patient.token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("ADMIN");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(payload.to_string()),
        parts[2]
    );

    // Signed with another Ed25519 key under the real kid.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    let wrong_key = encode(&header, &claims(Role::Admin, 300, AUDIENCE), &foreign_key()).unwrap();

    // `alg: none`, no signature.
    let none_header = B64.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let none_body = B64.encode(serde_json::to_vec(&claims(Role::Admin, 300, AUDIENCE)).unwrap());
    let alg_none = format!("{none_header}.{none_body}.");

    // HS256 with the public key as the HMAC secret (the classic key-confusion attack).
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid);
    let confused = encode(
        &hs_header,
        &claims(Role::Admin, 300, AUDIENCE),
        &EncodingKey::from_secret(&public_key),
    )
    .unwrap();

    for (name, token) in [
        ("tampered payload", tampered.as_str()),
        ("wrong key", wrong_key.as_str()),
        ("alg none", alg_none.as_str()),
        ("HS256 with the public key", confused.as_str()),
        ("garbage", "not.a.token"),
    ] {
        let reply = app
            .call(Some(token), Method::GET, "/api/auth/me", None)
            .await
            .expect(401);
        assert!(reply.headers.contains_key("www-authenticate"), "{name}");
        // Every service checks again: the token is refused on a service port too.
        let direct = &app.urls[&Service::Patients];
        let status = app
            .http
            .get(format!("{direct}/api/patients"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{name} on the patient service's own port");
    }
}

async fn expired_and_misaddressed_tokens_are_refused(app: &TestApp) {
    let (kid, _) = published_key(app).await;
    let key = crate::helpers::identity_signing_key(app, &kid).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    let valid = encode(&header, &claims(Role::Admin, 300, AUDIENCE), &key).unwrap();
    assert_eq!(
        me(app, &valid).await,
        200,
        "a well-formed token signed with the real key works"
    );
    let expired = encode(&header, &claims(Role::Admin, -3600, AUDIENCE), &key).unwrap();
    assert_eq!(me(app, &expired).await, 401, "expired");
    let elsewhere = encode(&header, &claims(Role::Admin, 300, "another-api"), &key).unwrap();
    assert_eq!(me(app, &elsewhere).await, 401, "wrong audience");
}

async fn a_reused_refresh_token_revokes_its_family(app: &TestApp) {
    let patient = app.register_patient(1).await;
    let refresh = |token: &str| {
        let body = json!({"refreshToken": token});
        async move {
            app.call(None, Method::POST, "/api/auth/refresh", Some(&body))
                .await
        }
    };
    let rotated = refresh(&patient.refresh_token).await.expect(200);
    let second = rotated.body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, patient.refresh_token);
    // The first token was used: presenting it again is theft or a bug, and ends the family.
    refresh(&patient.refresh_token).await.expect(401);
    refresh(&second).await.expect(401);
}

async fn service_ports_refuse_calls_without_a_token(app: &TestApp) {
    for service in [
        Service::Patients,
        Service::Doctors,
        Service::Appointments,
        Service::Identity,
    ] {
        let base = &app.urls[&service];
        for path in [
            "/api/patients/1",
            "/api/doctors",
            "/api/appointments",
            "/api/auth/me",
            "/api/audit",
        ] {
            let status = app
                .http
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status == 401 || status == 404,
                "{service}{path} answered {status} without a token"
            );
        }
        let own = app
            .http
            .get(format!("{base}/api/audit"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(own, 401, "{service} /api/audit");
    }
}

on_both_backends!(
    forged_and_altered_tokens_are_refused,
    expired_and_misaddressed_tokens_are_refused,
    a_reused_refresh_token_revokes_its_family,
    service_ports_refuse_calls_without_a_token,
);

#[tokio::test]
async fn logins_after_repeated_failures_are_refused_without_slowing_others() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let victim = app.register_patient(1).await;
    let bystander = app.register_patient(2).await;
    let victim_email = crate::helpers::patient_body(1)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last = 0;
    for _ in 0..200 {
        last = app
            .login(&victim_email, "definitely the wrong password")
            .await
            .status
            .as_u16();
    }
    assert_eq!(last, 429, "the account is locked after repeated failures");
    let reply = app
        .login(&victim_email, &crate::helpers::password(1))
        .await
        .expect(429);
    assert!(
        reply.headers.contains_key("retry-after"),
        "even the right password waits"
    );

    let started = std::time::Instant::now();
    let other_email = crate::helpers::patient_body(2)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    app.login(&other_email, &crate::helpers::password(2))
        .await
        .expect(200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "other users are not slowed"
    );
    let _ = (victim, bystander);
}
