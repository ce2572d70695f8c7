use std::time::Duration;

use jiff::Timestamp;

use super::at;
use crate::domain::lockout::LockoutPolicy;
use crate::store::IdentityStore;

pub(super) async fn failures_lock_a_scope_with_growing_backoff(store: &IdentityStore) {
    let policy = LockoutPolicy {
        max_failures: 3,
        window: Duration::from_secs(900),
    };
    let window = policy.window;
    let account = policy.account("ada@example.org");
    let client = policy.client("203.0.113.9".parse().unwrap());
    let t0 = Timestamp::now();
    assert_eq!(
        store.login_lock([&account, &client], t0).await.unwrap(),
        None
    );

    for n in 1..3 {
        let lock = store
            .record_login_failure(&account, at(t0, n), window)
            .await;
        assert_eq!(lock.unwrap(), None);
    }
    let lock = store
        .record_login_failure(&account, at(t0, 3), window)
        .await;
    assert_eq!(lock.unwrap(), Some(Duration::from_secs(30)));
    let remaining = store.login_lock([&account, &client], at(t0, 13)).await;
    assert_eq!(remaining.unwrap(), Some(Duration::from_secs(20)));
    assert_eq!(
        store
            .login_lock([&account, &client], at(t0, 33))
            .await
            .unwrap(),
        None
    );

    // The next failure after the lock doubles it.
    let lock = store
        .record_login_failure(&account, at(t0, 40), window)
        .await;
    assert_eq!(lock.unwrap(), Some(Duration::from_secs(60)));

    // Another account is untouched; the client's own limit is far higher.
    let other = policy.account("bob@example.org");
    assert_eq!(
        store
            .login_lock([&other, &client], at(t0, 41))
            .await
            .unwrap(),
        None
    );
    let lock = store
        .record_login_failure(&client, at(t0, 41), window)
        .await;
    assert_eq!(lock.unwrap(), None);

    // A quiet window forgets everything.
    let quiet = at(t0, 40 + 900);
    assert_eq!(
        store
            .record_login_failure(&account, quiet, window)
            .await
            .unwrap(),
        None
    );

    store.clear_login_failures(&account).await.unwrap();
    assert_eq!(
        store.login_lock([&account, &client], quiet).await.unwrap(),
        None
    );
    // Only the client's counter is left, and it is old and not locked.
    assert_eq!(
        store
            .prune_login_failures(at(t0, 5000), window)
            .await
            .unwrap(),
        1
    );
}

pub(super) async fn concurrent_failures_are_all_counted(store: &IdentityStore) {
    let policy = LockoutPolicy {
        max_failures: 10,
        window: Duration::from_secs(900),
    };
    let account = policy.account("ada@example.org");
    let now = Timestamp::now();
    let attempts = (0..9).map(|_| store.record_login_failure(&account, now, policy.window));
    for outcome in futures::future::join_all(attempts).await {
        assert_eq!(outcome.unwrap(), None);
    }
    let tenth = store
        .record_login_failure(&account, now, policy.window)
        .await;
    assert_eq!(tenth.unwrap(), Some(Duration::from_secs(30)));
}
