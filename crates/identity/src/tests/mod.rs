//! The service over HTTP: a real server on a random port with a fresh SQLite database. The
//! patient and doctor services are not running (their URL refuses connections), which is
//! what the tests of a failed profile creation need; everything else is identity's own.

mod login;
mod register;
mod tokens;

use std::time::Duration;

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::Config;
use crate::hashing::{PasswordHasher, cheap_params};

pub const ADMIN_EMAIL: &str = "admin@carebook.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const SERVICE_SECRET: &str = "service-secret-for-tests-32-bytes-long";

pub struct TestIdentity {
    pub url: String,
    pub config: Config,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// An answer: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self
    }

    pub fn text(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_owned()
    }
}

/// A URL where nothing listens.
async fn nowhere() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

impl TestIdentity {
    /// Starts the service with test settings (3 failures lock an account) adjusted by `tweak`.
    pub async fn spawn(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            database_url: format!("sqlite://{}", dir.path().join("identity.db").display()).into(),
            patients_urls: vec![nowhere().await],
            doctors_urls: vec![nowhere().await],
            identity_urls: vec![url.clone()],
            bootstrap_admin: Some((ADMIN_EMAIL.to_owned(), ADMIN_PASSWORD.to_owned())),
            login_max_failures: 3,
            login_window: Duration::from_secs(900),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(86_400),
            call_timeout: Duration::from_secs(2),
            service_secret: Some(SERVICE_SECRET.to_owned()),
            master_key: Some(crate::MasterKey::generate()),
        };
        tweak(&mut config);
        let app = build_for_tests(config.clone()).await.unwrap();
        tokio::spawn(platform::server::serve(
            listener,
            app,
            std::future::pending(),
        ));
        Self {
            url,
            config,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
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

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None, &[]).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        self.post("/api/auth/login", None, &body).await
    }

    /// The bootstrap admin's access token.
    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect(200)
            .text("accessToken")
    }
}

/// The app as [`crate::app`] builds it, with cheap password hashing.
pub async fn build_for_tests(config: Config) -> anyhow::Result<axum::Router> {
    let (router, _db) = crate::build(config, PasswordHasher::new(cheap_params(), 2)?).await?;
    Ok(router)
}
