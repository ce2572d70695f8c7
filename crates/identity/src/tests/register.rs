//! Registration rules, the bootstrap admin, and what happens when a profile cannot be created.

use serde_json::{Value, json};

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, TestIdentity, build_for_tests};

fn patient() -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": "plum-violin-harbour",
        "phone": "+44 20 7946 0958",
        "dob": "1985-12-10",
        "address": "12 St James's Square",
    })
}

#[tokio::test]
async fn invalid_registrations_list_every_failing_field() {
    let app = TestIdentity::spawn(|_| {}).await;
    let bad =
        json!({"email": "ada", "password": "password123", "phone": "12", "dob": "2999-01-01"});
    let reply = app.post("/api/auth/register", None, &bad).await.expect(400);
    let fields: Vec<_> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["email", "password", "name", "phone", "dob", "address"]
    );

    let mut same = patient();
    same["password"] = json!("ada@example.org");
    let reply = app
        .post("/api/auth/register", None, &same)
        .await
        .expect(400);
    assert_eq!(reply.body["errors"][0]["field"], "password");
    let mut role = patient();
    role["role"] = json!("SERVICE");
    let reply = app
        .post("/api/auth/register", None, &role)
        .await
        .expect(400);
    assert_eq!(reply.body["errors"][0]["field"], "role");
}

#[tokio::test]
async fn only_an_admin_creates_doctors_and_admins() {
    let app = TestIdentity::spawn(|_| {}).await;
    let mut doctor = patient();
    doctor["role"] = json!("DOCTOR");
    doctor["specialization"] = json!("Cardiology");
    app.post("/api/auth/register", None, &doctor)
        .await
        .expect(403);
    let admin =
        json!({"email": "root@example.org", "password": "plum-violin-harbour", "role": "ADMIN"});
    app.post("/api/auth/register", None, &admin)
        .await
        .expect(403);

    let token = app.admin_token().await;
    let created = app
        .post("/api/auth/register", Some(&token), &admin)
        .await
        .expect(201);
    assert_eq!(created.body["role"], "ADMIN");
    assert!(created.body.get("patientId").is_none());
    let login = app
        .login("ROOT@example.org", "plum-violin-harbour")
        .await
        .expect(200);
    assert_eq!(login.body["userId"], created.body["userId"]);

    // A new admin may not even be created with an e-mail in use, in any case.
    let twin =
        json!({"email": "Root@Example.org", "password": "another-fine-password", "role": "ADMIN"});
    app.post("/api/auth/register", Some(&token), &twin)
        .await
        .expect(409);
}

#[tokio::test]
async fn a_failed_profile_creation_leaves_no_account_behind() {
    // The patient and doctor services are down in these tests.
    let app = TestIdentity::spawn(|_| {}).await;
    for _ in 0..2 {
        let reply = app.post("/api/auth/register", None, &patient()).await;
        assert_eq!(reply.status, 503, "not 409: the first attempt left nothing");
    }
    app.login("ada@example.org", "plum-violin-harbour")
        .await
        .expect(401);

    let token = app.admin_token().await;
    let mut doctor = patient();
    doctor["role"] = json!("DOCTOR");
    doctor["speciality"] = json!("Cardiology");
    app.post("/api/auth/register", Some(&token), &doctor)
        .await
        .expect(503);
    let mut admin = patient();
    admin["role"] = json!("ADMIN");
    app.post("/api/auth/register", Some(&token), &admin)
        .await
        .expect(201);
}

#[tokio::test]
async fn the_bootstrap_admin_is_created_once_and_must_have_a_strong_password() {
    let app = TestIdentity::spawn(|_| {}).await;
    // A second start on the same database (another instance, or a restart) changes nothing.
    let _again = build_for_tests(app.config.clone()).await.unwrap();
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);

    let mut weak = app.config.clone();
    weak.bootstrap_admin = Some(("new@carebook.test".to_owned(), "password123".to_owned()));
    let err = build_for_tests(weak).await.unwrap_err().to_string();
    assert!(err.contains("CAREBOOK_ADMIN_PASSWORD"), "{err}");

    let mut long_lived = app.config.clone();
    long_lived.access_ttl = std::time::Duration::from_secs(3600);
    assert!(build_for_tests(long_lived).await.is_err());
}

#[test]
fn the_openapi_document_covers_every_endpoint() {
    let doc = crate::openapi();
    let paths: Vec<_> = doc.paths.paths.keys().map(String::as_str).collect();
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/me",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    let json = serde_json::to_string(&doc).unwrap();
    assert!(json.contains("TokenPair") && json.contains("RegisterRequest"));
}
