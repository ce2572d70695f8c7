use std::time::Duration;

use jiff::Timestamp;

use super::at;
use crate::store::IdentityStore;
use crate::tokens::keys::{SigningKeyRecord, retirement_age, signing_key_at};

pub(super) async fn key_rotation_publishes_then_retires(store: &IdentityStore) {
    let access_ttl = Duration::from_secs(900);
    let age = retirement_age(access_ttl);
    let t0 = Timestamp::now();
    let first = SigningKeyRecord::generate(t0).unwrap();
    store.insert_signing_key(&first).await.unwrap();

    let second = SigningKeyRecord::generate(at(t0, 3600)).unwrap();
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
