//! Who is calling: access tokens (JWTs signed by the identity service with Ed25519), checked
//! again by every service, and the `Principal` handlers receive.

mod claims;
mod middleware;
mod principal;
mod service_tokens;
mod verified;
mod verifier;

pub use claims::{AUDIENCE, Claims, ISSUER, Role};
pub use middleware::Authenticator;
pub use principal::Principal;
pub use service_tokens::{MIN_SECRET_BYTES, ServiceTokens, check_secret as check_service_secret};
pub use verifier::TokenVerifier;
