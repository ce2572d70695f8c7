//! What every gateway test needs: servers on free ports, a stand-in upstream that also publishes
//! the tests' signing key (as the identity service would), access tokens, and a gateway.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::GatewayConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{AUDIENCE, Claims, ISSUER, Role};
use platform::config::Service;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const MAX_BODY: usize = 1024;
pub const NOT_FOUND_BODY: &str = r#"{"type":"urn:carebook:problem:not-found","title":"Not Found","status":404,"detail":"No doctor 404.","instance":"/api/doctors/404"}"#;
const KID: &str = "gateway-test-key";

/// One Ed25519 key for the whole test binary: tokens are signed with it, the stand-in
/// publishes its public half as the JWKS.
struct Signer {
    key: EncodingKey,
    jwks: Value,
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let key = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).unwrap();
        let jwks = json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
        }]});
        Signer { key, jwks }
    })
}

/// The key set the identity service would publish.
pub fn jwks() -> Value {
    signer().jwks.clone()
}

/// A valid access token of the patient user `user_id`.
pub fn token(user_id: i64) -> String {
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let claims = Claims {
        sub: user_id.to_string(),
        role: Role::Patient,
        patient_id: Some(user_id),
        doctor_id: None,
        exp: now + 600,
        iat: now,
        nbf: now,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, &claims, &signer().key).unwrap()
}

/// Answers with what it received, so tests can see what the gateway sent.
async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let seen: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                json!(value.to_str().unwrap_or("<binary>")),
            )
        })
        .collect();
    let echoed = json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": seen,
        "body": String::from_utf8_lossy(&body),
    });
    (
        StatusCode::CREATED,
        [("x-upstream", "stand-in")],
        axum::Json(echoed),
    )
}

/// Stands in for every backend, identity's key set included.
pub fn stand_in() -> Router {
    Router::new()
        .route("/health/live", get(|| async { "UP" }))
        .route(
            "/.well-known/jwks.json",
            get(|| async { axum::Json(jwks()) }),
        )
        .route(
            "/api/appointments/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "too late"
            }),
        )
        .route(
            "/api/doctors/404",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [(CONTENT_TYPE.as_str(), "application/problem+json")],
                    NOT_FOUND_BODY,
                )
            }),
        )
        .route("/api/{*rest}", any(echo))
}

/// Serves `app` on a free port of 127.0.0.1 until the test ends; returns its base URL.
pub async fn spawn(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(platform::server::serve(
        listener,
        app,
        std::future::pending(),
    ));
    format!("http://{address}")
}

/// A URL where nothing listens: the port was free a moment ago.
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Every backend, identity included, at `urls`.
pub fn every_service(urls: &[&str]) -> Vec<(Service, Vec<String>)> {
    let urls: Vec<String> = urls.iter().map(|u| (*u).to_owned()).collect();
    Service::BACKENDS
        .into_iter()
        .map(|s| (s, urls.clone()))
        .collect()
}

/// `upstreams` with identity (the key set) at `identity` alone.
pub fn with_identity(
    mut upstreams: Vec<(Service, Vec<String>)>,
    identity: &str,
) -> Vec<(Service, Vec<String>)> {
    upstreams.retain(|(service, _)| *service != Service::Identity);
    upstreams.push((Service::Identity, vec![identity.to_owned()]));
    upstreams
}

/// The defaults, a small body limit and a titled document.
pub fn config(upstreams: Vec<(Service, Vec<String>)>) -> GatewayConfig {
    let mut config = GatewayConfig::new(upstreams, openapi());
    config.max_body_bytes = MAX_BODY;
    config.upstream_timeout = Duration::from_secs(5);
    config
}

pub fn openapi() -> &'static str {
    r#"{"openapi":"3.1.0","info":{"title":"carebook test","version":"1"},"paths":{}}"#
}

pub struct TestGateway {
    pub url: String,
    pub http: reqwest::Client,
}

impl TestGateway {
    pub async fn start(config: GatewayConfig) -> Self {
        Self {
            url: spawn(gateway::router(config)).await,
            http: reqwest::Client::new(),
        }
    }

    /// Every backend served by one stand-in.
    pub async fn in_front_of(upstream: &str) -> Self {
        Self::start(config(every_service(&[upstream]))).await
    }

    /// A request of user 1.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.anonymous(method, path).bearer_auth(token(1))
    }

    pub fn anonymous(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }
}

/// Asserts a problem+json answer with `status` and returns its body.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}
