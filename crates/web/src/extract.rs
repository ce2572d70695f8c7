//! What a page handler gets from the request: the signed-in user's session (refreshing its
//! access token when it is about to expire) and forms whose CSRF token has been checked.
//!
//! CSRF: every form carries `_csrf`. Signed in, it must equal the session's own token; before
//! signing in (sign-in and registration), it must equal the `carebook_csrf` cookie the form's
//! page set (double submit). Both cookies are `SameSite=Strict`, and a request a browser marks
//! as coming from another site (`Sec-Fetch-Site: cross-site` or `same-site`) is refused outright.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::api::ApiError;
use crate::render::see_other;
use crate::session::{Session, now_ms, same_secret};

pub const SESSION_COOKIE: &str = "carebook_session";
pub const FORM_COOKIE: &str = "carebook_csrf";
/// Refresh the access token when it has less than this left.
const REFRESH_AHEAD_MS: i64 = 30_000;
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The value of cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` for `name`: HTTP-only, `SameSite=Strict`, `Secure` when the browser came over
/// TLS; `max_age` 0 removes it. Without `max_age` it lasts as long as the browser runs.
pub fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: Option<u64>,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if over_tls(headers) {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The gateway says how the browser reached it.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v != "same-origin" && v != "none")
}

/// The signed-in user's session.
pub struct SignedIn(pub Session);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(see_other("/login"));
        };
        let mut session = match state.sessions.find(id).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(see_other("/login?ended=1")),
            Err(err) => {
                tracing::error!(%err, "the session store failed");
                return Err(state.problem_page(&ApiError::Unavailable));
            }
        };
        if session.access_expires_at - now_ms() < REFRESH_AHEAD_MS {
            match state.api.refresh(&session.refresh_token).await {
                Ok(tokens) => {
                    if let Err(err) = state.sessions.store_tokens(&mut session, &tokens).await {
                        tracing::error!(%err, "the session store failed");
                        return Err(state.problem_page(&ApiError::Unavailable));
                    }
                }
                Err(ApiError::SignedOut) => {
                    let _ = state.sessions.delete(&session).await;
                    return Err(see_other("/login?ended=1"));
                }
                Err(err) => return Err(state.problem_page(&err)),
            }
        }
        Ok(Self(session))
    }
}

/// A signed-in user's form, its CSRF token checked against the session's.
pub struct SessionForm<T>(pub Session, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = form_bytes(&parts.headers, body, state).await?;
        if !same_secret(&csrf_field(&bytes), &session.csrf_token) {
            return Err(state.forbidden_form());
        }
        let form = parse(&bytes, state).map_err(|page| *page)?;
        Ok(Self(session, form))
    }
}

/// A form sent before signing in, its CSRF token checked against the form cookie.
pub struct PublicForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PublicForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let bytes = form_bytes(&parts.headers, body, state).await?;
        let expected = cookie(&parts.headers, FORM_COOKIE).unwrap_or_default();
        if expected.is_empty() || !same_secret(&csrf_field(&bytes), expected) {
            return Err(state.forbidden_form());
        }
        Ok(Self(parse(&bytes, state).map_err(|page| *page)?))
    }
}

async fn form_bytes(
    headers: &HeaderMap,
    body: axum::body::Body,
    state: &AppState,
) -> Result<axum::body::Bytes, Response> {
    if from_another_site(headers) {
        return Err(state.forbidden_form());
    }
    axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            state.message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "The form was too long to send. Please shorten it and try again.",
            )
        })
}

fn csrf_field(bytes: &[u8]) -> String {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "_csrf"))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn parse<T: DeserializeOwned>(bytes: &[u8], state: &AppState) -> Result<T, Box<Response>> {
    serde_urlencoded::from_bytes(bytes).map_err(|_| {
        Box::new(state.message_page(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "Please go back, check what you entered and send it again.",
        ))
    })
}

/// A `multipart/form-data` form (a record with its file), read whole: its text fields and at
/// most one file.
pub struct UploadForm {
    fields: std::collections::HashMap<String, String>,
    pub file: Option<Upload>,
}

pub struct Upload {
    pub name: String,
    pub content_type: String,
    pub bytes: axum::body::Bytes,
}

impl UploadForm {
    pub fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

/// Reads a signed-in user's multipart form and checks its `_csrf` field against the session's.
pub async fn check_multipart_csrf(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    mut multipart: axum::extract::Multipart,
) -> Result<UploadForm, Response> {
    if from_another_site(headers) {
        return Err(state.forbidden_form());
    }
    let unreadable = || {
        state.message_page(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "Please go back, check the file and send it again.",
        )
    };
    let mut form = UploadForm {
        fields: std::collections::HashMap::new(),
        file: None,
    };
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) if name == "file" => {
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field.bytes().await.map_err(|_| unreadable())?;
                // A file input left empty still sends a part, without a name or bytes.
                if !file_name.is_empty() && !bytes.is_empty() {
                    form.file = Some(Upload {
                        name: file_name,
                        content_type,
                        bytes,
                    });
                }
            }
            _ => {
                let text = field.text().await.map_err(|_| unreadable())?;
                form.fields.insert(name, text);
            }
        }
    }
    if !same_secret(&form.text("_csrf"), &session.csrf_token) {
        return Err(state.forbidden_form());
    }
    Ok(form)
}
