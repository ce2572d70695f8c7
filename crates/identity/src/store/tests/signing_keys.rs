use std::time::Duration;

use jiff::Timestamp;

use super::at;
use crate::store::IdentityStore;
use crate::tokens::keys::{SigningKeyRecord, retirement_age, signing_key_at};
use crate::tokens::ring::KeyRing;
use platform::master_key::MasterKey;

pub(super) async fn key_rotation_publishes_then_retires(store: &IdentityStore) {
    let access_ttl = Duration::from_secs(900);
    let age = retirement_age(access_ttl);
    let t0 = Timestamp::now();
    let kek = MasterKey::generate();
    let first = SigningKeyRecord::generate(t0, &kek).unwrap();
    store.insert_signing_key(&first).await.unwrap();

    let second = SigningKeyRecord::generate(at(t0, 3600), &kek).unwrap();
    let retired = store
        .rotate_signing_key(&second, at(t0, 3600), age)
        .await
        .unwrap();
    assert_eq!(retired, 0);
    let published = store.published_signing_keys().await.unwrap();
    let kids: Vec<_> = published.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(
        kids,
        [second.kid.as_str(), first.kid.as_str()],
        "newest first"
    );
    let stored = &published[1];
    assert_eq!(
        (&stored.private_key, &stored.public_key),
        (&first.private_key, &first.public_key),
        "the key survives the round trip"
    );
    assert!(stored.encoding_key(&kek).is_ok());
    assert_eq!(
        signing_key_at(&published, at(t0, 3601)).unwrap().kid,
        first.kid
    );
    assert_eq!(
        signing_key_at(&published, at(t0, 3700)).unwrap().kid,
        second.kid
    );

    let age_secs = i64::try_from(age.as_secs()).unwrap();
    let early = store
        .retire_superseded_signing_keys(at(t0, 3600 + age_secs - 1), age)
        .await
        .unwrap();
    assert_eq!(early, 0, "tokens of the old key may still be valid");
    let due = store
        .retire_superseded_signing_keys(at(t0, 3600 + age_secs), age)
        .await
        .unwrap();
    assert_eq!(due, 1);
    let published = store.published_signing_keys().await.unwrap();
    let kids: Vec<_> = published.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, [second.kid.as_str()]);
    let later = store
        .retire_superseded_signing_keys(at(t0, 999_999), age)
        .await
        .unwrap();
    assert_eq!(later, 0, "the newest key is never retired");
}

/// A database of a version before sealing holds its keys in the clear: the first start seals
/// them, and they sign as before.
pub(super) async fn clear_keys_of_older_versions_are_sealed_at_start(store: &IdentityStore) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::pkcs8::EncodePrivateKey;

    let der = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .to_pkcs8_der()
        .unwrap();
    let clear = STANDARD.encode(der.as_bytes());
    sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
         VALUES ('old', $1, 'x', 1)",
    )
    .bind(&clear)
    .execute(store.db.pool())
    .await
    .unwrap();
    assert!(
        store.published_signing_keys().await.is_err(),
        "never used in the clear"
    );

    let kek = MasterKey::generate();
    KeyRing::new(store.clone(), kek.clone())
        .ensure_key()
        .await
        .unwrap();
    assert!(store.clear_signing_keys().await.unwrap().is_empty());
    let (stored,): (String,) =
        sqlx::query_as("SELECT private_key FROM signing_keys WHERE kid = 'old'")
            .fetch_one(store.db.pool())
            .await
            .unwrap();
    assert_ne!(stored, clear);
    let published = store.published_signing_keys().await.unwrap();
    let old = published.iter().find(|k| k.kid == "old").unwrap();
    assert_eq!(
        kek.open(
            &crate::tokens::keys::signing_key_binding("old"),
            &old.private_key
        )
        .unwrap(),
        der.as_bytes()
    );
    assert!(old.encoding_key(&kek).is_ok());
    assert!(old.encoding_key(&MasterKey::generate()).is_err());
}
