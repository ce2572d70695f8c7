//! The identity service: user accounts and their passwords, logins with lockout, short-lived
//! access tokens (EdDSA JWTs) with rotating refresh tokens, and the signing keys every service
//! verifies tokens with (published as a JWKS).

mod api;
mod bootstrap;
mod domain;
mod erasure;
mod hashing;
mod profiles;
mod store;
mod tokens;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use jiff::{SignedDuration, Timestamp};
use platform::auth::Authenticator;
use platform::client::ServiceClient;
use platform::config::{DatabaseUrl, Service, parse_var, var};
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

use crate::domain::lockout::LockoutPolicy;
use crate::hashing::PasswordHasher;
use crate::profiles::Profiles;
use crate::store::IdentityStore;
use crate::tokens::access::{Subject, sign_access_token};
use crate::tokens::ring::KeyRing;

pub use crate::tokens::keys::signing_key_binding;
pub use platform::master_key::{MASTER_KEY_FILE, MasterKey, Sealed};

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

/// API.md requires short-lived access tokens.
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub patients_urls: Vec<String>,
    pub doctors_urls: Vec<String>,
    /// This service's own instances: tokens presented to it are verified against their JWKS
    /// like everywhere else.
    pub identity_urls: Vec<String>,
    /// `(e-mail, password)` of an ADMIN created at start when no account has that e-mail.
    pub bootstrap_admin: Option<(String, String)>,
    /// Failed logins of one account before it is locked (per client address: 20 times this).
    pub login_max_failures: u32,
    /// Failures are forgotten after this long without one.
    pub login_window: Duration,
    /// At most [`MAX_ACCESS_TTL`].
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub call_timeout: Duration,
    /// `CAREBOOK_SERVICE_SECRET`: services presenting it get `SERVICE` tokens; `None` = off.
    pub service_secret: Option<String>,
    /// `CAREBOOK_MASTER_KEY`: seals the signing keys at rest. Required to start; `carebook up`
    /// fills it from its data directory when unset.
    pub master_key: Option<MasterKey>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("patients_urls", &self.patients_urls)
            .field("doctors_urls", &self.doctors_urls)
            .field("identity_urls", &self.identity_urls)
            .field(
                "bootstrap_admin",
                &self.bootstrap_admin.as_ref().map(|_| "[redacted]"),
            )
            .field("login_max_failures", &self.login_max_failures)
            .field("login_window", &self.login_window)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("call_timeout", &self.call_timeout)
            .field(
                "service_secret",
                &self.service_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("master_key", &self.master_key)
            .finish()
    }
}

impl Config {
    /// Reads `CAREBOOK_IDENTITY_DATABASE_URL`, the services' URLs, `CAREBOOK_ADMIN_EMAIL` +
    /// `CAREBOOK_ADMIN_PASSWORD`, `CAREBOOK_LOGIN_MAX_FAILURES` (default 5),
    /// `CAREBOOK_SERVICE_SECRET` and `CAREBOOK_MASTER_KEY`.
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        let bootstrap_admin = match (var("CAREBOOK_ADMIN_EMAIL"), var("CAREBOOK_ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some((email, password)),
            (None, None) => None,
            _ => anyhow::bail!(
                "set both CAREBOOK_ADMIN_EMAIL and CAREBOOK_ADMIN_PASSWORD, or neither"
            ),
        };
        Ok(Self {
            database_url: Service::Identity.database_url(data_dir),
            patients_urls: Service::Patients.urls(),
            doctors_urls: Service::Doctors.urls(),
            identity_urls: Service::Identity.urls(),
            bootstrap_admin,
            login_max_failures: parse_var("CAREBOOK_LOGIN_MAX_FAILURES")?.unwrap_or(5),
            login_window: Duration::from_secs(15 * 60),
            access_ttl: MAX_ACCESS_TTL,
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            call_timeout: Duration::from_secs(5),
            service_secret: var("CAREBOOK_SERVICE_SECRET"),
            master_key: MasterKey::from_env()?,
        })
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.access_ttl.is_zero() && self.access_ttl <= MAX_ACCESS_TTL,
            "the access token lifetime must be between 1 second and 15 minutes"
        );
        anyhow::ensure!(
            self.refresh_ttl > self.access_ttl,
            "the refresh token lifetime must be longer than the access token's"
        );
        anyhow::ensure!(
            self.login_max_failures >= 1,
            "CAREBOOK_LOGIN_MAX_FAILURES must be at least 1"
        );
        if let Some(secret) = &self.service_secret {
            platform::auth::check_service_secret(secret)?;
        }
        Ok(())
    }

    fn master_key(&self) -> anyhow::Result<MasterKey> {
        self.master_key.clone().context(
            "no key-encryption key for the signing keys: set CAREBOOK_MASTER_KEY to the base64 \
             of 32 random bytes (e.g. `openssl rand -base64 32`), the same for every identity \
             instance, and keep it apart from the database",
        )
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    store: IdentityStore,
    hasher: PasswordHasher,
    keys: KeyRing,
    profiles: Profiles,
    lockout: LockoutPolicy,
    access_ttl: Duration,
    refresh_ttl: Duration,
    service_secret: Option<std::sync::Arc<str>>,
}

impl AppState {
    /// A signed access token for `subject`, valid for `ttl` from now.
    async fn sign(&self, subject: &Subject, ttl: Duration) -> platform::Result<String> {
        let key = self.keys.signing_key().await?;
        Ok(sign_access_token(
            subject,
            &key.kid,
            &key.key,
            ttl,
            Timestamp::now(),
        )?)
    }

    fn refresh_expiry(&self, now: Timestamp) -> Timestamp {
        now + SignedDuration::try_from(self.refresh_ttl).unwrap_or(SignedDuration::MAX)
    }
}

/// Connects, migrates, creates the first signing key and the bootstrap admin, starts the
/// consumer of erasures (stopping on `shutdown`), and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let (router, db) = build(config, PasswordHasher::owasp()?).await?;
    bus.spawn_consumer(
        contracts::events::queues::IDENTITY,
        db,
        std::sync::Arc::new(erasure::ErasureHandler),
        shutdown.clone(),
    );
    Ok(router)
}

async fn build(config: Config, hasher: PasswordHasher) -> anyhow::Result<(Router, Db)> {
    config.check()?;
    let kek = config.master_key()?;
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    let store = IdentityStore::new(db.clone());
    let keys = KeyRing::new(store.clone(), kek);
    keys.ensure_key().await?;
    if let Some((email, password)) = &config.bootstrap_admin {
        bootstrap::ensure_admin(&store, &hasher, email, password).await?;
    }
    let lockout = LockoutPolicy {
        max_failures: config.login_max_failures,
        window: config.login_window,
    };
    tokio::spawn(bootstrap::housekeeping(
        store.clone(),
        config.access_ttl,
        lockout.window,
    ));
    let profiles = Profiles {
        patients: ServiceClient::new(
            Service::Patients.name(),
            config.patients_urls,
            config.call_timeout,
        )?,
        doctors: ServiceClient::new(
            Service::Doctors.name(),
            config.doctors_urls,
            config.call_timeout,
        )?,
    };
    let state = AppState {
        store,
        hasher,
        keys,
        profiles,
        lockout,
        access_ttl: config.access_ttl,
        refresh_ttl: config.refresh_ttl,
        service_secret: config.service_secret.map(Into::into),
    };
    let (api, _) = api::routes().split_for_parts();
    let api = api::well_known(api)
        .route(
            contracts::privacy::EXPORT_ROUTE,
            axum::routing::get(erasure::export_part),
        )
        .with_state(state);
    let router = service_app(
        Service::Identity.name(),
        api,
        Readiness::database(db.clone()),
        Authenticator::for_identity(&config.identity_urls),
    );
    Ok((router, db))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}

/// Starts a signing key rotation in the identity database of `config` (for an operator's
/// command; see the crate README) and returns the new key's `kid`.
pub async fn rotate_signing_key(config: &Config) -> anyhow::Result<String> {
    let kek = config.master_key()?;
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    let store = IdentityStore::new(db.clone());
    let kid = tokens::ring::rotate_signing_key(&store, &kek, config.access_ttl).await;
    db.close().await;
    kid
}

#[cfg(test)]
mod tests;
