//! Signing in, registering and signing out.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::api::ApiError;
use crate::extract::{FORM_COOKIE, PublicForm, SESSION_COOKIE, SessionForm, cookie, set_cookie};
use crate::render::see_other;
use crate::session::{Tokens, random_token};

/// Where each role starts.
fn home(role: &str) -> &'static str {
    match role {
        "DOCTOR" => "/day",
        "ADMIN" => "/console",
        _ => "/appointments",
    }
}

pub async fn start(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = cookie(&headers, SESSION_COOKIE) else {
        return see_other("/login");
    };
    match state.sessions.find(id).await {
        Ok(Some(session)) => see_other(home(&session.role)),
        _ => see_other("/login"),
    }
}

#[derive(Debug, Deserialize)]
pub struct Ended {
    ended: Option<String>,
    signed_out: Option<String>,
}

/// A page with a public form: its CSRF token is the form cookie, set here if missing.
fn with_form_cookie(
    state: &AppState,
    headers: &HeaderMap,
    template: &str,
    status: StatusCode,
    context: impl FnOnce(&str) -> serde_json::Value,
) -> Response {
    let existing = cookie(headers, FORM_COOKIE).filter(|v| !v.is_empty());
    let token = existing.map_or_else(random_token, str::to_owned);
    let mut response = state.templates.page(status, template, context(&token));
    if existing.is_none() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(headers, FORM_COOKIE, &token, None),
        );
    }
    response
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(ended): Query<Ended>,
) -> Response {
    let notice = if ended.signed_out.is_some() {
        Some("You have signed out.")
    } else if ended.ended.is_some() {
        Some("Your session has ended. Please sign in again.")
    } else {
        None
    };
    with_form_cookie(
        &state,
        &headers,
        "login.html",
        StatusCode::OK,
        |csrf| json!({"csrf": csrf, "notice": notice, "email": "", "errors": {}}),
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    tz: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    PublicForm(form): PublicForm<LoginForm>,
) -> Response {
    match state.api.login(form.email.trim(), &form.password).await {
        Ok(tokens) => signed_in(&state, &headers, &tokens, &form.tz).await,
        Err(err) => {
            let (status, error) = match &err {
                ApiError::Refused { status, .. } if *status == StatusCode::UNAUTHORIZED => (
                    StatusCode::UNAUTHORIZED,
                    "The e-mail or the password is not right.".to_owned(),
                ),
                ApiError::Refused { status, .. } if *status == StatusCode::BAD_REQUEST => (
                    StatusCode::BAD_REQUEST,
                    "Please enter your e-mail and your password.".to_owned(),
                ),
                other => (other.status(), other.message()),
            };
            with_form_cookie(
                &state,
                &headers,
                "login.html",
                status,
                |csrf| json!({"csrf": csrf, "error": error, "email": form.email, "errors": {}}),
            )
        }
    }
}

/// Starts the session and goes to the role's start page.
async fn signed_in(state: &AppState, headers: &HeaderMap, tokens: &Tokens, zone: &str) -> Response {
    let zone = crate::time::zone_name(zone, &state.clinic.timezone);
    match state.sessions.create(tokens, &zone).await {
        Ok(id) => {
            let mut response = see_other(home(&tokens.role));
            let set = response.headers_mut();
            set.append(
                header::SET_COOKIE,
                set_cookie(headers, SESSION_COOKIE, &id, None),
            );
            set.append(
                header::SET_COOKIE,
                set_cookie(headers, FORM_COOKIE, "", Some(0)),
            );
            response
        }
        Err(err) => {
            tracing::error!(%err, "the session store failed");
            state.problem_page(&ApiError::Unavailable)
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    dob: String,
    #[serde(default)]
    address: String,
    #[serde(default, skip_serializing)]
    tz: String,
}

pub async fn register_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    with_form_cookie(
        &state,
        &headers,
        "register.html",
        StatusCode::OK,
        |csrf| json!({"csrf": csrf, "form": RegisterForm::default(), "errors": {}}),
    )
}

pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    PublicForm(form): PublicForm<RegisterForm>,
) -> Response {
    let body = json!({
        "name": form.name,
        "email": form.email.trim(),
        "password": form.password,
        "phone": form.phone,
        "dob": form.dob,
        "address": form.address,
    });
    let registered: Result<serde_json::Value, _> =
        state.api.post_anonymous("/api/auth/register", &body).await;
    let err = match registered {
        Ok(_) => match state.api.login(form.email.trim(), &form.password).await {
            Ok(tokens) => return signed_in(&state, &headers, &tokens, &form.tz).await,
            Err(err) => err,
        },
        Err(err) => err,
    };
    let errors = err.field_messages();
    let error = if errors.is_empty() {
        err.message()
    } else {
        "Please correct the fields marked below.".to_owned()
    };
    with_form_cookie(
        &state,
        &headers,
        "register.html",
        err.status(),
        |csrf| json!({"csrf": csrf, "form": form, "errors": errors, "error": error}),
    )
}

#[derive(Debug, Deserialize)]
pub struct Nothing {}

/// Ends the session here and revokes its refresh token at the API.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm(session, Nothing {}): SessionForm<Nothing>,
) -> Response {
    if let Err(err) = state.api.logout(&session).await {
        tracing::warn!(error = %err.message(), "the refresh token could not be revoked");
    }
    if let Err(err) = state.sessions.delete(&session).await {
        tracing::error!(%err, "the session store failed");
    }
    let mut response = see_other("/login?signed_out=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", Some(0)),
    );
    response.into_response()
}
