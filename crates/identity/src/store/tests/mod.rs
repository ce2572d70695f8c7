//! The store against real databases: every scenario runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (on the server at `CAREBOOK_TEST_POSTGRES_URL`).

mod login_failures;
mod refresh_tokens;
mod signing_keys;
mod users;

use contracts::identity::AccountRole;
use jiff::{SignedDuration, Timestamp};
use platform::values::Email;

use super::IdentityStore;
use platform::testing::TestDatabase;

use crate::MIGRATIONS;
use login_failures::*;
use refresh_tokens::*;
use signing_keys::*;
use users::*;

/// Runs each named `async fn(&IdentityStore)` once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = super::TestDatabase::sqlite(&super::MIGRATIONS).await;
                    super::$name(&IdentityStore::new(test_db.db.clone())).await;
                }
            )*
            use super::IdentityStore;
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test_db = super::TestDatabase::postgres(&super::MIGRATIONS).await;
                    super::$name(&IdentityStore::new(test_db.db.clone())).await;
                }
            )*
            use super::IdentityStore;
        }
    };
}

on_both_backends!(
    users_have_unique_case_insensitive_emails,
    unfinished_registrations_are_discarded_once_stale,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
    concurrent_refreshes_with_one_token_rotate_once,
    logout_revokes_only_the_callers_session,
    failures_lock_a_scope_with_growing_backoff,
    concurrent_failures_are_all_counted,
    key_rotation_publishes_then_retires,
    clear_keys_of_older_versions_are_sealed_at_start,
);

fn at(t0: Timestamp, secs: i64) -> Timestamp {
    t0 + SignedDuration::from_secs(secs)
}

async fn user(store: &IdentityStore, email: &str) -> i64 {
    let email = Email::parse(email).unwrap();
    store
        .insert_user(
            &email,
            "$argon2id$stub",
            AccountRole::Patient,
            true,
            Timestamp::now(),
        )
        .await
        .unwrap()
}
