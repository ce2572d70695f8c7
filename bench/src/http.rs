//! The load generator's HTTP client: hyper's pooled HTTP/1.1 client, light enough that the
//! client's own CPU use stays small beside the system it shares the two cores with.

use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response's status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).context("the response is not JSON")
    }

    /// `Err` naming the status and the start of the body unless the status is `expected`.
    pub fn expect(self, expected: u16) -> anyhow::Result<Self> {
        if self.status.as_u16() == expected {
            return Ok(self);
        }
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        anyhow::bail!("expected {expected}, got {}: {body}", self.status)
    }
}

impl Default for Http {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        Self { client }
    }
}

impl Http {
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = Request::builder().method(method).uri(url);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(serde_json::to_vec(json)?))
            }
            None => Full::new(Bytes::new()),
        };
        let response = self.client.request(request.body(body)?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }

    /// A `POST` of `body` as `content_type` (a file upload's form).
    pub async fn send_bytes(
        &self,
        url: &str,
        token: &str,
        content_type: &str,
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, content_type)
            .body(Full::new(body))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }

    pub async fn get(&self, url: &str, token: &str) -> anyhow::Result<Reply> {
        self.send(Method::GET, url, Some(token), None).await
    }

    pub async fn post(
        &self,
        url: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Reply> {
        self.send(Method::POST, url, token, Some(body)).await
    }

    /// Signs in and returns the access token.
    pub async fn login(
        &self,
        gateway: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let body = serde_json::json!({"email": email, "password": password});
        let reply = self
            .post(&format!("{gateway}/api/auth/login"), None, &body)
            .await?
            .expect(200)
            .context("signing in")?;
        reply.json()?["accessToken"]
            .as_str()
            .map(str::to_owned)
            .context("no access token in the login reply")
    }

    /// `true` when `url` answers 200 right now.
    pub async fn is_ok(&self, url: &str) -> bool {
        matches!(
            self.send(Method::GET, url, None, None).await,
            Ok(reply) if reply.status == StatusCode::OK
        )
    }
}
