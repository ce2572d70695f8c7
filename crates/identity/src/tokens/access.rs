//! Access tokens: short-lived JWTs signed with EdDSA, carrying the claims every service checks
//! (`platform::auth::Claims`).

use std::time::Duration;

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{AUDIENCE, Claims, ISSUER, Role};

/// Service tokens only live for the one call they are made for.
pub const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(60);

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    /// `0` for the identity service acting on its own behalf.
    pub user_id: i64,
    pub role: Role,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
}

impl Subject {
    /// The identity service itself, e.g. when it creates a profile.
    pub const SERVICE: Subject = Subject {
        user_id: 0,
        role: Role::Service,
        patient_id: None,
        doctor_id: None,
    };
}

/// A signed token for `subject`, valid from `now` for `ttl`, naming the key in `kid`.
pub fn sign_access_token(
    subject: &Subject,
    kid: &str,
    key: &EncodingKey,
    ttl: Duration,
    now: Timestamp,
) -> anyhow::Result<String> {
    let now = now.as_second();
    let claims = Claims {
        sub: subject.user_id.to_string(),
        role: subject.role,
        patient_id: subject.patient_id,
        doctor_id: subject.doctor_id,
        exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        iat: now,
        nbf: now,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    use super::*;
    use crate::tokens::keys::SigningKeyRecord;
    use platform::master_key::MasterKey;

    /// What `platform::auth::TokenVerifier` checks, with the key taken from the published JWK.
    fn verify(token: &str, jwk: &jsonwebtoken::jwk::Jwk) -> jsonwebtoken::errors::Result<Claims> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        let key = DecodingKey::from_jwk(jwk)?;
        decode::<Claims>(token, &key, &validation).map(|data| data.claims)
    }

    fn patient() -> Subject {
        Subject {
            user_id: 42,
            role: Role::Patient,
            patient_id: Some(7),
            doctor_id: None,
        }
    }

    /// One key-encryption key for the whole test binary.
    fn kek() -> MasterKey {
        static KEK: std::sync::OnceLock<MasterKey> = std::sync::OnceLock::new();
        KEK.get_or_init(MasterKey::generate).clone()
    }

    #[test]
    fn tokens_verify_against_the_published_jwk() {
        let record = SigningKeyRecord::generate(Timestamp::now(), &kek()).unwrap();
        let key = record.encoding_key(&kek()).unwrap();
        let ttl = Duration::from_secs(900);
        let token =
            sign_access_token(&patient(), &record.kid, &key, ttl, Timestamp::now()).unwrap();

        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(record.kid.as_str()));
        let claims = verify(&token, &record.jwk()).unwrap();
        assert_eq!(claims.sub, "42");
        assert_eq!(claims.role, Role::Patient);
        assert_eq!(claims.patient_id, Some(7));
        assert_eq!(claims.doctor_id, None);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.nbf, claims.iat);
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
        let principal = platform::auth::Principal::from_claims(&claims).unwrap();
        assert!(principal.is_patient(7));

        let payload: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["patientId"], 7, "claims are camelCase: {payload}");
    }

    #[test]
    fn another_key_or_an_expired_token_does_not_verify() {
        let record = SigningKeyRecord::generate(Timestamp::now(), &kek()).unwrap();
        let other = SigningKeyRecord::generate(Timestamp::now(), &kek()).unwrap();
        let key = record.encoding_key(&kek()).unwrap();
        let ttl = Duration::from_secs(60);
        let token =
            sign_access_token(&patient(), &record.kid, &key, ttl, Timestamp::now()).unwrap();
        assert!(verify(&token, &other.jwk()).is_err());

        let long_ago = Timestamp::now() - jiff::SignedDuration::from_secs(3600);
        let expired = sign_access_token(&patient(), &record.kid, &key, ttl, long_ago).unwrap();
        assert!(verify(&expired, &record.jwk()).is_err());
    }

    #[test]
    fn service_tokens_say_service_with_subject_zero() {
        let record = SigningKeyRecord::generate(Timestamp::now(), &kek()).unwrap();
        let key = record.encoding_key(&kek()).unwrap();
        let token = sign_access_token(
            &Subject::SERVICE,
            &record.kid,
            &key,
            SERVICE_TOKEN_TTL,
            Timestamp::now(),
        )
        .unwrap();
        let claims = verify(&token, &record.jwk()).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role), ("0", Role::Service));
    }
}
