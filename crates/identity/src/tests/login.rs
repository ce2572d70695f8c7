//! Bad credentials and lockout.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestIdentity};

async fn login_from(app: &TestIdentity, client: &str, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password});
    app.send(
        Method::POST,
        "/api/auth/login",
        None,
        Some(&body),
        &[("x-forwarded-for", client)],
    )
    .await
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestIdentity::spawn(|_| {}).await;
    let wrong = app.login(ADMIN_EMAIL, "not-the-password").await.expect(401);
    let unknown = app
        .login("nobody@carebook.test", ADMIN_PASSWORD)
        .await
        .expect(401);
    let malformed = app
        .login("not an address", ADMIN_PASSWORD)
        .await
        .expect(401);
    for reply in [&unknown, &malformed] {
        assert_eq!(reply.body["detail"], wrong.body["detail"]);
        assert_eq!(reply.body["type"], wrong.body["type"]);
    }
    // E-mails are matched case-insensitively; a correct login clears the failure.
    app.login("Admin@Carebook.TEST", ADMIN_PASSWORD)
        .await
        .expect(200);
    let missing = app
        .post("/api/auth/login", None, &json!({"email": ADMIN_EMAIL}))
        .await
        .expect(400);
    assert_eq!(missing.body["errors"][0]["field"], "password");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_cheaply_and_no_one_else() {
    let app = TestIdentity::spawn(|_| {}).await;
    let token = app.admin_token().await;
    let other = json!({"email": "other@carebook.test", "password": "other-admin-password", "role": "ADMIN"});
    app.post("/api/auth/register", Some(&token), &other)
        .await
        .expect(201);

    for _ in 0..3 {
        app.login(ADMIN_EMAIL, "wrong-password!").await.expect(401);
    }
    let started = Instant::now();
    for _ in 0..200 {
        let locked = app.login(ADMIN_EMAIL, "wrong-password!").await.expect(429);
        let wait: u64 = locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&wait), "{wait}");
    }
    eprintln!("200 locked attempts took {:?}", started.elapsed());
    // Even the right password waits: the lock is on the account, not on wrong guesses.
    let locked = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(429);
    assert_eq!(locked.body["status"], 429);
    assert_eq!(locked.headers["content-type"], "application/problem+json");

    app.login("other@carebook.test", "other-admin-password")
        .await
        .expect(200);
}

#[tokio::test]
async fn one_client_failing_on_many_accounts_is_locked_out() {
    // Client limit: 20 × 1 failures.
    let app = TestIdentity::spawn(|config| config.login_max_failures = 1).await;
    let attacker = "203.0.113.66";
    for n in 0..20 {
        let email = format!("victim{n}@carebook.test");
        login_from(&app, attacker, &email, "guess-guess-guess")
            .await
            .expect(401);
    }
    let locked = login_from(&app, attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    locked.expect(429);
    // The gateway appends the address it saw last; earlier entries are the client's to choose.
    login_from(
        &app,
        "198.51.100.7, 203.0.113.66",
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await
    .expect(429);
    login_from(
        &app,
        "203.0.113.66, 198.51.100.7",
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await
    .expect(200);
}
