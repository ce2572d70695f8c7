use axum::extract::State;
use axum::http::{HeaderValue, header};
use jsonwebtoken::jwk::JwkSet;

use crate::AppState;

/// The public keys access tokens are verified with (every key not retired).
pub async fn jwks(
    State(state): State<AppState>,
) -> platform::Result<([(header::HeaderName, HeaderValue); 1], axum::Json<JwkSet>)> {
    let keys = state.keys.jwks().await?;
    // Verifiers fetch the set when they meet an unknown `kid`; a cached copy would hide a
    // freshly rotated key from them.
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        axum::Json(keys),
    ))
}
