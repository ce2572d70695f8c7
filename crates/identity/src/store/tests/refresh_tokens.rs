use jiff::Timestamp;

use super::{at, user};
use crate::store::{IdentityStore, Rotation};
use crate::tokens::refresh::NewRefreshToken;

pub(super) async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: &IdentityStore) {
    let t0 = Timestamp::now();
    let user_id = user(store, "ada@example.org").await;
    let first = NewRefreshToken::generate();
    store
        .insert_refresh_token("family-1", user_id, &first.hash, at(t0, 3600), t0)
        .await
        .unwrap();

    let second = NewRefreshToken::generate();
    let rotated = store
        .rotate_refresh_token(&first.hash, &second.hash, at(t0, 7200), at(t0, 10))
        .await
        .unwrap();
    assert_eq!(
        rotated,
        Rotation::Rotated {
            user_id,
            family_id: "family-1".to_owned()
        }
    );

    // The first token again: a copy is in someone's hands, the whole family goes.
    let third = NewRefreshToken::generate();
    let reused = store
        .rotate_refresh_token(&first.hash, &third.hash, at(t0, 7200), at(t0, 20))
        .await
        .unwrap();
    assert_eq!(reused, Rotation::Reused { user_id });
    let after = store
        .rotate_refresh_token(&second.hash, &third.hash, at(t0, 7200), at(t0, 30))
        .await
        .unwrap();
    assert_eq!(
        after,
        Rotation::Reused { user_id },
        "the successor was revoked too"
    );

    let other = NewRefreshToken::generate();
    store
        .insert_refresh_token("family-2", user_id, &other.hash, at(t0, 60), t0)
        .await
        .unwrap();
    let late = store
        .rotate_refresh_token(&other.hash, &third.hash, at(t0, 7200), at(t0, 61))
        .await
        .unwrap();
    assert_eq!(late, Rotation::Expired);
    let unknown = store
        .rotate_refresh_token("no-such-hash", &third.hash, at(t0, 7200), t0)
        .await
        .unwrap();
    assert_eq!(unknown, Rotation::Unknown);

    assert_eq!(store.prune_refresh_tokens(at(t0, 62)).await.unwrap(), 1);
    let pruned = store
        .rotate_refresh_token(&other.hash, &third.hash, at(t0, 7200), at(t0, 63))
        .await
        .unwrap();
    assert_eq!(pruned, Rotation::Unknown);
}

pub(super) async fn concurrent_refreshes_with_one_token_rotate_once(store: &IdentityStore) {
    let t0 = Timestamp::now();
    let user_id = user(store, "ada@example.org").await;
    for round in 0..5 {
        let family = format!("family-{round}");
        let token = NewRefreshToken::generate();
        store
            .insert_refresh_token(&family, user_id, &token.hash, at(t0, 3600), t0)
            .await
            .unwrap();
        let (a, b) = (NewRefreshToken::generate(), NewRefreshToken::generate());
        let (first, second) = tokio::join!(
            store.rotate_refresh_token(&token.hash, &a.hash, at(t0, 7200), at(t0, 1)),
            store.rotate_refresh_token(&token.hash, &b.hash, at(t0, 7200), at(t0, 1)),
        );
        let mut outcomes = [first.unwrap(), second.unwrap()];
        outcomes.sort_by_key(|o| matches!(o, Rotation::Reused { .. }));
        assert!(
            matches!(&outcomes[0], Rotation::Rotated { family_id, .. } if *family_id == family),
            "{outcomes:?}"
        );
        assert_eq!(outcomes[1], Rotation::Reused { user_id });
        // The reuse revoked the winner's new token as well.
        for next in [&a, &b] {
            let c = NewRefreshToken::generate();
            let outcome = store
                .rotate_refresh_token(&next.hash, &c.hash, at(t0, 7200), at(t0, 2))
                .await
                .unwrap();
            assert!(
                matches!(outcome, Rotation::Reused { .. } | Rotation::Unknown),
                "{outcome:?}"
            );
        }
    }
}

pub(super) async fn logout_revokes_only_the_callers_session(store: &IdentityStore) {
    let t0 = Timestamp::now();
    let ada = user(store, "ada@example.org").await;
    let bob = user(store, "bob@example.org").await;
    let ada_token = NewRefreshToken::generate();
    let bob_token = NewRefreshToken::generate();
    for (family, user_id, token) in [("a", ada, &ada_token), ("b", bob, &bob_token)] {
        store
            .insert_refresh_token(family, user_id, &token.hash, at(t0, 3600), t0)
            .await
            .unwrap();
    }
    assert!(
        !store
            .revoke_family_of(&bob_token.hash, ada, t0)
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_family_of(&ada_token.hash, ada, t0)
            .await
            .unwrap()
    );

    let next = NewRefreshToken::generate();
    let ada_after = store
        .rotate_refresh_token(&ada_token.hash, &next.hash, at(t0, 7200), at(t0, 1))
        .await
        .unwrap();
    assert_eq!(ada_after, Rotation::Reused { user_id: ada });
    let bob_after = store
        .rotate_refresh_token(&bob_token.hash, &next.hash, at(t0, 7200), at(t0, 1))
        .await
        .unwrap();
    assert!(matches!(bob_after, Rotation::Rotated { user_id, .. } if user_id == bob));
}
