//! Request ids: a client may bring its own `x-request-id` to correlate its calls with ours, but
//! only a short one made of a few safe characters. Anything else (kilobytes of text, tabs,
//! quotes, braces — log and audit injection material) is replaced by a fresh id before any log
//! line, span or audit row sees it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::server::REQUEST_ID;

/// Longer ids are replaced: a UUID is 36 characters, a trace id 32.
pub const MAX_LEN: usize = 64;

/// Whether a client's request id may be kept: 1 to [`MAX_LEN`] characters of
/// `[A-Za-z0-9._:-]`.
pub fn is_acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Keeps one acceptable `x-request-id` and gives every other request a fresh UUID; it runs
/// before the trace span is made, so the span, the logs and the audit rows all see the id
/// kept here.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let mut sent = req.headers().get_all(REQUEST_ID).iter();
    let keep =
        matches!((sent.next(), sent.next()), (Some(id), None) if is_acceptable(id.as_bytes()));
    if !keep {
        let fresh = uuid::Uuid::new_v4().to_string();
        let fresh = HeaderValue::try_from(fresh).unwrap_or(HeaderValue::from_static("invalid"));
        req.headers_mut().insert(REQUEST_ID, fresh);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// The id the handler saw, for a request sending `ids`.
    async fn seen(ids: &[&[u8]]) -> String {
        let app = Router::new()
            .route(
                "/",
                get(|headers: HeaderMap| async move {
                    let id = headers.get(REQUEST_ID).map(HeaderValue::as_bytes);
                    String::from_utf8_lossy(id.unwrap_or_default()).into_owned()
                }),
            )
            .layer(axum::middleware::from_fn(assign));
        let mut request = axum::http::Request::get("/");
        for id in ids {
            request = request.header(REQUEST_ID, HeaderValue::from_bytes(id).expect("a value"));
        }
        let response = app
            .oneshot(request.body(Body::empty()).expect("a request"))
            .await
            .expect("infallible");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        String::from_utf8(body.to_vec()).expect("utf-8")
    }

    fn is_uuid(id: &str) -> bool {
        uuid::Uuid::parse_str(id).is_ok()
    }

    #[tokio::test]
    async fn keeps_a_short_plain_id() {
        for id in ["abc-123", "trace:4bf92f35.00f0_67aa", &"a".repeat(MAX_LEN)] {
            assert_eq!(seen(&[id.as_bytes()]).await, id);
        }
    }

    #[tokio::test]
    async fn replaces_long_or_unsafe_ids_with_a_fresh_one() {
        let long = "a".repeat(5000);
        let over = "a".repeat(MAX_LEN + 1);
        let cases: [&[u8]; 6] = [
            long.as_bytes(),
            over.as_bytes(),
            b"id\twith\ttabs",
            b"\"quoted\"",
            b"{\"json\":1}",
            b"two words",
        ];
        for id in cases {
            let kept = seen(&[id]).await;
            assert!(
                is_uuid(&kept),
                "{kept:?} for {:?}",
                String::from_utf8_lossy(id)
            );
        }
        assert!(is_uuid(&seen(&[]).await));
    }

    #[tokio::test]
    async fn two_ids_are_one_too_many() {
        assert!(is_uuid(&seen(&[b"first", b"second"]).await));
    }

    #[test]
    fn accepts_only_the_safe_alphabet() {
        assert!(is_acceptable(b"A-z_0.9:x"));
        for bad in [
            &b""[..],
            b"a b",
            b"a/b",
            b"a;b",
            b"<a>",
            b"a\x7f",
            "é".as_bytes(),
        ] {
            assert!(!is_acceptable(bad), "{bad:?}");
        }
    }
}
