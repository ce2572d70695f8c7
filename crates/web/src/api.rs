//! The public API, called with the signed-in user's own access token: the pages can do
//! nothing the API would not let that user do. Problems (RFC 9457) come back as [`ApiError`]
//! so a page can show each field's message next to the field.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::session::{Session, Tokens};

#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// One field's complaint, as the API words it.
/// A file the API answered with, to hand on to the browser.
pub struct File {
    pub content_type: String,
    pub disposition: Option<String>,
    pub bytes: bytes::Bytes,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Problem {
    #[serde(default)]
    title: String,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, Clone)]
pub enum ApiError {
    /// The API refused: its status, its words, and the fields concerned.
    Refused {
        status: StatusCode,
        message: String,
        fields: Vec<FieldError>,
    },
    /// The token is no longer accepted: the session is over.
    SignedOut,
    /// The API could not be reached or answered nonsense.
    Unavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused { status, .. } => *status,
            Self::SignedOut => StatusCode::UNAUTHORIZED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What to tell the reader.
    pub fn message(&self) -> String {
        match self {
            Self::Refused { message, .. } => message.clone(),
            Self::SignedOut => "Your session has ended. Please sign in again.".to_owned(),
            Self::Unavailable => {
                "The clinic's system is not answering right now. Please try again in a moment."
                    .to_owned()
            }
        }
    }

    /// Each field's message, by field name, for the form that sent them.
    pub fn field_messages(&self) -> std::collections::BTreeMap<&str, &str> {
        match self {
            Self::Refused { fields, .. } => fields
                .iter()
                .map(|f| (f.field.as_str(), f.message.as_str()))
                .collect(),
            _ => std::collections::BTreeMap::new(),
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = platform::client::shared_http()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Tokens, ApiError> {
        let body = serde_json::json!({"email": email, "password": password});
        self.call(Method::POST, "/api/auth/login", None, Some(&body))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        let body = serde_json::json!({"refreshToken": refresh_token});
        match self
            .call(Method::POST, "/api/auth/refresh", None, Some(&body))
            .await
        {
            Err(ApiError::Refused { status, .. })
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST =>
            {
                Err(ApiError::SignedOut)
            }
            other => other,
        }
    }

    /// Revokes the session's refresh token; the access token expires on its own.
    pub async fn logout(&self, session: &Session) -> Result<(), ApiError> {
        let body = serde_json::json!({"refreshToken": session.refresh_token});
        self.call_empty(Method::POST, "/api/auth/logout", Some(session), Some(&body))
            .await
    }

    /// An anonymous call (registration).
    pub async fn post_anonymous<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, ApiError> {
        self.call(Method::POST, path, None, Some(body)).await
    }

    /// `path` is taken by value, so calls can be joined while their paths are temporaries.
    pub async fn get<T: DeserializeOwned>(
        &self,
        session: &Session,
        path: impl AsRef<str>,
    ) -> Result<T, ApiError> {
        self.call(Method::GET, path.as_ref(), Some(session), None)
            .await
    }

    pub async fn send<T: DeserializeOwned>(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        self.call(method, path, Some(session), body).await
    }

    /// `DELETE /api/appointments/{id}`, with the reason when one was given: cancels it.
    pub async fn cancel_appointment(
        &self,
        session: &Session,
        id: i64,
        reason: &str,
    ) -> Result<Value, ApiError> {
        let query = crate::pages::query(&[("reason", reason.trim())]);
        let path = if query.is_empty() {
            format!("/api/appointments/{id}")
        } else {
            format!("/api/appointments/{id}?{query}")
        };
        self.send(session, Method::DELETE, &path, None).await
    }

    /// A call whose answer has no body (`204`).
    pub async fn send_empty(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(), ApiError> {
        self.call_empty(method, path, Some(session), body).await
    }

    /// A file's bytes and content type.
    pub async fn get_file(&self, session: &Session, path: &str) -> Result<File, ApiError> {
        let response = self.request(Method::GET, path, Some(session), None).await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type =
            header(reqwest::header::CONTENT_TYPE).unwrap_or("application/octet-stream".into());
        // The service names the file safely (an ASCII fallback and the exact name).
        let disposition = header(reqwest::header::CONTENT_DISPOSITION)
            .filter(|value| value.starts_with("attachment"));
        let bytes = response.bytes().await.map_err(|_| ApiError::Unavailable)?;
        Ok(File {
            content_type,
            disposition,
            bytes,
        })
    }

    /// `POST /api/records`: JSON alone, or the `record` part and the file as multipart.
    pub async fn create_record(
        &self,
        session: &Session,
        record: &Value,
        file: Option<crate::extract::Upload>,
    ) -> Result<(), ApiError> {
        let Some(file) = file else {
            return self
                .call_empty(Method::POST, "/api/records", Some(session), Some(record))
                .await;
        };
        let part = |bytes: Vec<u8>, mime: &str| {
            reqwest::multipart::Part::bytes(bytes)
                .mime_str(mime)
                .map_err(|_| ApiError::Unavailable)
        };
        let form = reqwest::multipart::Form::new()
            .part(
                "record",
                part(record.to_string().into_bytes(), "application/json")?,
            )
            .part(
                "file",
                part(file.bytes.to_vec(), &file.content_type)
                    .or_else(|_| part(file.bytes.to_vec(), "application/octet-stream"))?
                    .file_name(file.name),
            );
        let request = self
            .http
            .post(format!("{}/api/records", self.base))
            .timeout(TIMEOUT)
            .bearer_auth(&session.access_token)
            .multipart(form);
        self.answer(request, "/api/records", true).await.map(drop)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        let response = self.request(method, path, session, body).await?;
        response.json::<T>().await.map_err(|err| {
            tracing::warn!(%err, path, "the API answered an unexpected body");
            ApiError::Unavailable
        })
    }

    async fn call_empty(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<&Value>,
    ) -> Result<(), ApiError> {
        self.request(method, path, session, body).await.map(drop)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, ApiError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(TIMEOUT);
        if let Some(session) = session {
            request = request.bearer_auth(&session.access_token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.answer(request, path, session.is_some()).await
    }

    /// Sends `request`; a refusal becomes the matching [`ApiError`].
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
        signed_in: bool,
    ) -> Result<reqwest::Response, ApiError> {
        let request = match crate::forwarded::chain() {
            Some(chain) => request.header(crate::forwarded::X_FORWARDED_FOR, chain),
            None => request,
        };
        let response = request.send().await.map_err(|err| {
            tracing::warn!(%err, path, "the API could not be reached");
            ApiError::Unavailable
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED && signed_in {
            return Err(ApiError::SignedOut);
        }
        if status.is_server_error() {
            tracing::warn!(%status, path, "the API failed");
            return Err(ApiError::Unavailable);
        }
        let problem: Problem = response.json().await.unwrap_or_default();
        let message = problem
            .detail
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(problem.title);
        Err(ApiError::Refused {
            status,
            message,
            fields: problem.errors,
        })
    }
}
