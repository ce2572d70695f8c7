//! The browser's address travels with the web app's API calls. The gateway appends the address
//! it saw to `X-Forwarded-For` before a page request reaches the web app; the web app sends that
//! chain on with every API call it makes for the page, so the gateway (trusting the web app as
//! a proxy, see `CAREBOOK_TRUSTED_PROXIES`) counts each browser's requests against its own rate
//! limits rather than all of them against the web app's address.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

tokio::task_local! {
    /// The chain of the page request being answered.
    static CHAIN: Option<HeaderValue>;
}

/// Middleware: keeps the page request's chain for the API calls made while answering it.
pub async fn keep(req: Request, next: Next) -> Response {
    let chain = req.headers().get(X_FORWARDED_FOR).cloned();
    CHAIN.scope(chain, next.run(req)).await
}

/// The chain of the page being answered, if any (none outside a page request).
pub fn chain() -> Option<HeaderValue> {
    CHAIN.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{HeaderMap, Request};
    use axum::routing::post;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;
    use crate::api::Api;

    /// The API calls a page makes carry the chain the page request came with.
    #[tokio::test]
    async fn api_calls_made_for_a_page_carry_its_chain() {
        // Where the API would be: it answers with the chain it was sent.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", listener.local_addr().unwrap());
        let echo = Router::new().route(
            "/api/echo",
            post(|headers: HeaderMap| async move {
                axum::Json(json!({
                    "chain": headers.get(X_FORWARDED_FOR).map(|v| v.to_str().unwrap().to_owned())
                }))
            }),
        );
        tokio::spawn(async move { axum::serve(listener, echo).await });

        let api = Api::new(&api_url).unwrap();
        let page = Router::new()
            .route(
                "/",
                post(move || async move {
                    let answer: Value = api.post_anonymous("/api/echo", &json!({})).await.unwrap();
                    answer["chain"].to_string()
                }),
            )
            .layer(axum::middleware::from_fn(keep));
        let request = |chain: Option<&'static str>| {
            let mut request = Request::post("/");
            if let Some(chain) = chain {
                request = request.header(X_FORWARDED_FOR, chain);
            }
            request.body(Body::empty()).unwrap()
        };

        let sent = |chain| {
            let page = page.clone();
            async move {
                let response = page.oneshot(request(chain)).await.unwrap();
                let body = axum::body::to_bytes(response.into_body(), 1024)
                    .await
                    .unwrap();
                String::from_utf8(body.to_vec()).unwrap()
            }
        };
        assert_eq!(
            sent(Some("203.0.113.9, 127.0.0.1")).await,
            r#""203.0.113.9, 127.0.0.1""#
        );
        assert_eq!(sent(None).await, "null");
        assert!(chain().is_none(), "nothing outside a page request");
    }
}
