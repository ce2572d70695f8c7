//! The carebook web app: server-rendered pages for patients, doctors and the clinic's staff,
//! served by the gateway at `/`. It holds no domain data: every page is built from the public
//! API, called with the signed-in user's own tokens (see [`api`]), kept in a server-side session
//! (see [`session`]).

mod api;
mod assets;
mod auth;
mod change;
mod config;
mod console;
mod doctor;
mod extract;
mod forwarded;
mod hours;
mod invoices;
mod notifications;
mod pages;
mod patient;
mod records;
mod render;
mod schedule;
mod session;
mod time;
mod week_grid;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, get, post};
use platform::auth::Authenticator;
use platform::config::ClinicConfig;
use platform::config::Service;
use platform::db::{Db, Migrations};
use platform::server::{Readiness, service_app};
use serde_json::json;

pub use crate::config::Config;

use crate::api::{Api, ApiError};
use crate::render::Templates;
use crate::session::SessionStore;

const SESSION_CONNECTIONS: u32 = 2;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Clone)]
pub struct AppState {
    api: Api,
    sessions: SessionStore,
    templates: Templates,
    clinic: ClinicConfig,
}

/// Connects, migrates and returns the web app.
pub async fn app(config: Config) -> anyhow::Result<Router> {
    // Sessions are small single-row statements: a couple of connections serve every page.
    let db =
        Db::connect_with_pool_size(config.database_url.as_str(), Some(SESSION_CONNECTIONS)).await?;
    db.migrate(&MIGRATIONS).await?;
    router(config, db)
}

pub fn router(config: Config, db: Db) -> anyhow::Result<Router> {
    let state = AppState {
        api: Api::new(&config.api_url)?,
        sessions: SessionStore::new(db.clone(), config.idle_timeout),
        templates: Templates::new()?,
        clinic: config.clinic,
    };
    let identity_urls = config.identity_urls.clone();
    let config_upload_limit = config.max_upload_bytes;
    let pages = Router::new()
        .route("/", get(auth::start))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/register", get(auth::register_page).post(auth::register))
        .route("/logout", post(auth::logout))
        .route("/doctors", get(patient::doctors))
        .route("/doctors/{id}", get(patient::week))
        .route("/book", get(patient::review).post(patient::book))
        .route("/appointments", get(patient::appointments))
        .route(
            "/appointments/{id}/cancel",
            get(change::cancel_page).post(change::cancel),
        )
        .route(
            "/appointments/{id}/reschedule",
            get(change::move_page).post(change::move_visit),
        )
        .route(
            "/appointments/{id}/reschedule/confirm",
            get(change::move_review),
        )
        .route("/invoices", get(invoices::list))
        .route("/invoices/{id}/pay", post(invoices::pay))
        .route("/notifications", get(notifications::inbox))
        .route("/records", get(records::list))
        .route(
            "/records/{patient}",
            // A record's file may be as large as the records service takes.
            post(records::write).layer(DefaultBodyLimit::max(config_upload_limit)),
        )
        .route("/records/{patient}/{record}/file", get(records::download))
        .route("/day", get(doctor::day))
        .route("/day/{id}/approve", post(doctor::approve))
        .route("/day/{id}/reject", post(doctor::reject))
        .route("/day/{id}/complete", post(doctor::complete))
        .route("/day/{id}/no-show", post(doctor::no_show))
        .route("/week", get(week_grid::week))
        .route("/schedule", get(schedule::page).post(schedule::save_hours))
        .route("/schedule/time-off", post(schedule::add_time_off))
        .merge(console::routes())
        .merge(assets::routes())
        // A route, not a fallback: the platform's own fallback answers problem+json.
        .route("/{*rest}", any(not_found))
        .layer(axum::middleware::from_fn(forwarded::keep))
        .with_state(state);
    Ok(service_app(
        Service::Web.name(),
        pages,
        Readiness::database(db),
        Authenticator::for_identity(&identity_urls),
    ))
}

async fn not_found(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    state.message_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

impl AppState {
    /// A page that only says something (errors, dead ends).
    fn message_page(&self, status: StatusCode, heading: &str, message: &str) -> Response {
        self.templates.page(
            status,
            "error.html",
            json!({"heading": heading, "message": message}),
        )
    }

    /// The page for an API refusal or outage that the page itself cannot show beside a field.
    fn problem_page(&self, err: &ApiError) -> Response {
        match err {
            ApiError::SignedOut => render::see_other("/login?ended=1"),
            ApiError::Unavailable => self.message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The clinic's system is not answering",
                &err.message(),
            ),
            ApiError::Refused { status, .. } if *status == StatusCode::NOT_FOUND => {
                self.message_page(StatusCode::NOT_FOUND, "Not found", &err.message())
            }
            ApiError::Refused { status, .. } if *status == StatusCode::FORBIDDEN => {
                self.not_allowed()
            }
            ApiError::Refused { status, .. } => {
                self.message_page(*status, "That did not work", &err.message())
            }
        }
    }

    /// A page the reader's account may not see.
    fn not_allowed(&self) -> Response {
        self.message_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "This page is not available to your account.",
        )
    }

    fn forbidden_form(&self) -> Response {
        self.message_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety the form could not be accepted. Please go back, reload the page and try again.",
        )
    }
}
