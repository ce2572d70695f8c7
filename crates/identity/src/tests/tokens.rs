//! Access tokens every service accepts, the JWKS, refresh rotation, logout, key rotation.

use platform::auth::{Role, TokenVerifier};
use serde_json::json;

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, TestIdentity};

#[tokio::test]
async fn a_login_answers_tokens_that_the_shared_verifier_accepts() {
    let app = TestIdentity::spawn(|_| {}).await;
    let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    assert_eq!(pair.headers["cache-control"], "no-store");
    assert_eq!(pair.body["tokenType"], "Bearer");
    assert_eq!(pair.body["expiresIn"], 900);
    assert_eq!(pair.body["role"], "ADMIN");
    assert!(pair.body.get("patientId").is_none());
    let user_id = pair.body["userId"].as_i64().unwrap();

    // What every other service does with a token.
    let verifier = TokenVerifier::new(std::slice::from_ref(&app.url));
    let principal = verifier.verify(&pair.text("accessToken")).await.unwrap();
    assert_eq!((principal.user_id, principal.role), (user_id, Role::Admin));

    let jwks = app.get("/.well-known/jwks.json", None).await.expect(200);
    let header = jsonwebtoken::decode_header(pair.text("accessToken")).unwrap();
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks.body["keys"][0]["kid"].as_str(), header.kid.as_deref());
    assert_eq!(jwks.body["keys"][0]["kty"], "OKP");
    assert!(
        jwks.body["keys"][0].get("d").is_none(),
        "never the private key"
    );
}

#[tokio::test]
async fn me_answers_the_callers_account_without_the_hash() {
    let app = TestIdentity::spawn(|_| {}).await;
    let token = app.admin_token().await;
    let me = app.get("/api/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.body["email"], ADMIN_EMAIL);
    assert_eq!(me.body["role"], "ADMIN");
    assert!(me.body["createdAt"].is_string());
    assert!(!me.body.to_string().contains("argon2"), "{}", me.body);

    app.get("/api/auth/me", None).await.expect(401);
    let mut tampered = token.clone();
    tampered.insert(tampered.len() - 3, 'x');
    app.get("/api/auth/me", Some(&tampered)).await.expect(401);
    // A public path with a bad token is still refused.
    let body = json!({"refreshToken": "x"});
    let reply = app
        .post("/api/auth/refresh", Some("not-a-jwt"), &body)
        .await;
    reply.expect(401);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let app = TestIdentity::spawn(|_| {}).await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post("/api/auth/refresh", None, &json!({"refreshToken": token}))
                .await
        }
    };
    let second = refresh(first.text("refreshToken")).await.expect(200);
    assert_eq!(second.headers["cache-control"], "no-store");
    assert_eq!(second.body["userId"], first.body["userId"]);
    assert_ne!(second.text("refreshToken"), first.text("refreshToken"));
    assert_ne!(second.text("accessToken"), first.text("accessToken"));
    app.get("/api/auth/me", Some(&second.text("accessToken")))
        .await
        .expect(200);
    let third = refresh(second.text("refreshToken")).await.expect(200);

    // An old token again: the session is over, the latest token included.
    let reused = refresh(first.text("refreshToken")).await.expect(401);
    assert_eq!(reused.headers["content-type"], "application/problem+json");
    refresh(third.text("refreshToken")).await.expect(401);
    refresh("made-up".to_owned()).await.expect(401);
    refresh("x".repeat(10_000)).await.expect(401);

    // Other sessions of the same user are untouched.
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    refresh(other.text("refreshToken")).await.expect(200);
}

#[tokio::test]
async fn logout_ends_only_the_callers_own_session() {
    let app = TestIdentity::spawn(|_| {}).await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    let token = admin.text("accessToken");
    let other = json!({"email": "second@carebook.test", "password": "second-admin-password", "role": "ADMIN"});
    app.post("/api/auth/register", Some(&token), &other)
        .await
        .expect(201);
    let second = app
        .login("second@carebook.test", "second-admin-password")
        .await
        .expect(200);

    let logout = |token: String, refresh: String| {
        let app = &app;
        async move {
            let body = json!({"refreshToken": refresh});
            app.post("/api/auth/logout", Some(&token), &body).await
        }
    };
    // Someone else's refresh token: 204, and nothing happens to it.
    logout(token.clone(), second.text("refreshToken"))
        .await
        .expect(204);
    let body = json!({"refreshToken": second.text("refreshToken")});
    app.post("/api/auth/refresh", None, &body).await.expect(200);

    logout(token.clone(), admin.text("refreshToken"))
        .await
        .expect(204);
    let body = json!({"refreshToken": admin.text("refreshToken")});
    app.post("/api/auth/refresh", None, &body).await.expect(401);
    app.post("/api/auth/logout", None, &body).await.expect(401);
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_ones_stay_valid() {
    let app = TestIdentity::spawn(|_| {}).await;
    let old = app.admin_token().await;
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();

    let new_kid = crate::rotate_signing_key(&app.config).await.unwrap();
    assert_ne!(new_kid, old_kid);
    let jwks = app.get("/.well-known/jwks.json", None).await.expect(200);
    let kids: Vec<_> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, [new_kid, old_kid.clone()]);

    // Until the new key had time to reach every verifier, the old one keeps signing; tokens it
    // signed verify throughout.
    let fresh = app.admin_token().await;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid,
        Some(old_kid)
    );
    let verifier = TokenVerifier::new(std::slice::from_ref(&app.url));
    assert!(verifier.verify(&old).await.is_ok());
    app.get("/api/auth/me", Some(&old)).await.expect(200);
}

#[tokio::test]
async fn the_service_secret_buys_a_short_lived_service_token_and_nothing_else_does() {
    let app = TestIdentity::spawn(|_| {}).await;
    let issued = app
        .post(
            "/api/auth/service-token",
            None,
            &json!({"secret": super::SERVICE_SECRET}),
        )
        .await
        .expect(200);
    assert_eq!(issued.body["expiresIn"], 300);
    let verifier = TokenVerifier::new(std::slice::from_ref(&app.url));
    let principal = verifier.verify(&issued.text("accessToken")).await.unwrap();
    assert_eq!(principal.role, Role::Service);

    let wrong = json!({"secret": "guessing"});
    app.post("/api/auth/service-token", None, &wrong)
        .await
        .expect(401);

    let closed = TestIdentity::spawn(|config| config.service_secret = None).await;
    closed
        .post(
            "/api/auth/service-token",
            None,
            &json!({"secret": super::SERVICE_SECRET}),
        )
        .await
        .expect(404);
}

#[tokio::test]
async fn wrong_service_secrets_are_limited_like_logins() {
    // Locks after 3 failures (the test configuration's login limit).
    let app = TestIdentity::spawn(|_| {}).await;
    let wrong = json!({"secret": "guessing-a-secret-of-32-bytes-or-more"});
    for _ in 0..3 {
        app.post("/api/auth/service-token", None, &wrong)
            .await
            .expect(401);
    }
    for secret in ["another-guess", super::SERVICE_SECRET] {
        let locked = app
            .post("/api/auth/service-token", None, &json!({"secret": secret}))
            .await
            .expect(429);
        let wait: u64 = locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&wait), "{wait}");
        assert!(locked.body["accessToken"].is_null());
    }
}

#[tokio::test]
async fn a_service_secret_under_32_bytes_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestIdentity::spawn(|_| {}).await.config;
    config.database_url = format!("sqlite://{}", dir.path().join("i.db").display()).into();
    config.service_secret = Some("s".repeat(31));
    let refused = super::build_for_tests(config).await.unwrap_err();
    assert!(
        refused.to_string().contains("at least 32 bytes"),
        "{refused}"
    );
}

#[tokio::test]
async fn no_key_encryption_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestIdentity::spawn(|_| {}).await.config;
    config.database_url = format!("sqlite://{}", dir.path().join("i.db").display()).into();
    config.master_key = None;
    let refused = super::build_for_tests(config).await.unwrap_err();
    assert!(
        refused.to_string().contains("CAREBOOK_MASTER_KEY"),
        "{refused}"
    );
}
