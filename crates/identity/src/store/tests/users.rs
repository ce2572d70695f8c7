use contracts::identity::AccountRole;
use jiff::Timestamp;
use platform::ApiError;
use platform::values::Email;

use super::at;
use crate::store::IdentityStore;

pub(super) async fn users_have_unique_case_insensitive_emails(store: &IdentityStore) {
    let now = Timestamp::now();
    let ada = Email::parse("Ada@Example.org").unwrap();
    let id = store
        .insert_user(&ada, "$argon2id$hash", AccountRole::Patient, false, now)
        .await
        .unwrap();
    let found = store
        .user_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.role, found.active),
        (id, AccountRole::Patient, false)
    );
    assert_eq!(found.password_hash, "$argon2id$hash");

    let twin = Email::parse("ADA@example.ORG").unwrap();
    let again = store
        .insert_user(&twin, "x", AccountRole::Admin, true, now)
        .await;
    assert!(matches!(again, Err(ApiError::Conflict(_))), "{again:?}");

    store.activate_user(id, Some(17), None, now).await.unwrap();
    let active = store.user(id).await.unwrap().unwrap();
    assert!(active.active);
    assert_eq!((active.patient_id, active.doctor_id), (Some(17), None));
    let account = active.account();
    assert_eq!(account.email, "ada@example.org");
    assert!(!format!("{active:?}").contains("argon2"));

    store
        .set_password_hash(id, "$argon2id$new", now)
        .await
        .unwrap();
    assert_eq!(
        store.user(id).await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );

    store.delete_user(id).await.unwrap();
    assert!(store.user(id).await.unwrap().is_none());
    store
        .insert_user(&twin, "x", AccountRole::Admin, true, now)
        .await
        .unwrap();
}

pub(super) async fn unfinished_registrations_are_discarded_once_stale(store: &IdentityStore) {
    let t0 = Timestamp::now();
    let email = Email::parse("late@example.org").unwrap();
    let pending = store
        .insert_user(&email, "x", AccountRole::Patient, false, t0)
        .await
        .unwrap();
    store
        .discard_unfinished_registration(&email, at(t0, -1))
        .await
        .unwrap();
    assert!(
        store.user(pending).await.unwrap().is_some(),
        "still in progress"
    );
    store
        .discard_unfinished_registration(&email, at(t0, 1))
        .await
        .unwrap();
    assert!(store.user(pending).await.unwrap().is_none());

    let done = store
        .insert_user(&email, "x", AccountRole::Patient, true, t0)
        .await
        .unwrap();
    store
        .discard_unfinished_registration(&email, at(t0, 3600))
        .await
        .unwrap();
    assert!(
        store.user(done).await.unwrap().is_some(),
        "finished accounts stay"
    );
}
