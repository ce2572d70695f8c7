//! The middleware: which buckets a request draws from, and the 429 answer.
//!
//! It runs after authentication (the platform's authenticator wraps the gateway's routes), so
//! the caller's `Principal` is known; requests the authenticator refuses never reach it, and
//! cost the gateway one signature check and no upstream call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use platform::Problem;
use platform::auth::Principal;

use super::{Decision, Enforcement, Key, TrustedProxies};

/// `POST` on these is limited by the stricter credential bucket as well.
const CREDENTIAL_PATHS: [&str; 3] = ["/api/auth/login", "/api/auth/register", "/api/auth/refresh"];

pub(crate) async fn enforce(
    State(enforcement): State<Arc<Enforcement>>,
    req: Request,
    next: Next,
) -> Response {
    let keys = keys(&req, &enforcement.trusted);
    match enforcement.limiter.check(&keys).await {
        Decision::Allowed => next.run(req).await,
        Decision::Limited { retry_after } => {
            tracing::info!(bucket = keys_label(&keys), "rate limited");
            too_many_requests(retry_after)
        }
    }
}

/// The client address is the TCP peer's, or the one a trusted proxy forwards (see
/// [`TrustedProxies::client`]). (Every server in `crate::serve` provides the peer; a router
/// called without one, as in unit tests, counts only the user.)
fn keys(req: &Request, trusted: &TrustedProxies) -> Vec<Key> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| trusted.client(peer.ip(), req.headers()));
    let user = req.extensions().get::<Principal>().map(|p| p.user_id);
    let credentials = req.method() == Method::POST && CREDENTIAL_PATHS.contains(&req.uri().path());
    let mut keys = Vec::with_capacity(3);
    if let Some(ip) = ip {
        if credentials {
            keys.push(Key::login(ip));
        }
        keys.push(Key::client(ip));
    }
    if let Some(user) = user {
        keys.push(Key::User(user));
    }
    keys
}

/// Which kinds of bucket the request drew from, for the log (never the address or user id).
fn keys_label(keys: &[Key]) -> &'static str {
    let login = keys.iter().any(|k| matches!(k, Key::Login(_)));
    let user = keys.iter().any(|k| matches!(k, Key::User(_)));
    match (login, user) {
        (true, _) => "login+ip",
        (false, true) => "ip+user",
        (false, false) => "ip",
    }
}

/// 429 problem+json with `Retry-After` in whole seconds, rounded up (at least 1).
fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
        .max(1);
    let detail = format!("Too many requests; try again in {seconds} s.");
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use platform::auth::Role;

    use super::*;

    fn keys_of(req: &Request) -> Vec<Key> {
        keys(req, &TrustedProxies::default())
    }

    fn request(method: Method, path: &str) -> Request {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("x-forwarded-for", "198.51.100.77")
            .body(Body::empty())
            .expect("a valid request");
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 9], 40000))));
        req
    }

    #[test]
    fn counts_the_peer_address_never_the_forwarded_header() {
        let keys = keys_of(&request(Method::GET, "/api/doctors"));
        assert_eq!(keys, [Key::client([192, 0, 2, 9].into())]);
    }

    #[test]
    fn counts_the_forwarded_client_of_a_trusted_proxy() {
        let trusted = TrustedProxies::parse("192.0.2.0/24").unwrap();
        let keys = keys(&request(Method::GET, "/api/doctors"), &trusted);
        assert_eq!(keys, [Key::client([198, 51, 100, 77].into())]);
    }

    #[test]
    fn counts_the_user_when_authenticated() {
        let mut req = request(Method::GET, "/api/doctors");
        req.extensions_mut().insert(Principal {
            user_id: 12,
            role: Role::Patient,
            patient_id: Some(3),
            doctor_id: None,
        });
        assert_eq!(
            keys_of(&req),
            [Key::client([192, 0, 2, 9].into()), Key::User(12)]
        );
    }

    #[test]
    fn credential_posts_also_draw_from_the_login_bucket() {
        let ip = [192, 0, 2, 9].into();
        for path in CREDENTIAL_PATHS {
            assert_eq!(
                keys_of(&request(Method::POST, path)),
                [Key::login(ip), Key::client(ip)]
            );
        }
        assert_eq!(
            keys_of(&request(Method::GET, "/api/auth/login")),
            [Key::client(ip)]
        );
        assert_eq!(
            keys_of(&request(Method::POST, "/api/auth/logout")),
            [Key::client(ip)]
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        for (wait, expected) in [
            (Duration::from_millis(1), "1"),
            (Duration::from_secs(20), "20"),
            (Duration::from_millis(19_001), "20"),
            (Duration::ZERO, "1"),
        ] {
            let response = too_many_requests(wait);
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response.headers()[header::RETRY_AFTER],
                expected,
                "{wait:?}"
            );
        }
    }
}
